#!/usr/bin/env bash
# Builds abiscope's guest C runtime for every target, and its ground truth:
#   lib/<target>/libabiscope.a          src/*.c, one archive member per source
#   lib/x86_64-win64/libgcc.a           mingw's libgcc the same way (no libabiscope.a:
#                                       the C runtime is written for glibc's ABI)
#   lib/<target>/libgcc.a               the target compiler's libgcc without
#                                       decimal floating point, unwind tables
#                                       and debug info
#   test/printf_cases.c, .json          node test/gen-printf-cases.mjs
#   test/obj/<target>/printf_cases.o    printf_cases.c as a user compiles it
#   test/obj/<target>/user_calls.o      test/user_calls.c as Ubuntu's GCC does
#                                       by default (-O2 -D_FORTIFY_SOURCE=2)
#   test/obj/<target>/user_calls_plain.o  the same as Debian's does (-O2)
#   test/expected/<target>.json         every case run by glibc (static, under
#                                       qemu-user; x86_64 natively)
# and checks that the runtime itself, linked into the same driver in place
# of glibc and run under qemu-user, prints exactly the same JSON.
#
#   build.sh           rebuild all of the above
#   build.sh --check   rebuild into a temporary directory and compare byte for
#                      byte with the committed files (exit 1 when any differs)
# Exit 2 when a compiler, glibc for a target, qemu-user or node is missing.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$HERE"

MODE=build
case "${1:-}" in
  '') ;;
  --check) MODE=check ;;
  -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "build.sh: unknown argument: $1 (use --check or nothing)" >&2; exit 64 ;;
esac

TARGETS=(i386 x86_64 armel armhf ppc32 aarch64)

cc_of() {
  case "$1" in
    i386) echo i686-linux-gnu-gcc ;;
    x86_64) echo gcc ;;
    armel) echo arm-linux-gnueabi-gcc ;;
    armhf) echo arm-linux-gnueabihf-gcc ;;
    ppc32) echo powerpc-linux-gnu-gcc ;;
    aarch64) echo aarch64-linux-gnu-gcc ;;
  esac
}
# binutils of the same triplet
tool_of() {
  local cc; cc=$(cc_of "$1")
  if [[ $cc == gcc ]]; then echo "$2"; else echo "${cc%gcc}$2"; fi
}
# how to run a static executable of the target ('' = natively)
runner_of() {
  case "$1" in
    i386) echo qemu-i386-static ;;
    armel|armhf) echo qemu-arm-static ;;
    ppc32) echo qemu-ppc-static ;;
    aarch64) echo qemu-aarch64-static ;;
    *) echo '' ;;
  esac
}
pkg_of() {
  case "$1" in
    i386) echo "gcc-i686-linux-gnu libc6-dev-i386-cross" ;;
    x86_64) echo "gcc libc6-dev" ;;
    armel) echo "gcc-arm-linux-gnueabi libc6-dev-armel-cross" ;;
    armhf) echo "gcc-arm-linux-gnueabihf libc6-dev-armhf-cross" ;;
    ppc32) echo "gcc-powerpc-linux-gnu libc6-dev-powerpc-cross" ;;
    aarch64) echo "gcc-aarch64-linux-gnu libc6-dev-arm64-cross" ;;
  esac
}

# The runtime: freestanding (no glibc header, no libc), no PIC (abiscope
# links it statically), no stack protector (its guard lives in TLS), no
# unwind tables, no .comment, no absolute paths.
RT_FLAGS=(-std=c11 -O2 -ffreestanding -fno-builtin -fno-tree-loop-distribute-patterns -fno-pic
  -fno-stack-protector -fno-asynchronous-unwind-tables -fno-unwind-tables -fno-ident
  -ffile-prefix-map="$HERE"=. -Wall -Wextra -Werror)
