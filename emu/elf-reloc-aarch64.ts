// AArch64 relocations ("ELF for the Arm 64-bit Architecture", AAELF64), LP64, RELA only:
// static ones of `gcc -c` objects (GOT-relative ones too: GCC's default is position-independent)
// and the dynamic ones of shared objects.
// Page(x) = x & ~0xfff; ADRP materialises Page(S + A) - Page(P), the :lo12: users add the rest.

import { alignDown, checkAligned, checkRange, type RelocArch, type RelocSite } from './elf-reloc.ts';
import { AARCH64_RELOC_NAMES } from './elf-reloc-names.ts';

const R_AARCH64_NONE = 0;
const R_AARCH64_NONE_OLD = 256; // withdrawn spelling of R_AARCH64_NONE
const R_AARCH64_ABS64 = 257;
const R_AARCH64_ABS32 = 258;
const R_AARCH64_ABS16 = 259;
const R_AARCH64_PREL64 = 260;
const R_AARCH64_PREL32 = 261;
const R_AARCH64_PREL16 = 262;
const R_AARCH64_MOVW_UABS_G0 = 263;
const R_AARCH64_MOVW_UABS_G0_NC = 264;
const R_AARCH64_MOVW_UABS_G1 = 265;
const R_AARCH64_MOVW_UABS_G1_NC = 266;
const R_AARCH64_MOVW_UABS_G2 = 267;
const R_AARCH64_MOVW_UABS_G2_NC = 268;
const R_AARCH64_MOVW_UABS_G3 = 269;
const R_AARCH64_ADR_PREL_LO21 = 274;
const R_AARCH64_ADR_PREL_PG_HI21 = 275;
const R_AARCH64_ADR_PREL_PG_HI21_NC = 276;
const R_AARCH64_ADD_ABS_LO12_NC = 277;
const R_AARCH64_LDST8_ABS_LO12_NC = 278;
const R_AARCH64_TSTBR14 = 279;
const R_AARCH64_CONDBR19 = 280;
const R_AARCH64_JUMP26 = 282;
const R_AARCH64_CALL26 = 283;
const R_AARCH64_LDST16_ABS_LO12_NC = 284;
const R_AARCH64_LDST32_ABS_LO12_NC = 285;
const R_AARCH64_LDST64_ABS_LO12_NC = 286;
const R_AARCH64_LDST128_ABS_LO12_NC = 299;
const R_AARCH64_GOT_LD_PREL19 = 309;
const R_AARCH64_ADR_GOT_PAGE = 311;
const R_AARCH64_LD64_GOT_LO12_NC = 312;
const R_AARCH64_LD64_GOTPAGE_LO15 = 313;
// dynamic (shared objects)
const R_AARCH64_GLOB_DAT = 1025;
const R_AARCH64_JUMP_SLOT = 1026;
const R_AARCH64_RELATIVE = 1027;

// --- data: the 32/16-bit forms accept a signed or an unsigned value (-2^(n-1) <= X < 2^n) ---

function abs(s: RelocSite): void {
  const v = s.S + s.A;
  if (s.type === R_AARCH64_ABS64) return s.place.write64(v);
  const bits = s.type === R_AARCH64_ABS32 ? 32 : 16;
  checkRange(s, v, bits, 'either');
  if (bits === 32) s.place.write32(v);
  else s.place.write16(v);
}

function prel(s: RelocSite): void {
  const v = s.S + s.A - s.P;
  if (s.type === R_AARCH64_PREL64) return s.place.write64(v);
  const bits = s.type === R_AARCH64_PREL32 ? 32 : 16;
  checkRange(s, v, bits, 'either');
  if (bits === 32) s.place.write32(v);
  else s.place.write16(v);
}

// --- branches: word offsets; an undefined weak target becomes the next instruction -------

function branchOffset(s: RelocSite, bits: number): number {
  const v = s.weakUndef ? 4 : s.S + s.A - s.P;
  checkRange(s, v, bits, 'signed');
  checkAligned(s, v, 4);
  return v;
}

