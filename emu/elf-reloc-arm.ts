// ARM and Thumb relocations ("ELF for the Arm Architecture", AAELF32). GCC emits REL sections on
// ARM: the addend is encoded in the instruction or word at the place, so each handler decodes it.
// Notation: S has the Thumb bit set for Thumb functions (S == S' | T); branch handlers clear it.
// Branches change state (BL <-> BLX) only when the target's state is known (site.thumb defined);
// a branch that cannot change state (B, BL<cond>, B.W, B<cond>.W), and one whose target is out
// of its reach, goes through a veneer the linker makes (site.veneer()). GOT notation: GOT_ORG
// is _GLOBAL_OFFSET_TABLE_ (site.GOT), GOT(S) the address of the symbol's GOT entry (site.G).

import { alignDown, checkRange, signExtend, type RelocArch, type RelocSite } from './elf-reloc.ts';
import { ARM_RELOC_NAMES } from './elf-reloc-names.ts';

const R_ARM_NONE = 0;
const R_ARM_ABS32 = 2;
const R_ARM_REL32 = 3;
const R_ARM_GOTOFF32 = 24;
const R_ARM_BASE_PREL = 25;
const R_ARM_GOT_BREL = 26;
const R_ARM_PLT32 = 27; // deprecated call relocation: B/BL/BL<cond>
const R_ARM_THM_CALL = 10;
const R_ARM_CALL = 28;
const R_ARM_JUMP24 = 29;
const R_ARM_THM_JUMP24 = 30;
const R_ARM_BASE_ABS = 31;
const R_ARM_TARGET1 = 38; // ABS32 on Linux (.init_array)
const R_ARM_V4BX = 40; // marks "bx rN" for ARMv4 patching: nothing to do on v4T and later
const R_ARM_TARGET2 = 41; // GOT_PREL on Linux (exception tables)
const R_ARM_PREL31 = 42;
const R_ARM_MOVW_ABS_NC = 43;
const R_ARM_MOVT_ABS = 44;
const R_ARM_MOVW_PREL_NC = 45;
const R_ARM_MOVT_PREL = 46;
const R_ARM_THM_MOVW_ABS_NC = 47;
const R_ARM_THM_MOVT_ABS = 48;
const R_ARM_THM_MOVW_PREL_NC = 49;
const R_ARM_THM_MOVT_PREL = 50;
const R_ARM_THM_JUMP19 = 51;
const R_ARM_GOT_PREL = 96;

// --- data -------------------------------------------------------------------------------

function abs32(s: RelocSite): void {
  const A = s.rela ? s.A : s.place.readS32();
  s.place.write32(s.S + A); // (S + A) | T
}

function rel32(s: RelocSite): void {
  const A = s.rela ? s.A : s.place.readS32();
  s.place.write32(s.S + A - s.P); // ((S + A) | T) - P
}

/** REL addend of a data word. */
function dataAddend(s: RelocSite): number {
  return s.rela ? s.A : s.place.readS32();
}

// --- position-independent code: the GOT and its origin -----------------------------------

/** GOT_BREL: GOT(S) + A - GOT_ORG, the entry's offset from the GOT pointer. */
function gotBrel(s: RelocSite): void {
  s.place.write32(s.G + dataAddend(s) - s.GOT);
}
/** GOT_PREL (and TARGET2 on Linux): GOT(S) + A - P. */
function gotPrel(s: RelocSite): void {
  s.place.write32(s.G + dataAddend(s) - s.P);
}
/** GOTOFF32: ((S + A) | T) - GOT_ORG. */
function gotOff(s: RelocSite): void {
  s.place.write32(s.S + dataAddend(s) - s.GOT);
}
/**
 * BASE_PREL: B(S) + A - P and BASE_ABS: B(S) + A, B(S) being the origin of the segment of S.
 * GCC uses them only with S = _GLOBAL_OFFSET_TABLE_, whose origin is itself.
 */
function basePrel(s: RelocSite): void {
  s.place.write32(s.S + dataAddend(s) - (s.type === R_ARM_BASE_PREL ? s.P : 0));
}

/** PREL31 (exception tables): 31-bit place-relative offset, bit 31 of the word is preserved. */
function prel31(s: RelocSite): void {
  const word = s.place.read32();
  const A = s.rela ? s.A : signExtend(word & 0x7fffffff, 31);
  const v = s.S + A - s.P;
  checkRange(s, v, 31, 'signed');
  s.place.write32((word & 0x80000000) | (v & 0x7fffffff));
}

// --- ARM-state branches: B/BL/BLX imm24 ------------------------------------------------

