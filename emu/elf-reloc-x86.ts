// i386 (System V i386 psABI, REL: addends are stored at the place) and x86-64 (x86-64 psABI,
// RELA). Only the types GCC emits for non-PIC code; GOT/PLT/TLS types are rejected by the linker.

import { checkRange, type RelocArch, type RelocSite } from './elf-reloc.ts';
import { I386_RELOC_NAMES, X86_64_RELOC_NAMES } from './elf-reloc-names.ts';

const R_386_NONE = 0;
const R_386_32 = 1;
const R_386_PC32 = 2;
const R_386_PLT32 = 4; // without a PLT (static link) this is PC32

const R_X86_64_NONE = 0;
const R_X86_64_64 = 1;
const R_X86_64_PC32 = 2;
const R_X86_64_PLT32 = 4;
const R_X86_64_32 = 10;
const R_X86_64_32S = 11;
const R_X86_64_PC64 = 24;

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

const nothing = (): void => {};

export const I386_RELOCS: RelocArch = {
  prefix: 'R_386_',
  names: I386_RELOC_NAMES,
  handlers: new Map([
    [R_386_NONE, nothing],
    [R_386_32, i386Abs32],
    [R_386_PC32, i386Pc32],
    [R_386_PLT32, i386Pc32],
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
  ]),
};
