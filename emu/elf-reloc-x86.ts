// i386 (System V i386 psABI, REL: addends are stored at the place) and x86-64 (x86-64 psABI,
// RELA). Notation of the psABIs: S symbol, A addend, P place, GOT the address of
// _GLOBAL_OFFSET_TABLE_, G the address of the symbol's GOT entry (the documents write G for its
// offset; here it is an address and the formulas subtract GOT where they mean an offset).
// abiscope links statically: every symbol is resolved at link time, so PLT-relative calls go
// straight to the function and GOT entries hold final addresses.

import { checkRange, type RelocArch, type RelocSite } from './elf-reloc.ts';
import { I386_RELOC_NAMES, X86_64_RELOC_NAMES } from './elf-reloc-names.ts';

const R_386_NONE = 0;
const R_386_32 = 1;
const R_386_PC32 = 2;
const R_386_GOT32 = 3;
const R_386_PLT32 = 4; // without a PLT (static link) this is PC32
const R_386_GOTOFF = 9;
const R_386_GOTPC = 10;
const R_386_GOT32X = 43;

const R_X86_64_NONE = 0;
const R_X86_64_64 = 1;
const R_X86_64_PC32 = 2;
const R_X86_64_GOT32 = 3;
const R_X86_64_PLT32 = 4;
const R_X86_64_GOTPCREL = 9;
const R_X86_64_32 = 10;
const R_X86_64_32S = 11;
const R_X86_64_PC64 = 24;
const R_X86_64_GOTOFF64 = 25;
const R_X86_64_GOTPC32 = 26;
const R_X86_64_GOT64 = 27;
const R_X86_64_GOTPCREL64 = 28;
const R_X86_64_GOTPC64 = 29;
const R_X86_64_PLTOFF64 = 31;
const R_X86_64_GOTPCRELX = 41;
const R_X86_64_REX_GOTPCRELX = 42;

/** i386 addend: RELA if present (unusual), else the 32-bit word at the place. */
function i386Addend(s: RelocSite): number {
  return s.rela ? s.A : s.place.readS32();
}

// The i386 address space is 32 bits: results wrap modulo 2^32 and cannot overflow.
function i386Abs32(s: RelocSite): void {
  s.place.write32(s.S + i386Addend(s));
}
function i386Pc32(s: RelocSite): void {
  s.place.write32(s.S + i386Addend(s) - s.P);
}
/** GOTPC: GOT + A - P (PIC code finding the GOT: `addl $_GLOBAL_OFFSET_TABLE_, %ebx`). */
function i386GotPc(s: RelocSite): void {
  s.place.write32(s.GOT + i386Addend(s) - s.P);
}
/** GOTOFF: S + A - GOT (local data reached from the GOT pointer in %ebx). */
function i386GotOff(s: RelocSite): void {
  s.place.write32(s.S + i386Addend(s) - s.GOT);
}
/**
 * GOT32 and GOT32X: the GOT entry's offset from GOT, G + A - GOT. GOT32X may also appear in an
 * instruction without a base register (ModRM mod 00, r/m 101: a plain disp32), where the psABI
 * asks for the entry's absolute address, G + A.
 */
function i386Got32(s: RelocSite): void {
  const modrm = s.type === R_386_GOT32X ? s.place.read8(-1) : -1;
  const absolute = modrm >= 0 && (modrm & 0xc7) === 0x05;
  s.place.write32(s.G + i386Addend(s) - (absolute ? 0 : s.GOT));
}

function x64Abs64(s: RelocSite): void {
  s.place.write64(s.S + s.A);
}
function x64Pc64(s: RelocSite): void {
  s.place.write64(s.S + s.A - s.P);
}
/** R_X86_64_32 zero-extends (movl $sym, %eax), R_X86_64_32S sign-extends (movq $sym, %rax). */
function x64Abs32(s: RelocSite): void {
  const v = s.S + s.A;
  checkRange(s, v, 32, s.type === R_X86_64_32 ? 'unsigned' : 'signed');
  s.place.write32(v);
}
/** PC32 and PLT32 (calls: we link statically, so no PLT): a signed 32-bit displacement. */
function x64Pc32(s: RelocSite): void {
  const v = s.S + s.A - s.P;
  checkRange(s, v, 32, 'signed');
  s.place.write32(v);
}
/**
 * GOTPCREL, GOTPCRELX, REX_GOTPCRELX: G + A - P, the rip-relative address of the GOT entry
 * (`mov sym@GOTPCREL(%rip), %rax`). The X forms allow a linker to rewrite the load into a lea;
 * keeping the load through a real GOT entry is also correct.
 */