rt_extra_of() {
  case "$1" in
    i386|x86_64) echo "-fcf-protection=none" ;; # no endbr32/endbr64
    *) echo "" ;;                                # armel: ARM state, armhf: Thumb-2 (the defaults)
  esac
}
# libgcc members that C code needs only for types it does not use:
# decimal floating point (_Decimal32/64/128: libbid on x86, libdecnumber on
# PPC; ARM has none) and, on ARM, fixed point (_Fract/_Accum, modes QQ..TA:
# 1,602 of ARM's 1,752 members)
DFP_MEMBERS='^(bid.*|dec[A-Z].*|decimal(32|64|128)|_isinfd(32|64|128)|_.*_(sd|dd|td)|_(sd|dd|td)_.*)\.o$'
FIXED_MEMBERS='^_[a-z]+[A-Z0-9]*(QQ|HQ|SQ|DQ|TQ|HA|SA|DA|TA)[A-Z0-9]*\.o$'
STRIP_SECTIONS=(-R .eh_frame -R .rel.eh_frame -R .rela.eh_frame -R .ARM.exidx -R .rel.ARM.exidx
  -R .ARM.extab -R .rel.ARM.extab --strip-debug)
# what the host (abiscope) provides; nothing else may stay undefined
HOST_SYMBOLS=(malloc free calloc realloc abort exit _exit raise __assert_fail __errno_location
  __stack_chk_fail __abiscope_write __abiscope_fail)
# printf_cases.c as users compile their code (the target's defaults: PIC,
# glibc headers); -fno-printf-return-value so that GCC cannot compute
# snprintf's result at compile time: each result must come from the runtime
CASES_FLAGS=(-O2 -fno-printf-return-value -w)
# user_calls.c: Ubuntu's defaults (its stack protector aside: the guard is
# in TLS, which abiscope's linker does not set up), and Debian's
USER_FLAGS=(-O2 -D_FORTIFY_SOURCE=2 -Wall -Werror)
PLAIN_FLAGS=(-O2 -Wall -Werror)

# ---- every tool present? ----
missing=()
for t in "${TARGETS[@]}"; do
  for tool in "$(cc_of "$t")" "$(tool_of "$t" ar)" "$(tool_of "$t" objcopy)" "$(tool_of "$t" readelf)" $(runner_of "$t"); do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool (target $t; Debian: $(pkg_of "$t") qemu-user-static)")
  done
