// 32-bit PowerPC relocations (System V PowerPC ABI / "Power Architecture 32-bit ABI"), RELA only.
// The @ha/@l pair splits an address for lis + addi, where addi sign-extends its 16 bits: @ha
// rounds the high half up when bit 15 is set. Position-independent code: Debian's default
// (-fPIE, and -fPIC) finds its data through .got2, an ordinary data section reached with REL16
// relocations; -fpic uses the GOT, whose entries (G: the entry holding S + A) lie within
// +-32 KiB of _GLOBAL_OFFSET_TABLE_ (site.GOT). -fpic code built for the old BSS-PLT finds the
// GOT by calling _GLOBAL_OFFSET_TABLE_ - 4, where the linker puts a `blrl` (gotHeader).

import { checkAligned, checkRange, type RelocArch, type RelocSite } from './elf-reloc.ts';
import { PPC_RELOC_NAMES } from './elf-reloc-names.ts';

const R_PPC_NONE = 0;
const R_PPC_ADDR32 = 1;
const R_PPC_ADDR16 = 3;
const R_PPC_ADDR16_LO = 4;
const R_PPC_ADDR16_HI = 5;
const R_PPC_ADDR16_HA = 6;
const R_PPC_REL24 = 10;
const R_PPC_REL14 = 11;
const R_PPC_REL14_BRTAKEN = 12;
const R_PPC_REL14_BRNTAKEN = 13;
const R_PPC_GOT16 = 14;
const R_PPC_GOT16_LO = 15;
const R_PPC_GOT16_HI = 16;
const R_PPC_GOT16_HA = 17;
const R_PPC_PLTREL24 = 18;
const R_PPC_LOCAL24PC = 23;
const R_PPC_REL32 = 26;
const R_PPC_REL16 = 249;
const R_PPC_REL16_LO = 250;
const R_PPC_REL16_HI = 251;
const R_PPC_REL16_HA = 252;

/** The "y" bit of the BO field (static branch prediction hint). */
const BRANCH_PREDICT_BIT = 0x00200000;

function addr32(s: RelocSite): void {
  s.place.write32(s.S + s.A);
}
function rel32(s: RelocSite): void {
  s.place.write32(s.S + s.A - s.P);
}
/** ADDR16 holds a signed or unsigned 16-bit value (li rD, sym / .short sym); REL16 a signed one. */
function half16(s: RelocSite): void {
  const rel = s.type === R_PPC_REL16;
  const v = s.S + s.A - (rel ? s.P : 0);
  checkRange(s, v, 16, rel ? 'signed' : 'either');
  s.place.write16(v);
}

/** #lo, #hi, #ha of S + A (ADDR16_*) or of S + A - P (REL16_*, PIC code finding .got2). */
function halves(s: RelocSite): void {
  const rel = s.type === R_PPC_REL16_LO || s.type === R_PPC_REL16_HI || s.type === R_PPC_REL16_HA;
  const v = (s.S + s.A - (rel ? s.P : 0)) >>> 0;
  if (s.type === R_PPC_ADDR16_LO || s.type === R_PPC_REL16_LO) s.place.write16(v & 0xffff);
  else if (s.type === R_PPC_ADDR16_HI || s.type === R_PPC_REL16_HI) s.place.write16(v >>> 16);
  else s.place.write16(((v + 0x8000) >>> 16) & 0xffff);
}

/** GOT16: the signed 16-bit offset of the GOT entry from the origin; _LO/_HI/_HA its halves. */
function got16(s: RelocSite): void {
  const v = s.G - s.GOT;
  if (s.type === R_PPC_GOT16) {
    checkRange(s, v, 16, 'signed');
    s.place.write16(v);
  } else if (s.type === R_PPC_GOT16_LO) s.place.write16(v & 0xffff);
  else if (s.type === R_PPC_GOT16_HI) s.place.write16((v >>> 16) & 0xffff);
  else s.place.write16(((v + 0x8000) >>> 16) & 0xffff);
}

/**
 * Branch displacement; an undefined weak target becomes the next instruction. PLTREL24 (calls
 * in -fPIC code, e.g. libgcc): we link statically without a PLT, so the call goes straight to
 * the function; its addend is the .got2 offset the PLT stub would use, not part of the target.
 * A b/bl that cannot reach (+-32 MiB) goes through a veneer next to the code.
 */
function branchOffset(s: RelocSite, bits: number): number {
  const A = s.type === R_PPC_PLTREL24 ? 0 : s.A;
  let v = s.weakUndef ? 4 : s.S + A - s.P;
  if (bits === 26 && !s.weakUndef && (v < -(2 ** 25) || v >= 2 ** 25)) v = s.veneer() - s.P;
  checkRange(s, v, bits, 'signed');
  checkAligned(s, v, 4);
  return v;
}