/**
 * R_ARM_CALL (BL/BLX) and R_ARM_JUMP24 (B, BL<cond>). The field is (target - (P + 8)) >> 2; the
 * usual REL addend is therefore -8. A call to a Thumb function becomes BLX, whose H bit (24)
 * holds bit 1 of the offset; a BLX to an ARM function becomes BL. JUMP24 cannot change state.
 * When the target's state is unknown (not a function symbol), the instruction keeps its own.
 */
function armBranch24(s: RelocSite): void {
  const insn = s.place.read32();
  const isBlx = insn >>> 28 === 0xf;
  const A = s.rela ? s.A : signExtend(insn & 0xffffff, 24) * 4 + (isBlx ? ((insn >>> 24) & 1) * 2 : 0);
  let toThumb = !s.weakUndef && (s.thumb ?? isBlx);
  // Only an unconditional BL can become BLX; B and BL<cond> reach Thumb code through a veneer.
  const call = s.type === R_ARM_CALL || (s.type === R_ARM_PLT32 && (insn & 0x01000000) !== 0);
  let S = s.S;
  const reaches = (v: number): boolean => v >= -(2 ** 25) && v < 2 ** 25;
  if (!s.weakUndef && ((toThumb && !(call && (isBlx || insn >>> 28 === 0xe))) || !reaches((toThumb ? alignDown(S, 2) : S) + A - s.P))) {
    S = s.veneer(); // ARM code that loads the target's address into pc (either state, any distance)
    toThumb = false;
  }
  // Undefined weak: branch to the next instruction (P + 4 = P + 8 - 4).
  const offset = s.weakUndef ? -4 : (toThumb ? alignDown(S, 2) : S) + A - s.P;
  checkRange(s, offset, 26, 'signed');
  if (toThumb) {
    if (offset & 1) s.fail(`${s.name} against \`${s.symbol}\`: odd branch offset ${offset}`);
    s.place.write32(0xfa000000 | ((offset & 2) << 23) | ((offset >> 2) & 0xffffff)); // BLX imm
    return;
  }
  if (offset & 3) s.fail(`${s.name} against \`${s.symbol}\`: ARM branch offset ${offset} is not a multiple of 4`);
  const opcode = isBlx ? 0xeb000000 : insn & 0xff000000; // BLX to ARM code: back to BL
  s.place.write32(opcode | ((offset >> 2) & 0xffffff));
}

// --- Thumb-2 branches -------------------------------------------------------------------

/** BL/BLX/B.W (T4) offset: S:I1:I2:imm10:imm11:0 with I1 = !(J1 ^ S), I2 = !(J2 ^ S). */
function decodeThumbBranch24(hi: number, lo: number): number {
  const sign = (hi >> 10) & 1;
  const i1 = 1 ^ ((lo >> 13) & 1) ^ sign;
  const i2 = 1 ^ ((lo >> 11) & 1) ^ sign;
  return signExtend((sign << 24) | (i1 << 23) | (i2 << 22) | ((hi & 0x3ff) << 12) | ((lo & 0x7ff) << 1), 25);
}

function writeThumbBranch24(s: RelocSite, hi: number, lo: number, offset: number): void {
  const sign = (offset >> 24) & 1;
  const j1 = 1 ^ ((offset >> 23) & 1) ^ sign;
  const j2 = 1 ^ ((offset >> 22) & 1) ^ sign;
  s.place.write16((hi & 0xf800) | (sign << 10) | ((offset >> 12) & 0x3ff), 0);
  s.place.write16((lo & 0xd000) | (j1 << 13) | (j2 << 11) | ((offset >> 1) & 0x7ff), 2);
}

/**
 * R_ARM_THM_CALL (BL/BLX) and R_ARM_THM_JUMP24 (B.W). The field is target - (P + 4); the usual
 * REL addend is -4. A call to an ARM function becomes BLX (bit 12 of the second halfword clear),
 * which branches relative to Align(P + 4, 4) to a 4-aligned target; a BLX to Thumb code becomes BL.
 * When the target's state is unknown, the instruction keeps its own. Offsets use the Thumb-2
 * range (+-16 MiB); Thumb-1 cores only reach +-4 MiB.
 */