/** B/BL imm26 (bits 25-0), +-128 MiB. */
function branch26(s: RelocSite): void {
  const v = branchOffset(s, 28);
  s.place.write32((s.place.read32() & 0xfc000000) | ((v >> 2) & 0x3ffffff));
}
/** B.cond/CBZ/CBNZ imm19 (bits 23-5), +-1 MiB. */
function condBr19(s: RelocSite): void {
  const v = branchOffset(s, 21);
  s.place.write32((s.place.read32() & 0xff00001f) | (((v >> 2) & 0x7ffff) << 5));
}
/** TBZ/TBNZ imm14 (bits 18-5), +-32 KiB. */
function tstBr14(s: RelocSite): void {
  const v = branchOffset(s, 16);
  s.place.write32((s.place.read32() & 0xfff8001f) | (((v >> 2) & 0x3fff) << 5));
}

// --- ADR/ADRP: immlo (bits 30-29) and immhi (bits 23-5) -----------------------------------

function writeAdrImm(s: RelocSite, imm: number): void {
  s.place.write32((s.place.read32() & 0x9f00001f) | ((imm & 3) << 29) | (((imm >> 2) & 0x7ffff) << 5));
}
/** ADR: byte offset, +-1 MiB. */
function adrLo21(s: RelocSite): void {
  const v = s.S + s.A - s.P;
  checkRange(s, v, 21, 'signed');
  writeAdrImm(s, v);
}
/** ADRP: page offset, +-4 GiB (not checked for the _NC form). */
function adrPage21(s: RelocSite): void {
  const pages = (alignDown(s.S + s.A, 4096) - alignDown(s.P, 4096)) / 4096;
  if (s.type === R_AARCH64_ADR_PREL_PG_HI21) checkRange(s, pages, 21, 'signed');
  writeAdrImm(s, pages);
}

// --- :lo12: users: ADD imm12 and LDR/STR unsigned offsets (imm12 scaled by the access size) ---

const LDST_SHIFT: ReadonlyMap<number, number> = new Map([
  [R_AARCH64_ADD_ABS_LO12_NC, 0],
  [R_AARCH64_LDST8_ABS_LO12_NC, 0],
  [R_AARCH64_LDST16_ABS_LO12_NC, 1],
  [R_AARCH64_LDST32_ABS_LO12_NC, 2],
  [R_AARCH64_LDST64_ABS_LO12_NC, 3],
  [R_AARCH64_LDST128_ABS_LO12_NC, 4],
]);

function lo12(s: RelocSite): void {
  const shift = LDST_SHIFT.get(s.type) ?? 0;
  const v = (s.S + s.A) & 0xfff;
  // A misaligned offset cannot be encoded in a scaled load/store: the access would be wrong.
  checkAligned(s, v, 1 << shift);
  s.place.write32((s.place.read32() & 0xffc003ff) | ((v >> shift) << 10));
}

// --- MOVZ/MOVK #:abs_gN: imm16 (bits 20-5) = bits 16N..16N+15 of S + A -------------------

const MOVW_GROUP: ReadonlyMap<number, { group: number; check: boolean }> = new Map([
  [R_AARCH64_MOVW_UABS_G0, { group: 0, check: true }],
  [R_AARCH64_MOVW_UABS_G0_NC, { group: 0, check: false }],
  [R_AARCH64_MOVW_UABS_G1, { group: 1, check: true }],
  [R_AARCH64_MOVW_UABS_G1_NC, { group: 1, check: false }],
  [R_AARCH64_MOVW_UABS_G2, { group: 2, check: true }],
  [R_AARCH64_MOVW_UABS_G2_NC, { group: 2, check: false }],
  [R_AARCH64_MOVW_UABS_G3, { group: 3, check: false }], // 64 bits: nothing left to overflow
]);

function movwUabs(s: RelocSite): void {
  const { group, check } = MOVW_GROUP.get(s.type) ?? { group: 0, check: true };
  const v = s.S + s.A;
  if (check) checkRange(s, v, 16 * (group + 1), 'unsigned');
  const imm = Number((BigInt.asUintN(64, BigInt(v)) >> BigInt(16 * group)) & 0xffffn);
  s.place.write32((s.place.read32() & 0xffe0001f) | (imm << 5));
}

// --- the GOT: G is the address of the entry GDAT(S + A), which holds S + A ----------------
// (position-independent code, GCC's default: `adrp x0, :got:sym; ldr x0, [x0, :got_lo12:sym]`)