/** REL24: b/bl, LI field (bits 6-29) holds the word displacement, +-32 MiB. */
function rel24(s: RelocSite): void {
  const v = branchOffset(s, 26);
  s.place.write32((s.place.read32() & 0xfc000003) | (v & 0x03fffffc));
}

/**
 * REL14: bc, BD field (bits 16-29), +-32 KiB. The _BRTAKEN/_BRNTAKEN forms also set the "y" hint
 * bit the way GNU ld does: set for "taken", then inverted for backward branches, whose default
 * prediction is already "taken" (pre-ISA-2.0 meaning of the bit).
 */
function rel14(s: RelocSite): void {
  const v = branchOffset(s, 16);
  let insn = (s.place.read32() & 0xffff0003) | (v & 0xfffc);
  if (s.type !== R_PPC_REL14) {
    insn &= ~BRANCH_PREDICT_BIT;
    if (s.type === R_PPC_REL14_BRTAKEN) insn |= BRANCH_PREDICT_BIT;
    if (v < 0) insn ^= BRANCH_PREDICT_BIT;
  }
  s.place.write32(insn);
}

export const PPC_RELOCS: RelocArch = {
  prefix: 'R_PPC_',
  names: PPC_RELOC_NAMES,
  handlers: new Map([
    [R_PPC_NONE, (): void => {}],
    [R_PPC_ADDR32, addr32],
    [R_PPC_REL32, rel32],
    [R_PPC_ADDR16, half16],
    [R_PPC_ADDR16_LO, halves],
    [R_PPC_ADDR16_HI, halves],
    [R_PPC_ADDR16_HA, halves],
    [R_PPC_REL16, half16],
    [R_PPC_REL16_LO, halves],
    [R_PPC_REL16_HI, halves],
    [R_PPC_REL16_HA, halves],
    [R_PPC_REL24, rel24],
    [R_PPC_PLTREL24, rel24],
    [R_PPC_LOCAL24PC, rel24],
    [R_PPC_GOT16, got16],
    [R_PPC_GOT16_LO, got16],
    [R_PPC_GOT16_HI, got16],
    [R_PPC_GOT16_HA, got16],
    [R_PPC_REL14, rel14],
    [R_PPC_REL14_BRTAKEN, rel14],
    [R_PPC_REL14_BRNTAKEN, rel14],
  ]),
  gotTypes: new Set([R_PPC_GOT16, R_PPC_GOT16_LO, R_PPC_GOT16_HI, R_PPC_GOT16_HA]),
  // Dynamic (secure-PLT): ADDR32, REL32, GLOB_DAT (20), JMP_SLOT (21: the .plt word the call stub loads), RELATIVE (22).
  dynamic: new Map([
    [R_PPC_NONE, { kind: 'none', bits: 32 }], [R_PPC_ADDR32, { kind: 'absolute', bits: 32 }], [R_PPC_REL32, { kind: 'pc', bits: 32 }],
    [20, { kind: 'symbol', bits: 32 }], [21, { kind: 'symbol', bits: 32 }], [22, { kind: 'relative', bits: 32 }],
  ]),
  gotEntryHasAddend: true,
  gotHeader: () => Uint8Array.of(0x4e, 0x80, 0x00, 0x21), // blrl (big-endian)
  gotExecutable: true,
  veneers: {
    types: new Map([[R_PPC_REL24, 'ppc'], [R_PPC_PLTREL24, 'ppc'], [R_PPC_LOCAL24PC, 'ppc']]),
    bytes: 16,
    reach: () => 2 ** 25,
    code: (_, target) => ppcVeneer(target),
  },
};

/**
 * A long branch: lis r12, target@ha; addi r12, r12, target@l; mtctr r12; bctr. r12 is volatile
 * and free at a call (the linker's own glue uses it too); lr is untouched, so a bl through it
 * returns to its caller.
 */
function ppcVeneer(target: number): Uint8Array {
  const out = new Uint8Array(16);
  const dv = new DataView(out.buffer);
  const t = target >>> 0;
  dv.setUint32(0, 0x3d800000 | (((t + 0x8000) >>> 16) & 0xffff), false);
  dv.setUint32(4, 0x398c0000 | (t & 0xffff), false);
  dv.setUint32(8, 0x7d8903a6, false);
  dv.setUint32(12, 0x4e800420, false);
  return out;
}