function thumbBranch24(s: RelocSite): void {
  const hi = s.place.read16(0), lo = s.place.read16(2);
  const A = s.rela ? s.A : decodeThumbBranch24(hi, lo);
  const isBlx = (lo & 0x1000) === 0 && s.type === R_ARM_THM_CALL;
  let toArm = !s.weakUndef && (s.thumb === undefined ? isBlx : !s.thumb);
  let S = s.S;
  const far = !s.weakUndef && !thumbReaches(toArm ? alignDown(S + A + 4, 4) - alignDown(s.P + 4, 4) : alignDown(S, 2) + A - s.P, 25);
  if (!s.weakUndef && ((toArm && s.type !== R_ARM_THM_CALL) || far)) {
    S = s.veneer(); // Thumb code that loads the target's address into pc (B.W cannot switch state; or too far)
    toArm = false;
  }
  let offset: number;
  if (s.weakUndef) offset = 0; // next instruction: P + 4
  else if (toArm) offset = alignDown(S + A + 4, 4) - alignDown(s.P + 4, 4);
  else offset = alignDown(S, 2) + A - s.P; // a Thumb target: drop the Thumb bit
  checkRange(s, offset, 25, 'signed');
  if (offset & 1) s.fail(`${s.name} against \`${s.symbol}\`: odd branch offset ${offset}`);
  writeThumbBranch24(s, hi, (lo & ~0x1000) | (toArm ? 0 : 0x1000), offset); // BLX : BL or B.W
}

/** R_ARM_THM_JUMP19: B<cond>.W (T3), offset S:J2:J1:imm6:imm11:0 (J bits not inverted). */
function thumbJump19(s: RelocSite): void {
  const hi = s.place.read16(0), lo = s.place.read16(2);
  const A = s.rela ? s.A : signExtend(((hi >> 10) & 1) << 20 | ((lo >> 11) & 1) << 19 | ((lo >> 13) & 1) << 18
    | (hi & 0x3f) << 12 | (lo & 0x7ff) << 1, 21);
  const S = !s.weakUndef && (s.thumb === false || !thumbReaches(alignDown(s.S, 2) + A - s.P, 21)) ? s.veneer() : s.S;
  const offset = s.weakUndef ? 0 : alignDown(S, 2) + A - s.P;
  checkRange(s, offset, 21, 'signed');
  if (offset & 1) s.fail(`${s.name} against \`${s.symbol}\`: odd branch offset ${offset}`);
  s.place.write16((hi & 0xfbc0) | (((offset >> 20) & 1) << 10) | ((offset >> 12) & 0x3f), 0);
  s.place.write16((lo & 0xd000) | (((offset >> 18) & 1) << 13) | (((offset >> 19) & 1) << 11) | ((offset >> 1) & 0x7ff), 2);
}

/** Whether a Thumb branch offset fits its signed field of `bits` bits (the last bit is always 0). */
function thumbReaches(offset: number, bits: number): boolean {
  return offset >= -(2 ** (bits - 1)) && offset < 2 ** (bits - 1);
}

// --- MOVW/MOVT ----------------------------------------------------------------------------

/** The 16-bit value a MOVW/MOVT relocation stores: low or high half of (S + A) | T, minus P for PREL. */
function movValue(s: RelocSite, A: number, high: boolean, prel: boolean): number {
  const v = (s.S + A - (prel ? s.P : 0)) >>> 0;
  return high ? v >>> 16 : v & 0xffff;
}

/** ARM MOVW/MOVT: imm16 = imm4 (bits 19-16) : imm12 (bits 11-0); the REL addend is that imm16, signed. */
function armMov(s: RelocSite): void {
  const insn = s.place.read32();
  const A = s.rela ? s.A : signExtend(((insn >> 4) & 0xf000) | (insn & 0xfff), 16);
  const high = s.type === R_ARM_MOVT_ABS || s.type === R_ARM_MOVT_PREL;
  const v = movValue(s, A, high, s.type === R_ARM_MOVW_PREL_NC || s.type === R_ARM_MOVT_PREL);
  s.place.write32((insn & 0xfff0f000) | ((v & 0xf000) << 4) | (v & 0xfff));
}

/** Thumb-2 MOVW/MOVT (T3): imm16 = imm4 (hw1 3-0) : i (hw1 10) : imm3 (hw2 14-12) : imm8 (hw2 7-0). */
function thumbMov(s: RelocSite): void {
  const hi = s.place.read16(0), lo = s.place.read16(2);
  const A = s.rela ? s.A : signExtend(((hi & 0xf) << 12) | (((hi >> 10) & 1) << 11) | (((lo >> 12) & 7) << 8) | (lo & 0xff), 16);
  const high = s.type === R_ARM_THM_MOVT_ABS || s.type === R_ARM_THM_MOVT_PREL;
  const v = movValue(s, A, high, s.type === R_ARM_THM_MOVW_PREL_NC || s.type === R_ARM_THM_MOVT_PREL);
  s.place.write16((hi & 0xfbf0) | (v >> 12) | (((v >> 11) & 1) << 10), 0);
  s.place.write16((lo & 0x8f00) | (((v >> 8) & 7) << 12) | (v & 0xff), 2);
}

const nothing = (): void => {};