/** ADR_GOT_PAGE: Page(G) - Page(P) into an ADRP, +-4 GiB. */
function adrGotPage(s: RelocSite): void {
  const pages = (alignDown(s.G, 4096) - alignDown(s.P, 4096)) / 4096;
  checkRange(s, pages, 21, 'signed');
  writeAdrImm(s, pages);
}
/** LD64_GOT_LO12_NC: G & 0xfff into a 64-bit LDR's scaled offset. */
function ld64GotLo12(s: RelocSite): void {
  const v = s.G & 0xfff;
  checkAligned(s, v, 8);
  s.place.write32((s.place.read32() & 0xffc003ff) | ((v >> 3) << 10));
}
/** LD64_GOTPAGE_LO15 (-fpic): G - Page(GOT) into a 64-bit LDR's scaled offset, below 32 KiB. */
function ld64GotPageLo15(s: RelocSite): void {
  const v = s.G - alignDown(s.GOT, 4096);
  checkRange(s, v, 15, 'unsigned');
  checkAligned(s, v, 8);
  s.place.write32((s.place.read32() & 0xffc003ff) | ((v >> 3) << 10));
}
/** GOT_LD_PREL19 (tiny code model): G - P into an LDR (literal), +-1 MiB. */
function gotLdPrel19(s: RelocSite): void {
  const v = s.G - s.P;
  checkRange(s, v, 21, 'signed');
  checkAligned(s, v, 4);
  s.place.write32((s.place.read32() & 0xff00001f) | (((v >> 2) & 0x7ffff) << 5));
}

const nothing = (): void => {};

export const AARCH64_RELOCS: RelocArch = {
  prefix: 'R_AARCH64_',
  names: AARCH64_RELOC_NAMES,
  handlers: new Map([
    [R_AARCH64_NONE, nothing],
    [R_AARCH64_NONE_OLD, nothing],
    [R_AARCH64_ABS64, abs],
    [R_AARCH64_ABS32, abs],
    [R_AARCH64_ABS16, abs],
    [R_AARCH64_PREL64, prel],
    [R_AARCH64_PREL32, prel],
    [R_AARCH64_PREL16, prel],
    [R_AARCH64_CALL26, branch26],
    [R_AARCH64_JUMP26, branch26],
    [R_AARCH64_CONDBR19, condBr19],
    [R_AARCH64_TSTBR14, tstBr14],
    [R_AARCH64_ADR_PREL_LO21, adrLo21],
    [R_AARCH64_ADR_PREL_PG_HI21, adrPage21],
    [R_AARCH64_ADR_PREL_PG_HI21_NC, adrPage21],
    ...[...LDST_SHIFT.keys()].map((t): [number, (s: RelocSite) => void] => [t, lo12]),
    ...[...MOVW_GROUP.keys()].map((t): [number, (s: RelocSite) => void] => [t, movwUabs]),
    [R_AARCH64_ADR_GOT_PAGE, adrGotPage],
    [R_AARCH64_LD64_GOT_LO12_NC, ld64GotLo12],
    [R_AARCH64_LD64_GOTPAGE_LO15, ld64GotPageLo15],
    [R_AARCH64_GOT_LD_PREL19, gotLdPrel19],
  ]),
  gotTypes: new Set([R_AARCH64_ADR_GOT_PAGE, R_AARCH64_LD64_GOT_LO12_NC, R_AARCH64_LD64_GOTPAGE_LO15, R_AARCH64_GOT_LD_PREL19]),
  // AAELF64: a GOT entry GDAT(S + A) is named by the symbol and the addend together.
  gotEntryHasAddend: true,
  dynamic: new Map([
    [R_AARCH64_NONE, { kind: 'none', bits: 64 }], [R_AARCH64_ABS64, { kind: 'absolute', bits: 64 }],
    [R_AARCH64_GLOB_DAT, { kind: 'symbol', bits: 64 }], [R_AARCH64_JUMP_SLOT, { kind: 'symbol', bits: 64 }],
    [R_AARCH64_RELATIVE, { kind: 'relative', bits: 64 }],
  ]),
};
