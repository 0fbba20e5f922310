#!/usr/bin/env bash
# Builds the GCC side of the instruction bench (bench/instructions.ts) for every target:
#   obj/<dir>/callees.o   src/callees.c: the callee of each row, and nop
#   obj/<dir>/callers.o   src/callers.c: direct_<row>(), GCC's direct call of each callee
#   obj/compilers.tsv     dir, compiler, its version and the target's extra flags (the bench prints them)
# <dir> is i386, x86_64, armel, armhf (ARM state: -marm), ppc32 or aarch64. The objects are
# committed, so the bench runs without cross compilers.
#
#   build.sh           rebuild obj/
#   build.sh --check   rebuild into a temporary directory and compare byte for byte with
#                      the committed objects (exit 1 when any differs)
# Exit 2 when a compiler is missing. The flags are tests/fixtures/build.sh's (-O2,
# freestanding, position-dependent, no unwind tables, no endbr on x86), without -fwrapv.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$HERE"

MODE=build
case "${1:-}" in
  '') ;;
  --check) MODE=check ;;
  -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "build.sh: unknown argument: $1 (use --check or nothing)" >&2; exit 64 ;;
esac

TARGETS=(i386 x86_64 armel armhf ppc32 aarch64)
SOURCES=(callees callers)

cc_of() {
  case "$1" in
    i386) echo i686-linux-gnu-gcc ;;
    x86_64) echo gcc ;;
    armel) echo arm-linux-gnueabi-gcc ;;
    armhf) echo arm-linux-gnueabihf-gcc ;;
    ppc32) echo powerpc-linux-gnu-gcc ;;
    aarch64) echo aarch64-linux-gnu-gcc ;;
    *) echo "build.sh: unknown target $1" >&2; exit 1 ;;
  esac
}

extra_of() {
  case "$1" in
    i386|x86_64) echo "-fcf-protection=none" ;; # no endbr32/endbr64
    armhf) echo "-marm" ;;                      # armhf defaults to Thumb-2
    *) echo "" ;;
  esac
}

COMMON_FLAGS=(-O2 -ffreestanding -fno-pic -fno-asynchronous-unwind-tables -fno-unwind-tables
  -fno-stack-protector -fno-builtin -fno-tree-loop-distribute-patterns -fno-reorder-functions
  -fno-ident -nostdlib -ffile-prefix-map="$HERE"=. -Wall -Wextra -Werror)

missing=()
for t in "${TARGETS[@]}"; do
  command -v "$(cc_of "$t")" >/dev/null 2>&1 || missing+=("$(cc_of "$t") (target $t)")
done
if ((${#missing[@]})); then
  printf 'build.sh: missing: %s\n' "${missing[@]}" >&2
  echo 'build.sh: Debian: apt-get install gcc gcc-i686-linux-gnu gcc-arm-linux-gnueabihf gcc-arm-linux-gnueabi gcc-powerpc-linux-gnu gcc-aarch64-linux-gnu' >&2
  exit 2
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/abiscope-bench-native.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

for t in "${TARGETS[@]}"; do
  cc=$(cc_of "$t")
  flags=("${COMMON_FLAGS[@]}")
  extra=$(extra_of "$t")
  [[ -n $extra ]] && flags+=($extra)
  mkdir -p "$WORK/obj/$t"
  for s in "${SOURCES[@]}"; do
    "$cc" "${flags[@]}" -Isrc -c "src/$s.c" -o "$WORK/obj/$t/$s.o"
  done
  printf '%s\t%s\t%s\t%s\n' "$t" "$cc" "$("$cc" -dumpfullversion)" "$extra" | tee -a "$WORK/obj/compilers.tsv"
done

if [[ $MODE == build ]]; then
  rm -rf obj
  mv "$WORK/obj" obj
  echo "bench/native: $(find obj -name '*.o' | wc -l) objects in bench/native/obj"
  exit 0
fi

status=0
while IFS= read -r f; do
  if [[ ! -e $f ]]; then
    echo "missing: bench/native/$f"; status=1
  elif ! cmp -s "$WORK/$f" "$f"; then
    echo "differs: bench/native/$f"; status=1
  fi
done < <(cd "$WORK" && find obj -type f | sort)
while IFS= read -r f; do
  [[ -e $WORK/$f ]] || { echo "not built any more: bench/native/$f"; status=1; }
done < <(find obj -type f 2>/dev/null | sort)
if ((status)); then
  echo "bench/native: out of date (run bash bench/native/build.sh)" >&2
else
  echo "bench/native: up to date"
fi
exit $status