export const ARM_RELOCS: RelocArch = {
  prefix: 'R_ARM_',
  names: ARM_RELOC_NAMES,
  handlers: new Map([
    [R_ARM_NONE, nothing],
    [R_ARM_V4BX, nothing],
    [R_ARM_ABS32, abs32],
    [R_ARM_TARGET1, abs32],
    [R_ARM_REL32, rel32],
    [R_ARM_GOT_BREL, gotBrel],
    [R_ARM_GOT_PREL, gotPrel],
    [R_ARM_TARGET2, gotPrel],
    [R_ARM_GOTOFF32, gotOff],
    [R_ARM_BASE_PREL, basePrel],
    [R_ARM_BASE_ABS, basePrel],
    [R_ARM_PLT32, armBranch24],
    [R_ARM_PREL31, prel31],
    [R_ARM_CALL, armBranch24],
    [R_ARM_JUMP24, armBranch24],
    [R_ARM_THM_CALL, thumbBranch24],
    [R_ARM_THM_JUMP24, thumbBranch24],
    [R_ARM_THM_JUMP19, thumbJump19],
    [R_ARM_MOVW_ABS_NC, armMov],
    [R_ARM_MOVT_ABS, armMov],
    [R_ARM_MOVW_PREL_NC, armMov],
    [R_ARM_MOVT_PREL, armMov],
    [R_ARM_THM_MOVW_ABS_NC, thumbMov],
    [R_ARM_THM_MOVT_ABS, thumbMov],
    [R_ARM_THM_MOVW_PREL_NC, thumbMov],
    [R_ARM_THM_MOVT_PREL, thumbMov],
  ]),
  gotTypes: new Set([R_ARM_GOT_BREL, R_ARM_GOT_PREL, R_ARM_TARGET2]),
  // Dynamic: ABS32, REL32, GLOB_DAT (21), JUMP_SLOT (22), RELATIVE (23).
  dynamic: new Map([
    [R_ARM_NONE, { kind: 'none', bits: 32 }], [R_ARM_ABS32, { kind: 'absolute', bits: 32 }], [R_ARM_REL32, { kind: 'pc', bits: 32 }],
    [21, { kind: 'symbol', bits: 32 }], [22, { kind: 'symbol', bits: 32 }], [23, { kind: 'relative', bits: 32 }],
  ]),
  veneers: {
    types: new Map([
      [R_ARM_CALL, 'arm'], [R_ARM_JUMP24, 'arm'], [R_ARM_PLT32, 'arm'],
      [R_ARM_THM_CALL, 'thumb'], [R_ARM_THM_JUMP24, 'thumb'], [R_ARM_THM_JUMP19, 'thumb'],
    ]),
    bytes: 8,
    // ARM B/BL: +-32 MiB; Thumb-2 BL/B.W: +-16 MiB; B<cond>.W: +-1 MiB.
    reach: (type) => (type === R_ARM_THM_JUMP19 ? 2 ** 20 : type === R_ARM_THM_CALL || type === R_ARM_THM_JUMP24 ? 2 ** 24 : 2 ** 25),
    interworking: needsVeneer,
    code: (from, target) => armVeneer(from === 'thumb' ? 'thumb' : 'arm', target),
  },
};

/**
 * The rule armBranch24/thumbBranch24/thumbJump19 apply, asked before placement so that the
 * veneers get room: ARM code reaches Thumb code by BLX only from an unconditional BL (or BLX);
 * Thumb code reaches ARM code by BLX only from BL. A target of unknown state needs none.
 */
function needsVeneer(type: number, insn: number, targetThumb: boolean | undefined): boolean {
  if (targetThumb === undefined || type === R_ARM_THM_CALL) return false; // Thumb BL <-> BLX either way
  if (type === R_ARM_THM_JUMP24 || type === R_ARM_THM_JUMP19) return !targetThumb;
  if (!targetThumb) return false;
  const unconditionalCall = insn >>> 28 === 0xf || (insn >>> 28 === 0xe && (insn & 0x01000000) !== 0);
  return type === R_ARM_JUMP24 || !unconditionalCall;
}

/**
 * Veneers. From ARM code: `ldr pc, [pc, #-4]` then the target address; from Thumb code (placed
 * 4-aligned): `ldr.w pc, [pc, #0]` then the address. A load into pc switches state by bit 0 of
 * the value on ARMv5T and later, and reaches any address; the veneer clobbers nothing, and a
 * BL through it keeps its return address in lr.
 */
export function armVeneer(from: 'arm' | 'thumb', target: number): Uint8Array {
  const bytes = new Uint8Array(8);
  const dv = new DataView(bytes.buffer);
  if (from === 'arm') dv.setUint32(0, 0xe51ff004, true);
  else {
    dv.setUint16(0, 0xf8df, true);
    dv.setUint16(2, 0xf000, true);
  }
  dv.setUint32(4, target >>> 0, true);
  return bytes;
}
