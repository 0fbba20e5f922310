#!/bin/bash
# Rebuilds the ELF samples used by tests/elf.test.ts. The outputs are committed so the
# tests run without cross compilers. Needs: gcc, i686-linux-gnu-gcc, arm-linux-gnueabihf-gcc,
# arm-linux-gnueabi-gcc, powerpc-linux-gnu-gcc, aarch64-linux-gnu-gcc and their binutils.
#
# Per target directory:
#   a.o b.o data.o last.o  C objects calling each other (data.o: COMMON, pointer tables)
#   prog.elf        GNU ld link of a.o b.o data.o last.o with src/link.ld (reference image, ET_EXEC)
#   relocs.o        hand-written assembly: one site per supported relocation type
#   relocs.elf      GNU ld link of relocs.o with the same external symbol values the tests use
# plus, for some targets, objects for error cases (pic.o, weak.o, arm_tail.o).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$here/src
CFLAGS="-O2 -ffreestanding -fno-pic -fno-asynchronous-unwind-tables -fno-unwind-tables -fno-stack-protector -nostdlib -c"
# GNU ld options: the layout of src/link.ld, no build-id note, 4 KiB pages (small files).
LDFLAGS="-T $src/link.ld --build-id=none -z max-page-size=0x1000 -z common-page-size=0x1000 -z noexecstack"
# External symbols of relocs.o: keep in sync with EXTERNALS in tests/elf.test.ts.
DEFSYMS="--defsym=ext_fn=0x14000 --defsym=ext_obj=0x15010 --defsym=small_abs=0x1234"

build() { # dir gcc-prefix asm-name [extra cflags]
	local dir=$here/$1 cc=$2gcc ld=$2ld asm=$3 extra=${4:-} ldextra=
	# PowerPC ld moves small COMMON symbols into its own .sbss (small-data convention);
	# -G 0 keeps them after .bss, where linkElf puts them.
	[ "$1" = ppc ] && ldextra="-G 0"
	mkdir -p "$dir"
	for f in a b data last; do
		$cc $CFLAGS $extra -fcommon "$src/$f.c" -o "$dir/$f.o"
	done
	$ld $LDFLAGS $ldextra "$dir/a.o" "$dir/b.o" "$dir/data.o" "$dir/last.o" -o "$dir/prog.elf"
	$cc -c "$src/relocs-$asm.s" -o "$dir/relocs.o"
	$ld $LDFLAGS $DEFSYMS "$dir/relocs.o" -o "$dir/relocs.elf"
	$cc $CFLAGS $extra "$src/big.c" -o "$dir/big.o"
}

build i386    i686-linux-gnu-        i386
build x86_64  x86_64-linux-gnu-      x86_64
build armhf   arm-linux-gnueabihf-   arm      # Thumb-2 by default
build armel   arm-linux-gnueabi-     arm      -marm
build ppc     powerpc-linux-gnu-     ppc
build aarch64 aarch64-linux-gnu-     aarch64

# ARM/Thumb interworking: thumb.o (Thumb) and armfn.o (ARM) call each other.
arm=arm-linux-gnueabihf-
$arm"gcc" $CFLAGS -mthumb "$src/thumb.c" -o "$here/armhf/thumb.o"
$arm"gcc" $CFLAGS -marm "$src/armfn.c" -o "$here/armhf/armfn.o"
$arm"gcc" $CFLAGS -marm "$src/arm_tail.c" -o "$here/armhf/arm_tail.o"
$arm"gcc" $CFLAGS -mthumb "$src/thumb_tail.c" -o "$here/armhf/thumb_tail.o"
$arm"ld" $LDFLAGS "$here/armhf/thumb.o" "$here/armhf/armfn.o" -o "$here/armhf/interwork.elf"
# Long ARM/Thumb branches to symbols the tests provide (far_*), so that every bit of the
# branch encodings is exercised; checked by decoding only (no ld reference).
$arm"gcc" -c "$src/far-arm.s" -o "$here/armhf/far.o"

# Position-independent code (GOT relocations) and an undefined weak reference.
i686-linux-gnu-gcc ${CFLAGS/-fno-pic/-fPIC} "$src/pic.c" -o "$here/i386/pic.o"
$arm"gcc" ${CFLAGS/-fno-pic/-fPIC} "$src/pic.c" -o "$here/armhf/pic.o"
gcc $CFLAGS "$src/weak.c" -o "$here/x86_64/weak.o"
$arm"gcc" $CFLAGS "$src/weak.c" -o "$here/armhf/weak.o"