function x64GotPcRel(s: RelocSite): void {
  const v = s.G + s.A - s.P;
  checkRange(s, v, 32, 'signed');
  s.place.write32(v);
}
/** GOTPC32: GOT + A - P (large-model code finding the GOT). */
function x64GotPc32(s: RelocSite): void {
  const v = s.GOT + s.A - s.P;
  checkRange(s, v, 32, 'signed');
  s.place.write32(v);
}
/** GOT32: G + A - GOT, the entry's offset as 32 bits. */
function x64Got32(s: RelocSite): void {
  const v = s.G + s.A - s.GOT;
  checkRange(s, v, 32, 'signed');
  s.place.write32(v);
}
// Large code model (-mcmodel=large -fPIC): 64-bit fields.
function x64GotOff64(s: RelocSite): void {
  s.place.write64(s.S + s.A - s.GOT); // also PLTOFF64: without a PLT, L = S
}
function x64GotPc64(s: RelocSite): void {
  s.place.write64(s.GOT + s.A - s.P);
}
function x64Got64(s: RelocSite): void {
  s.place.write64(s.G + s.A - s.GOT);
}
function x64GotPcRel64(s: RelocSite): void {
  s.place.write64(s.G + s.A - s.P);
}

const nothing = (): void => {};

export const I386_RELOCS: RelocArch = {
  prefix: 'R_386_',
  names: I386_RELOC_NAMES,
  handlers: new Map([
    [R_386_NONE, nothing],
    [R_386_32, i386Abs32],
    [R_386_PC32, i386Pc32],
    [R_386_PLT32, i386Pc32],
    [R_386_GOTPC, i386GotPc],
    [R_386_GOTOFF, i386GotOff],
    [R_386_GOT32, i386Got32],
    [R_386_GOT32X, i386Got32],
  ]),
  gotTypes: new Set([R_386_GOT32, R_386_GOT32X]),
  // Dynamic: R_386_32, PC32, GLOB_DAT (6), JMP_SLOT (7), RELATIVE (8).
  dynamic: new Map([
    [R_386_NONE, { kind: 'none', bits: 32 }], [R_386_32, { kind: 'absolute', bits: 32 }], [R_386_PC32, { kind: 'pc', bits: 32 }],
    [6, { kind: 'symbol', bits: 32 }], [7, { kind: 'symbol', bits: 32 }], [8, { kind: 'relative', bits: 32 }],
  ]),
};

export const X86_64_RELOCS: RelocArch = {
  prefix: 'R_X86_64_',
  names: X86_64_RELOC_NAMES,
  handlers: new Map([
    [R_X86_64_NONE, nothing],
    [R_X86_64_64, x64Abs64],
    [R_X86_64_PC64, x64Pc64],
    [R_X86_64_32, x64Abs32],
    [R_X86_64_32S, x64Abs32],
    [R_X86_64_PC32, x64Pc32],
    [R_X86_64_PLT32, x64Pc32],
    [R_X86_64_GOTPCREL, x64GotPcRel],
    [R_X86_64_GOTPCRELX, x64GotPcRel],
    [R_X86_64_REX_GOTPCRELX, x64GotPcRel],
    [R_X86_64_GOTPC32, x64GotPc32],
    [R_X86_64_GOT32, x64Got32],
    [R_X86_64_GOTOFF64, x64GotOff64],
    [R_X86_64_PLTOFF64, x64GotOff64],
    [R_X86_64_GOTPC64, x64GotPc64],
    [R_X86_64_GOT64, x64Got64],
    [R_X86_64_GOTPCREL64, x64GotPcRel64],
  ]),
  gotTypes: new Set([R_X86_64_GOTPCREL, R_X86_64_GOTPCRELX, R_X86_64_REX_GOTPCRELX, R_X86_64_GOT32, R_X86_64_GOT64, R_X86_64_GOTPCREL64]),
  // Dynamic: R_X86_64_64, PC32, 32, GLOB_DAT (6), JUMP_SLOT (7), RELATIVE (8).
  dynamic: new Map([
    [R_X86_64_NONE, { kind: 'none', bits: 64 }], [R_X86_64_64, { kind: 'absolute', bits: 64 }], [R_X86_64_PC32, { kind: 'pc', bits: 32 }],
    [R_X86_64_32, { kind: 'absolute', bits: 32 }], [6, { kind: 'symbol', bits: 64 }], [7, { kind: 'symbol', bits: 64 }],
    [8, { kind: 'relative', bits: 64 }],
  ]),
};
