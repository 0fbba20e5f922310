#!/usr/bin/env bash
# Builds libffi 3.4.4 from Debian's source package for every target of the instruction
# bench (bench/instructions.ts), and the bench's libffi driver against it:
#   src/                     apt-get source libffi (3.4.4, Debian's patches applied), build trees
#   out/<dir>/lib/libffi.a   static libffi, installed with its headers into out/<dir>/
#   out/<dir>/driver.o       driver.c: ffi_bench_init() prepares the cifs, ffi_<row>() calls ffi_call
# <dir> is i386, x86_64, armel, armhf (ARM state, -marm) or ppc32. src/ and out/ are not
# committed (bench/libffi/.gitignore); the bench says so in its libffi column when out/ is missing.
#
#   build.sh            fetch the source if needed, build the targets (existing ones are rebuilt)
#   build.sh i386 ...   only these targets
#
# Configured with --disable-shared --disable-exec-static-tramp and
# CFLAGS='-O2 -fno-pic -fno-stack-protector' (plus -fcf-protection=none on x86, as the
# bench's own objects: no endbr; -marm on armhf, as the bench's own objects): position-dependent
# code that abiscope's loader links statically, with no trampoline table mapped from a file.
# Needs deb-src lines for Debian's mirror: when `apt-cache showsrc libffi` finds none, this
# adds /etc/apt/sources.list.d/abiscope-deb-src.sources (the URIs and suites of the
# deb lines in /etc/apt/sources.list.d/debian.sources) and runs apt-get update (root or sudo).
# Needs dpkg-dev (dpkg-source) and the cross compilers of tests/fixtures/build.sh with their
# glibc headers (libc6-dev-<arch>-cross).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$HERE"
VERSION=3.4.4
SRC=$HERE/src
OUT=$HERE/out
ALL_TARGETS=(i386 x86_64 armel armhf ppc32 aarch64)

case "${1:-}" in
  -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
esac
TARGETS=("$@")
((${#TARGETS[@]})) || TARGETS=("${ALL_TARGETS[@]}")

triplet_of() {
  case "$1" in
    i386) echo i686-linux-gnu ;;
    x86_64) echo x86_64-linux-gnu ;;
    armel) echo arm-linux-gnueabi ;;
    armhf) echo arm-linux-gnueabihf ;;
    ppc32) echo powerpc-linux-gnu ;;
    aarch64) echo aarch64-linux-gnu ;;
    *) echo "build.sh: unknown target $1 (expected one of ${ALL_TARGETS[*]})" >&2; exit 64 ;;
  esac
}
cc_of() { if [[ $1 == x86_64 ]]; then echo gcc; else echo "$(triplet_of "$1")-gcc"; fi; }
extra_of() {
  case "$1" in
    i386|x86_64) echo "-fcf-protection=none" ;;
    armhf) echo "-marm" ;;
    *) echo "" ;;
  esac
}

missing=()
for t in "${TARGETS[@]}"; do command -v "$(cc_of "$t")" >/dev/null 2>&1 || missing+=("$(cc_of "$t") (target $t)"); done
command -v dpkg-source >/dev/null 2>&1 || missing+=("dpkg-source (apt-get install dpkg-dev)")
command -v make >/dev/null 2>&1 || missing+=("make")
if ((${#missing[@]})); then
  printf 'build.sh: missing: %s\n' "${missing[@]}" >&2
  exit 2
fi

as_root() {
  if [[ $(id -u) == 0 ]]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else echo "build.sh: needs root for: $*" >&2; exit 1
  fi
}

# ---- the source package ----
TREE=$SRC/libffi-$VERSION
if [[ ! -f $TREE/configure ]]; then
  if ! apt-cache showsrc libffi 2>/dev/null | grep -q '^Package: libffi'; then
    LIST=/etc/apt/sources.list.d/abiscope-deb-src.sources
    [[ -f /etc/apt/sources.list.d/debian.sources ]] ||
      { echo "build.sh: no deb-src lines and no /etc/apt/sources.list.d/debian.sources to copy them from: add a deb-src line for your Debian mirror" >&2; exit 1; }
    echo "build.sh: adding deb-src lines ($LIST) and running apt-get update"
    # the deb stanzas of debian.sources, as deb-src
    sed -e 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources | as_root tee "$LIST" >/dev/null
    as_root apt-get update -qq
  fi
  mkdir -p "$SRC"
  rm -rf "$TREE"
  (cd "$SRC" && apt-get source -qq "libffi=$VERSION-1" 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
  [[ -f $TREE/configure ]] || { echo "build.sh: apt-get source libffi=$VERSION-1 did not give $TREE" >&2; exit 1; }
fi

# ---- per target ----
failed=()
for t in "${TARGETS[@]}"; do
  triplet=$(triplet_of "$t")
  cc=$(cc_of "$t")
  cflags="-O2 -fno-pic -fno-stack-protector $(extra_of "$t")"
  build=$SRC/build/$t
  prefix=$OUT/$t
  log=$SRC/build/$t.log
  rm -rf "$build" "$prefix"
  mkdir -p "$build"
  started=$SECONDS
  if (cd "$build" &&
      "$TREE/configure" --host="$triplet" --build="$(gcc -dumpmachine)" --prefix="$prefix" \
        --disable-shared --enable-static --disable-exec-static-tramp --disable-docs \
        --disable-multi-os-directory CC="$cc" CFLAGS="$cflags" LDFLAGS=-no-pie &&
      make -j"$(nproc)" && make install) >"$log" 2>&1 &&
     "$cc" -O2 -fno-pic -fno-stack-protector -fno-asynchronous-unwind-tables -fno-unwind-tables \
       -fno-ident -ffile-prefix-map="$HERE"=. $(extra_of "$t") -Wall -Wextra -Werror \
       -I"$prefix/include" -I"$HERE/../native/src" -c "$HERE/driver.c" -o "$prefix/driver.o" 2>>"$log"; then
    printf '%-7s %-22s libffi.a %7d bytes  %3d s\n' "$t" "$triplet" "$(wc -c <"$prefix/lib/libffi.a")" "$((SECONDS - started))"
  else
    echo "build.sh: $t failed (log: ${log#"$HERE"/}):" >&2
    tail -n 15 "$log" >&2
    rm -rf "$prefix"
    failed+=("$t")
  fi
done
if ((${#failed[@]})); then
  echo "build.sh: failed: ${failed[*]}" >&2
  exit 1
fi