done
for tool in x86_64-w64-mingw32-gcc x86_64-w64-mingw32-ar x86_64-w64-mingw32-objcopy; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool (x86_64-win64's libgcc; Debian: gcc-mingw-w64-x86-64)")
done
command -v node >/dev/null 2>&1 || missing+=("node (gen-printf-cases.mjs)")
if ((${#missing[@]})); then
  printf 'build.sh: missing: %s\n' "${missing[@]}" >&2
  echo 'build.sh: Debian: apt-get install gcc gcc-i686-linux-gnu gcc-arm-linux-gnueabi gcc-arm-linux-gnueabihf gcc-powerpc-linux-gnu gcc-aarch64-linux-gnu libc6-dev-i386-cross libc6-dev-armel-cross libc6-dev-armhf-cross libc6-dev-powerpc-cross libc6-dev-arm64-cross qemu-user-static (one per call; never gcc-multilib)' >&2
  exit 2
fi
# glibc for static test drivers (the -cross packages are only recommended by the compilers)
for t in "${TARGETS[@]}"; do
  if ! echo 'int main(void){return 0;}' | "$(cc_of "$t")" -static -x c - -o /dev/null 2>/dev/null; then
    echo "build.sh: $(cc_of "$t") cannot link a static program: install $(pkg_of "$t")" >&2
    exit 2
  fi
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/abiscope-runtime.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
STAGE="$WORK/stage"
mkdir -p "$STAGE/lib" "$STAGE/test/obj" "$STAGE/test/expected"

defined_syms() { "$READELF" -sW "$@" | awk '$7 != "UND" && $7 != "Ndx" && ($5 == "GLOBAL" || $5 == "WEAK") && $8 != "" { print $8 }' | sort -u; }
undefined_syms() { "$READELF" -sW "$@" | awk '$7 == "UND" && $8 != "" { print $8 }' | sort -u; }

node test/gen-printf-cases.mjs "$STAGE/test" >/dev/null
SOURCES=$(cd src && ls *.c | sort)

build_target() {
  local t=$1
  local cc; cc=$(cc_of "$t")
  local -a flags=("${RT_FLAGS[@]}")
  local extra; extra=$(rt_extra_of "$t")
  [[ -n $extra ]] && flags+=($extra)
  local AR; AR=$(tool_of "$t" ar)
  local OBJCOPY; OBJCOPY=$(tool_of "$t" objcopy)
  READELF=$(tool_of "$t" readelf)
  local tmp="$WORK/$t" lib="$STAGE/lib/$t"
  mkdir -p "$tmp/members" "$lib" "$STAGE/test/obj/$t"

  # libabiscope.a: one member per source, in name order
  local s members=()
  for s in $SOURCES; do
    "$cc" "${flags[@]}" -c "src/$s" -o "$tmp/members/${s%.c}.o"
    members+=("$tmp/members/${s%.c}.o")
  done
  "$AR" rcsD "$lib/libabiscope.a" "${members[@]}"

  # libgcc.a without decimal and fixed point, unwind tables and debug info
  local libgcc; libgcc=$("$cc" -print-libgcc-file-name)
  "$OBJCOPY" -D "${STRIP_SECTIONS[@]}" "$libgcc" "$tmp/libgcc.a"
  local drop; drop=$("$AR" t "$tmp/libgcc.a" | grep -E "$DFP_MEMBERS|$FIXED_MEMBERS" || true)
  # shellcheck disable=SC2086
  [[ -n $drop ]] && (cd "$tmp" && "$AR" dD libgcc.a $drop)
  "$AR" sD "$tmp/libgcc.a"
  cp "$tmp/libgcc.a" "$lib/libgcc.a"
  if "$AR" t "$lib/libgcc.a" | grep -qE "$DFP_MEMBERS|$FIXED_MEMBERS"; then
    echo "build.sh: $t: decimal or fixed point left in libgcc.a" >&2; return 1
  fi
  # and no member left refers to one that was dropped
  local gone
  gone=$(undefined_syms "$lib/libgcc.a" 2>/dev/null | grep -E '^__(bid|dpd|dec)|^__gnu_.*(qq|hq|sq|dq|tq|ha|sa|da|ta)[0-9]?$' | tr '\n' ' ' || true)
  if [[ -n ${gone% } ]]; then
    echo "build.sh: $t: libgcc.a members still need dropped ones: $gone" >&2; return 1
  fi

  # nothing the runtime needs may be missing: link every member with libgcc
  # and compare what is still undefined with what the host provides
  "$cc" -nostdlib -r -Wl,--build-id=none -o "$tmp/all.o" -Wl,--whole-archive "$lib/libabiscope.a" \
    -Wl,--no-whole-archive "$lib/libgcc.a"
  local und
  und=$(comm -23 <(undefined_syms "$tmp/all.o") <(printf '%s\n' "${HOST_SYMBOLS[@]}" | sort) | tr '\n' ' ')
  if [[ -n ${und% } ]]; then
    echo "build.sh: $t: the runtime needs symbols neither it, libgcc nor the host define: $und" >&2; return 1
  fi

  # the printf cases: the object users would produce, glibc's results, ours
  local obj="$STAGE/test/obj/$t/printf_cases.o" user="$STAGE/test/obj/$t/user_calls.o" plain="$STAGE/test/obj/$t/user_calls_plain.o"
  "$cc" "${CASES_FLAGS[@]}" -c "$STAGE/test/printf_cases.c" -o "$obj"
  "$cc" "${USER_FLAGS[@]}" -c test/user_calls.c -o "$user"
  "$cc" "${PLAIN_FLAGS[@]}" -c test/user_calls.c -o "$plain"
  # what they call, the runtime, libgcc and the host provide
  local o
  for o in "$obj" "$user" "$plain"; do
    "$cc" -nostdlib -r -Wl,--build-id=none -o "$tmp/users.o" "$o" "$lib/libabiscope.a" "$lib/libgcc.a"
    und=$(comm -23 <(undefined_syms "$tmp/users.o") <(printf '%s\n' "${HOST_SYMBOLS[@]}" _GLOBAL_OFFSET_TABLE_ | sort) | tr '\n' ' ')
    if [[ -n ${und% } ]]; then
      echo "build.sh: $t: $(basename "$o") needs symbols the runtime does not define: $und" >&2; return 1
    fi
  done
  "$cc" -O2 -static -o "$tmp/glibc-driver" test/driver.c "$obj"
  local run; run=$(runner_of "$t")
  $run "$tmp/glibc-driver" >"$STAGE/test/expected/$t.json"
  "$cc" "${flags[@]}" -c test/shim.c -o "$tmp/shim.o"
  "$cc" -O2 -fno-pic -c test/driver.c -o "$tmp/driver.o"
  "$cc" -static -nostdlib -Wl,--build-id=none -o "$tmp/runtime-driver" "$tmp/driver.o" "$obj" "$tmp/shim.o" \
    "$lib/libabiscope.a" "$lib/libgcc.a"
  $run "$tmp/runtime-driver" >"$tmp/runtime.json"
  if ! cmp -s "$STAGE/test/expected/$t.json" "$tmp/runtime.json"; then
    echo "build.sh: $t: the runtime's snprintf differs from glibc's (under ${run:-the host}):" >&2
    diff "$STAGE/test/expected/$t.json" "$tmp/runtime.json" | head -20 >&2
    return 1
  fi
  local ncases; ncases=$(($(wc -l <"$tmp/runtime.json") - 2))
  printf '%-7s %-24s libabiscope.a %6d bytes (%d members)  libgcc.a %7d bytes (%d members)  printf: %d cases equal to glibc\n' \
    "$t" "$cc" "$(wc -c <"$lib/libabiscope.a")" "${#members[@]}" "$(wc -c <"$lib/libgcc.a")" \
    "$("$AR" t "$lib/libgcc.a" | wc -l)" "$ncases"
}

# the targets in parallel (the qemu runs take most of the time)
pids=()
for t in "${TARGETS[@]}"; do
  (build_target "$t" >"$WORK/$t.log" 2>&1) &
  pids+=($!)
done
status=0
for i in "${!TARGETS[@]}"; do
  if ! wait "${pids[$i]}"; then
    echo "build.sh: target ${TARGETS[$i]} failed:" >&2
    status=1
  fi
  cat "$WORK/${TARGETS[$i]}.log"
done
((status == 0)) || exit 1

# Windows x64 (x86_64-win64): the C runtime above is written against glibc's ABI (FILE, errno,
# Linux errno values) and is not built for Windows; mingw's libgcc alone gives what GCC-compiled
# code calls by itself (___chkstk_ms for frames over a page, the 128-bit and soft-float helpers),
# stripped as for the other targets.
build_win64_libgcc() {
  local cc=x86_64-w64-mingw32-gcc AR=x86_64-w64-mingw32-ar OBJCOPY=x86_64-w64-mingw32-objcopy
  local tmp="$WORK/x86_64-win64" lib="$STAGE/lib/x86_64-win64"
  mkdir -p "$tmp" "$lib"
  "$OBJCOPY" -D "${STRIP_SECTIONS[@]}" "$("$cc" -print-libgcc-file-name)" "$tmp/libgcc.a"
  local drop; drop=$("$AR" t "$tmp/libgcc.a" | grep -E "$DFP_MEMBERS|$FIXED_MEMBERS" || true)
  [[ -n $drop ]] && (cd "$tmp" && "$AR" dD libgcc.a $drop)
  "$AR" sD "$tmp/libgcc.a"
  cp "$tmp/libgcc.a" "$lib/libgcc.a"
  printf '%-7s %-24s libabiscope.a not built (glibc ABI)  libgcc.a %7d bytes (%d members)\n' \
    x86_64-win64 "$cc" "$(wc -c <"$lib/libgcc.a")" "$("$AR" t "$lib/libgcc.a" | wc -l)"
}
build_win64_libgcc

OUTPUTS=(lib test/obj test/expected test/printf_cases.c test/printf_cases.json)
if [[ $MODE == build ]]; then
  rm -rf lib test/obj test/expected
  for f in "${OUTPUTS[@]}"; do mv "$STAGE/$f" "$f"; done
  echo "runtime: $(du -sh lib | cut -f1) in runtime/lib"
  exit 0
fi

# --check: compare byte for byte
status=0
while IFS= read -r f; do
  if [[ ! -e $f ]]; then
    echo "missing: runtime/$f"; status=1
  elif ! cmp -s "$STAGE/$f" "$f"; then
    echo "differs: runtime/$f"; status=1
  fi
done < <(cd "$STAGE" && find "${OUTPUTS[@]}" -type f | sort)
while IFS= read -r f; do
  [[ -e $STAGE/$f ]] || { echo "not built any more: runtime/$f"; status=1; }
done < <(find "${OUTPUTS[@]}" -type f 2>/dev/null | sort)
if ((status)); then
  echo "runtime: out of date (run runtime/build.sh)" >&2
else
  echo "runtime: up to date"
fi
exit $status
