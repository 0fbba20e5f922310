// Tests for emu/elf.ts. Inputs are prebuilt by tests/elf-samples/build.sh (committed, so no
// compiler is needed here). Three kinds of checks:
//  - GNU ld as the oracle: each sample set was also linked by ld with src/link.ld, which lays
//    sections out exactly like linkElf, so every loaded section must be byte-identical;
//  - independent decoding: every branch relocation site is decoded with the ISA rules written
//    out below and must land on its symbol, in the right ARM/Thumb state; pointer tables in
//    .data must hold the addresses of their symbols;
//  - errors: unresolved symbols, unsupported types, overflow, interworking, corrupt files (fuzz).

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ElfError, linkElf, parseElf, type ElfMachine, type LinkedImage } from '../emu/elf.ts';
import { readElf, readRelocations, SHT_REL, SHT_RELA, STB_LOCAL } from '../emu/elf-read.ts';

const SAMPLES = join(dirname(fileURLToPath(import.meta.url)), 'elf-samples');
const BASE = 0x10000; // = the ". = 0x10000" of src/link.ld
/** Values given to ld with --defsym for relocs.o (keep in sync with build.sh). */
const EXTERNALS: Record<string, number> = { ext_fn: 0x14000, ext_obj: 0x15010, small_abs: 0x1234 };
/** The C sample program, in the order prog.elf was linked. */
const PROG = ['a.o', 'b.o', 'data.o', 'last.o'];

interface Target { dir: string; machine: ElfMachine; class: 32 | 64; endian: 'little' | 'big' }
const TARGETS: Target[] = [
  { dir: 'i386', machine: 'x86', class: 32, endian: 'little' },
  { dir: 'x86_64', machine: 'x86_64', class: 64, endian: 'little' },
  { dir: 'armhf', machine: 'arm', class: 32, endian: 'little' }, // Thumb-2 code
  { dir: 'armel', machine: 'arm', class: 32, endian: 'little' }, // ARM code
  { dir: 'ppc', machine: 'ppc32', class: 32, endian: 'big' },
  { dir: 'aarch64', machine: 'aarch64', class: 64, endian: 'little' },
];

function sample(dir: string, name: string): { bytes: Uint8Array; file: string } {
  return { bytes: new Uint8Array(readFileSync(join(SAMPLES, dir, name))), file: name };
}
function link(dir: string, names: string[], resolve: (n: string) => number | undefined = (n) => EXTERNALS[n]): LinkedImage {
  return linkElf(names.map((n) => sample(dir, n)), { base: BASE, resolve });
}
function linkError(fn: () => unknown): ElfError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ElfError);
    return e as ElfError;
  }
  throw new Error('expected an ElfError');
}

// --- reading the linked image ------------------------------------------------------------

function view(img: LinkedImage, addr: number, size: number): DataView {
  const seg = img.segments.find((s) => addr >= s.address && addr + size <= s.address + s.bytes.length);
  if (!seg) throw new Error(`address 0x${addr.toString(16)} is not loaded`);
  return new DataView(seg.bytes.buffer, seg.bytes.byteOffset + (addr - seg.address), size);
}
const le = (img: LinkedImage): boolean => img.endian === 'little';
const u16 = (img: LinkedImage, a: number): number => view(img, a, 2).getUint16(0, le(img));
const u32 = (img: LinkedImage, a: number): number => view(img, a, 4).getUint32(0, le(img));
const s32 = (img: LinkedImage, a: number): number => view(img, a, 4).getInt32(0, le(img));
const ptr = (img: LinkedImage, a: number): number =>
  img.class === 64 ? Number(view(img, a, 8).getBigUint64(0, le(img))) : u32(img, a);
const sym = (img: LinkedImage, name: string): number => {
  const s = img.symbols.get(name);
  if (!s) throw new Error(`no symbol ${name}`);
  return s.address;
};
const sext = (v: number, bits: number): number => (v << (32 - bits)) >> (32 - bits);

// --- branch decoding, straight from the ISA manuals ------------------------------------------

interface Branch { target: number; thumb?: boolean }

/** Decodes the branch whose relocated field is at P (ARM/Thumb: `state` says which encoding). */
function decodeBranch(img: LinkedImage, P: number, state: 'arm' | 'thumb' | undefined): Branch {
  switch (img.machine) {
    case 'x86':
    case 'x86_64': { // E8/E9 rel32: the field is the last 4 bytes of the instruction
      expect([0xe8, 0xe9]).toContain(view(img, P - 1, 1).getUint8(0));
      return { target: P + 4 + s32(img, P) };
    }
    case 'arm': {
      if (state === 'arm') {
        const insn = u32(img, P);
        const imm = sext(insn & 0xffffff, 24) * 4;
        if (insn >>> 28 === 0xf) return { target: P + 8 + imm + ((insn >>> 24) & 1) * 2, thumb: true }; // BLX
        return { target: P + 8 + imm, thumb: false }; // B, BL
      }
      const hi = u16(img, P), lo = u16(img, P + 2);
      const S = (hi >> 10) & 1, J1 = (lo >> 13) & 1, J2 = (lo >> 11) & 1;
      if ((lo & 0x5000) === 0) { // B<c>.W (T3): S:J2:J1:imm6:imm11:0
        return { target: P + 4 + sext((S << 20) | (J2 << 19) | (J1 << 18) | ((hi & 0x3f) << 12) | ((lo & 0x7ff) << 1), 21), thumb: true };
      }
      const I1 = 1 - (J1 ^ S), I2 = 1 - (J2 ^ S);
      const imm = sext((S << 24) | (I1 << 23) | (I2 << 22) | ((hi & 0x3ff) << 12) | ((lo & 0x7ff) << 1), 25);
      if ((lo & 0x5000) === 0x4000) return { target: ((P + 4) & ~3) + imm, thumb: false }; // BLX
      return { target: P + 4 + imm, thumb: true }; // BL, B.W
    }
    case 'ppc32': {
      const insn = u32(img, P);
      if (insn >>> 26 === 18) return { target: P + sext(insn & 0x03fffffc, 26) }; // b, bl
      expect(insn >>> 26).toBe(16); // bc
      return { target: P + sext(insn & 0xfffc, 16) };
    }
    case 'aarch64': {
      const insn = u32(img, P);
      if ((insn & 0x7c000000) === 0x14000000) return { target: P + sext(insn & 0x3ffffff, 26) * 4 }; // B, BL
      if ((insn & 0xff000010) === 0x54000000 || (insn & 0x7e000000) === 0x34000000) { // B.cond, CBZ/CBNZ
        return { target: P + sext((insn >> 5) & 0x7ffff, 19) * 4 };
      }
      expect(insn & 0x7e000000).toBe(0x36000000); // TBZ/TBNZ
      return { target: P + sext((insn >> 5) & 0x3fff, 14) * 4 };
    }
  }
}

const BRANCH_TYPES: Record<ElfMachine, Record<number, 'arm' | 'thumb' | undefined>> = {
  x86: { 2: undefined, 4: undefined }, // PC32 (only call/jmp sites are decoded), PLT32
  x86_64: { 4: undefined }, // PLT32
  arm: { 28: 'arm', 29: 'arm', 10: 'thumb', 30: 'thumb', 51: 'thumb' }, // CALL JUMP24 THM_CALL THM_JUMP24 THM_JUMP19
  ppc32: { 10: undefined, 11: undefined, 12: undefined, 13: undefined, 18: undefined }, // REL24 REL14[_BR[N]TAKEN] PLTREL24
  aarch64: { 282: undefined, 283: undefined, 280: undefined, 279: undefined }, // JUMP26 CALL26 CONDBR19 TSTBR14
};

/**
 * Every branch relocation of the linked objects, decoded from the image: the target must be the
 * symbol's address (Thumb bit cleared) and, on ARM, the instruction must run the target's state.
 */
function checkAllBranches(img: LinkedImage, dir: string, names: string[], resolve: (n: string) => number | undefined): number {
  let checked = 0;
  for (const name of names) {
    const elf = readElf(sample(dir, name).bytes, name);
    const placed = (index: number): number | undefined =>
      img.sections.find((s) => s.file === name && s.name === elf.sections[index].name)?.address;
    for (const rel of elf.sections.filter((s) => s.type === SHT_REL || s.type === SHT_RELA)) {
      const secAddr = placed(rel.info);
      if (secAddr === undefined) continue;
      for (const r of readRelocations(elf, rel)) {
        if (!(r.type in BRANCH_TYPES[img.machine])) continue;
        const P = secAddr + r.offset;
        if (img.machine === 'x86' && ![0xe8, 0xe9].includes(view(img, P - 1, 1).getUint8(0))) continue; // data PC32
        const s = elf.symbols[r.sym];
        const S = s.bind === STB_LOCAL ? placed(s.shndx)! + s.value : img.symbols.get(s.name)?.address ?? resolve(s.name) ?? 0;
        const targetThumb = img.machine === 'arm' && (S & 1) === 1;
        // RELA addends of x86 calls are -4 (the field ends 4 bytes before the next instruction);
        // the addend of R_PPC_PLTREL24 is a .got2 offset for the PLT stub, not part of the target.
        const addend = img.machine === 'ppc32' && r.type === 18 ? 0 : r.addend ?? 0;
        const expected = (S & ~(targetThumb ? 1 : 0)) + addend + (img.machine === 'x86_64' ? 4 : 0);
        const b = decodeBranch(img, P, BRANCH_TYPES[img.machine][r.type]);
        expect(b.target, `${name} ${s.name} at 0x${P.toString(16)}`).toBe(expected);
        if (img.machine === 'arm' && (s.type === 2 || s.bind !== STB_LOCAL)) expect(b.thumb).toBe(targetThumb);
        checked++;
      }
    }
  }
  return checked;
}

// --- parseElf ----------------------------------------------------------------------------

describe('parseElf', () => {
  it.each(TARGETS)('reads the header, sections and symbols of $dir objects', ({ dir, machine, class: cls, endian }) => {
    const a = parseElf(sample(dir, 'a.o').bytes, 'a.o');
    expect(a).toMatchObject({ file: 'a.o', class: cls, endian, machine, type: 'rel', entry: 0 });
    expect(a.sections[0]).toMatchObject({ name: '', type: 0 });
    const text = a.sections.find((s) => s.name === '.text')!;
    expect(text).toMatchObject({ type: 1, flags: 0x6 }); // PROGBITS, ALLOC|EXECINSTR
    const aFunc = a.symbols.find((s) => s.name === 'a_func')!;
    expect(aFunc).toMatchObject({ kind: 'func', binding: 'global', defined: true, section: '.text' });
    expect(a.symbols.find((s) => s.name === 'b_func')).toMatchObject({ kind: 'notype', binding: 'global', defined: false });
    expect(a.symbols.find((s) => s.name === 'b_func')!.section).toBeUndefined();
    expect(a.symbols.find((s) => s.kind === 'file')?.name).toBe('a.c');

    const data = parseElf(sample(dir, 'data.o').bytes, 'data.o');
    // STT_SECTION symbols (used by relocations against local data) get their section's name.
    expect(data.symbols.find((s) => s.kind === 'section' && s.name === '.bss')).toMatchObject({ binding: 'local', section: '.bss' });
    const counter = data.symbols.find((s) => s.name === 'counter')!;
    expect(counter).toMatchObject({ kind: 'common', binding: 'global', defined: true, size: 4, address: 4 }); // st_value = alignment
    expect(data.symbols.find((s) => s.name === 'local_bss')).toMatchObject({ binding: 'local', kind: 'object', size: 32 });
  });

  it('reports Thumb functions with bit 0 set', () => {
    const thumb = parseElf(sample('armhf', 'thumb.o').bytes).symbols.find((s) => s.name === 'thumb_func')!;
    expect(thumb.thumb).toBe(true);
    expect(thumb.address & 1).toBe(1);
    const arm = parseElf(sample('armhf', 'armfn.o').bytes).symbols.find((s) => s.name === 'arm_func')!;
    expect(arm.thumb).toBe(false);
    expect(arm.address & 1).toBe(0);
  });

  it.each(TARGETS)('reads the $dir executable: entry point, addresses', ({ dir, machine }) => {
    const exe = parseElf(sample(dir, 'prog.elf').bytes);
    expect(exe.type).toBe('exec');
    expect(exe.machine).toBe(machine);
    expect(exe.sections.find((s) => s.name === '.text')!.addr).toBe(BASE);
    const start = exe.symbols.find((s) => s.name === '_start')!;
    expect(start.address).toBe(exe.entry);
    expect(start.thumb).toBe(dir === 'armhf');
  });
});

// --- executables ---------------------------------------------------------------------------

describe('linkElf: static executables', () => {
  it.each(TARGETS)('loads $dir prog.elf at its PT_LOAD addresses', ({ dir }) => {
    const { bytes } = sample(dir, 'prog.elf');
    const exe = parseElf(bytes);
    const img = linkElf([{ bytes, file: 'prog.elf' }], { base: 0x400000 });
    for (const sec of exe.sections.filter((s) => s.flags & 2 && s.size > 0)) { // SHF_ALLOC
      const got = new Uint8Array(view(img, sec.addr, sec.size).buffer, view(img, sec.addr, sec.size).byteOffset, sec.size);
      const want = sec.type === 8 ? new Uint8Array(sec.size) : bytes.subarray(sec.offset, sec.offset + sec.size); // NOBITS: zero
      expect(got, sec.name).toEqual(want);
    }
    const permsOf = (a: number): string => img.segments.find((s) => a >= s.address && a < s.address + s.bytes.length)!.perms;
    expect(permsOf(exe.sections.find((s) => s.name === '.text')!.addr)).toBe('rx');
    expect(permsOf(exe.sections.find((s) => s.name === '.bss')!.addr)).toBe('rw');
    expect(sym(img, '_start')).toBe(exe.entry);
    expect(sym(img, 'counter')).toBe(exe.symbols.find((s) => s.name === 'counter')!.address);
    expect(img.end % 0x1000).toBe(0);
    expect(img.end).toBeGreaterThanOrEqual(Math.max(...img.segments.map((s) => s.address + s.bytes.length)));
  });
});

// --- relocatable objects: against GNU ld ------------------------------------------------

const LD_CASES: [string, string[], string][] = [
  ...TARGETS.flatMap(({ dir }): [string, string[], string][] => [
    [dir, PROG, 'prog.elf'],
    [dir, ['relocs.o'], 'relocs.elf'],
  ]),
  ['armhf', ['thumb.o', 'armfn.o'], 'interwork.elf'],
];

describe('linkElf: relocatable objects, compared with GNU ld', () => {
  it.each(LD_CASES)('%s: %j matches %s', (dir, objects, exe) => {
    const img = link(dir, objects);
    const ref = linkElf([sample(dir, exe)], { base: 0x400000 });
    expect(img.sections.length).toBeGreaterThan(0);
    for (const s of img.sections) {
      if (s.size === 0) continue;
      const mine = view(img, s.address, s.size), theirs = view(ref, s.address, s.size);
      expect(new Uint8Array(mine.buffer, mine.byteOffset, s.size), `${s.file} ${s.name}`)
        .toEqual(new Uint8Array(theirs.buffer, theirs.byteOffset, s.size));
    }
    for (const [name, s] of img.symbols) expect(s.address, name).toBe(sym(ref, name));
    expect(img.segments.map((s) => s.perms)).toEqual(['rx', ...(img.segments.length === 3 ? ['r'] : []), 'rw']);
  });
});

// --- relocatable objects: decoded -------------------------------------------------------

describe('linkElf: relocated code and data, decoded', () => {
  it.each(LD_CASES)('%s: %j: every branch reaches its symbol', (dir, objects) => {
    const resolve = (n: string): number | undefined => EXTERNALS[n];
    const img = link(dir, objects, resolve);
    expect(checkAllBranches(img, dir, objects, resolve)).toBeGreaterThan(0);
  });

  it.each(TARGETS)('$dir: pointer tables, COMMON and section-relative pointers', ({ dir }) => {
    const img = link(dir, PROG);
    const w = img.class / 8;
    expect(img.segments[0]).toMatchObject({ address: BASE, perms: 'rx' });
    expect(ptr(img, sym(img, 'fptrs'))).toBe(sym(img, 'b_func'));
    expect(ptr(img, sym(img, 'fptrs') + w)).toBe(sym(img, 'a_func'));
    expect(ptr(img, sym(img, 'ops'))).toBe(sym(img, 'a_func'));
    expect(ptr(img, sym(img, 'ops') + w)).toBe(sym(img, 'b_func'));
    expect(ptr(img, sym(img, 'elem'))).toBe(sym(img, 'table_data') + 8); // addend
    expect(u32(img, sym(img, 'table_data') + 8)).toBe(3);
    // COMMON: allocated after .bss in the rw segment, aligned, zero, and pointed to.
    const counter = img.symbols.get('counter')!;
    expect(counter).toMatchObject({ kind: 'object', defined: true, section: '.bss' });
    expect(counter.address % 4).toBe(0);
    expect(img.segments.find((s) => s.perms === 'rw' && counter.address >= s.address && counter.address < s.address + s.bytes.length)).toBeDefined();
    expect(u32(img, counter.address)).toBe(0);
    expect(ptr(img, sym(img, 'pcounter'))).toBe(counter.address);
    // A pointer into a local static array, relocated against the .bss section symbol.
    const localBss = parseElf(sample(dir, 'data.o').bytes).symbols.find((s) => s.name === 'local_bss')!;
    const bss = img.sections.find((s) => s.file === 'data.o' && s.name === localBss.section)!;
    expect(ptr(img, sym(img, 'plocal'))).toBe(bss.address + localBss.address + 4);
    // A pointer into .rodata.str: the string must be there.
    const str = ptr(img, sym(img, 'greeting'));
    expect(new TextDecoder().decode(new Uint8Array(view(img, str, 6).buffer, view(img, str, 6).byteOffset, 5))).toBe('hello');
  });

  it('ARM/Thumb interworking: BL becomes BLX both ways, pointers keep the Thumb bit', () => {
    const img = link('armhf', ['thumb.o', 'armfn.o']);
    const thumbFunc = img.symbols.get('thumb_func')!;
    expect(thumbFunc.thumb).toBe(true);
    expect(thumbFunc.address & 1).toBe(1);
    expect(img.symbols.get('arm_func')!.thumb).toBe(false);
    expect(ptr(img, sym(img, 'thumb_ptr'))).toBe(thumbFunc.address);
    // ARM code calling Thumb: a BLX (cond field 0xF) somewhere in arm_calls_thumb.
    const armCaller = sym(img, 'arm_calls_thumb');
    const blx = [0, 4, 8, 12, 16].map((o) => armCaller + o).find((a) => u32(img, a) >>> 28 === 0xf)!;
    expect(decodeBranch(img, blx, 'arm')).toEqual({ target: thumbFunc.address - 1, thumb: true });
    // Thumb code calling ARM: a BLX (second halfword 11x0) in thumb_calls_arm.
    const thumbCaller = sym(img, 'thumb_calls_arm') - 1;
    const site = [0, 2, 4, 6, 8].map((o) => thumbCaller + o).find((a) => (u16(img, a) & 0xf800) === 0xf000 && (u16(img, a + 2) & 0xd000) === 0xc000)!;
    expect(decodeBranch(img, site, 'thumb')).toEqual({ target: sym(img, 'arm_func'), thumb: false });
  });

  it.each([
    ['forward', 0x10000, { far_thumb: 0x50001, far_call: 0x810001, far_arm: 0x400000 }],
    ['backward', 0x1000000, { far_thumb: 0xf80001, far_call: 0x800001, far_arm: 0xc00000 }],
  ] as const)('long ARM/Thumb branches (%s): every field bit lands where the ISA puts it', (_, base, far) => {
    const resolve = (n: string): number | undefined => (far as Record<string, number>)[n];
    const img = linkElf([sample('armhf', 'far.o')], { base, resolve });
    expect(checkAllBranches(img, 'armhf', ['far.o'], resolve)).toBe(7);
  });

  it('resolves undefined symbols through opts.resolve and chains a second load at `end`', () => {
    const first = link('x86_64', PROG);
    const maybe = sym(first, 'a_func');
    const second = linkElf([sample('x86_64', 'weak.o')], { base: first.end, resolve: (n) => (n === 'maybe' ? maybe : undefined) });
    expect(Math.min(...second.segments.map((s) => s.address))).toBe(first.end);
    expect(ptr(second, sym(second, 'maybe_ptr'))).toBe(maybe);
    expect(checkAllBranches(second, 'x86_64', ['weak.o'], () => maybe)).toBe(1);
  });

  it.each(['x86_64', 'armhf'])('%s: an undefined weak symbol is 0 and branches to it fall through', (dir) => {
    const img = linkElf([sample(dir, 'weak.o')], { base: BASE });
    expect(ptr(img, sym(img, 'maybe_ptr'))).toBe(0);
    if (dir === 'armhf') { // the tail call "b.w maybe" goes to the next instruction
      const callMaybe = sym(img, 'call_maybe') - 1;
      const site = [0, 2, 4, 6, 8, 10, 12].map((o) => callMaybe + o).find((a) => (u16(img, a) & 0xf800) === 0xf000 && (u16(img, a + 2) & 0xd000) === 0x9000)!;
      expect(decodeBranch(img, site, 'thumb').target).toBe(site + 4);
    }
  });
});

// --- position-independent code and interworking veneers ----------------------------------

describe('linkElf: GOT and veneers', () => {
  const EXT_VAR = 0x15010;
  const withExt = (n: string): number | undefined => (n === 'ext_var' ? EXT_VAR : undefined);

  it('i386 -fPIC: the thunk + GOTPC yields the GOT origin, GOT32X reaches an entry holding ext_var', () => {
    const img = linkElf([sample('i386', 'pic.o')], { base: BASE, resolve: withExt });
    const f = sym(img, 'get_ext');
    // call __x86.get_pc_thunk.ax leaves f+5 in eax; add $GOTPC, %eax at f+5 (imm32 at f+6)
    const origin = (f + 5 + s32(img, f + 6)) >>> 0;
    expect(origin).toBe(img.got!.origin);
    // mov disp32(%eax), %eax at f+0xa: disp32 at f+0xc is the entry's offset from the origin
    expect(u32(img, origin + s32(img, f + 0xc))).toBe(EXT_VAR);
    expect(img.got!.entries).toBe(1);
  });

  it('armhf -fPIC: BASE_PREL yields the GOT origin, GOT_BREL an entry holding ext_var', () => {
    const img = linkElf([sample('armhf', 'pic.o')], { base: BASE, resolve: withExt });
    const f = sym(img, 'get_ext') - 1; // Thumb
    // ldr r3, [pc, #8]; add r3, pc (pc reads f+8): r3 = word@f+0xc + f + 8
    const origin = (u32(img, f + 0xc) + f + 8) >>> 0;
    expect(origin).toBe(img.got!.origin);
    expect(u32(img, origin + s32(img, f + 0x10))).toBe(EXT_VAR);
  });

  it('two i386 PIC objects share one copy of the __x86.get_pc_thunk COMDAT group', () => {
    // The same object twice would define get_ext twice: rename it in the copy.
    const bytes = sample('i386', 'pic.o').bytes.slice();
    const at = Buffer.from(bytes).indexOf('get_ext\0');
    bytes.set(new TextEncoder().encode('get_ex2'), at);
    const img = linkElf([sample('i386', 'pic.o'), { bytes, file: 'pic2.o' }], { base: BASE, resolve: withExt });
    expect(img.sections.filter((s) => s.name === '.text.__x86.get_pc_thunk.ax')).toHaveLength(1);
    expect(sym(img, 'get_ex2')).not.toBe(sym(img, 'get_ext'));
  });

  it('ARM B (R_ARM_JUMP24) to a Thumb function goes through an ARM veneer that loads its address into pc', () => {
    const img = link('armhf', ['arm_tail.o', 'thumb.o', 'armfn.o']);
    expect(img.veneers).toBe(1);
    const tail = sym(img, 'arm_tail');
    const site = [0, 4, 8].map((o) => tail + o).find((a) => (u32(img, a) & 0x0f000000) === 0x0a000000)!; // B
    const { target } = decodeBranch(img, site, 'arm');
    expect(u32(img, target)).toBe(0xe51ff004); // ldr pc, [pc, #-4]
    expect(u32(img, target + 4)).toBe(sym(img, 'thumb_func')); // Thumb bit set: the load switches state
  });

  it('Thumb B.W (R_ARM_THM_JUMP24) to an ARM function goes through a Thumb veneer', () => {
    const img = link('armhf', ['thumb_tail.o', 'armfn.o', 'thumb.o']);
    expect(img.veneers).toBe(1);
    const site = sym(img, 'thumb_tail') - 1 + 2; // adds r0, #1; b.w
    const { target, thumb } = decodeBranch(img, site, 'thumb');
    expect(thumb).toBe(true);
    expect(target % 4).toBe(0);
    expect([u16(img, target), u16(img, target + 2)]).toEqual([0xf8df, 0xf000]); // ldr.w pc, [pc, #0]
    expect(u32(img, target + 4)).toBe(sym(img, 'arm_func'));
    expect(sym(img, 'arm_func') & 1).toBe(0);
  });

  it('makes no veneer where BL can become BLX, and none for calls in the same state', () => {
    expect(link('armhf', ['thumb.o', 'armfn.o']).veneers).toBe(0);
    expect(link('armel', PROG).veneers).toBe(0);
  });
});

// --- errors --------------------------------------------------------------------------------

describe('linkElf: errors', () => {
  it('lists every unresolved symbol, with the files that reference it, in one error', () => {
    const e = linkError(() => linkElf([sample('x86_64', 'a.o'), sample('x86_64', 'data.o')], { base: BASE }));
    expect(e.message).toMatch(/undefined symbols/);
    expect(e.message).toMatch(/b_func \(referenced from a\.o, data\.o\)/);
    expect(e.message).not.toMatch(/a_func|counter/); // defined by the inputs
  });

  it('refuses thread-local variables with a message that says so', () => {
    // pic.o with its GOT32X relocation patched to R_386_TLS_GD (18): the link must name TLS, not a number.
    const bytes = sample('i386', 'pic.o').bytes.slice();
    const elf = readElf(bytes);
    const rel = elf.sections.find((x) => x.type === SHT_REL && x.name === '.rel.text')!;
    const got32x = readRelocations(elf, rel).findIndex((r) => r.type === 43);
    bytes[rel.offset + got32x * 8 + 4] = 18;
    const e = linkError(() => linkElf([{ bytes, file: 'pic.o' }], { base: BASE, resolve: (n) => (n === 'ext_var' ? 0x15010 : undefined) }));
    expect(e.message).toMatch(/thread-local storage .* not supported; used by: ext_var \(R_386_TLS_GD in pic\.o\)/);
  });

  it('names every unsupported relocation type with its number, file and section', () => {
    const bytes = sample('x86_64', 'relocs.o').bytes.slice();
    const elf = readElf(bytes);
    const rel = elf.sections.find((x) => x.type === SHT_RELA && x.name === '.rela.text')!;
    bytes[rel.offset + 8] = 0x25; // r_info type of the first relocation: 37 (R_X86_64_IRELATIVE)
    const e = linkError(() => linkElf([{ bytes, file: 'relocs.o' }], { base: BASE, resolve: (n) => EXTERNALS[n] }));
    expect(e.message).toMatch(/unsupported relocation types:\n {2}R_X86_64_IRELATIVE \(37\) in relocs\.o section \.text/);
  });

  it.each([
    ['x86_64', 'R_X86_64_PLT32', 0x7f0000000000],
    ['i386', null, 0xf0000000], // 32-bit address space: wraps, never overflows
    ['aarch64', 'R_AARCH64_CALL26', 0x10000000],
  ] as const)('%s: a call out of branch range names the symbol, type and value', (dir, type, far) => {
    const run = (): LinkedImage => link(dir, ['a.o', 'data.o'], (n) => (n === 'b_func' ? far : undefined));
    if (type === null) {
      const img = run();
      const checked = checkAllBranches(img, dir, ['a.o'], () => far);
      expect(checked).toBeGreaterThan(0);
      return;
    }
    const e = linkError(run);
    expect(e.message).toContain(type);
    expect(e.message).toContain('`b_func`');
    expect(e.message).toMatch(/value -?0x[0-9a-f]+ does not fit/);
  });

  it.each([
    ['armel', 0x4000000, 'arm'], ['armhf', 0x4000001, 'thumb'], ['ppc', 0x4000000, 'ppc'],
  ] as const)('%s: a call beyond the branch reach goes through a veneer that loads the address', (dir, far, from) => {
    const img = link(dir, ['a.o', 'data.o'], (n) => (n === 'b_func' ? far : undefined));
    expect(img.veneers).toBe(1);
    const veneer = img.sections.find((s) => s.name === '.veneers')!;
    const at = veneer.address;
    if (from === 'arm') expect([u32(img, at), u32(img, at + 4)]).toEqual([0xe51ff004, far]); // ldr pc, [pc, #-4]
    else if (from === 'thumb') expect([u16(img, at), u16(img, at + 2), u32(img, at + 4)]).toEqual([0xf8df, 0xf000, far]); // ldr.w pc, [pc, #0]
    else { // lis r12, ha; addi r12, r12, lo; mtctr r12; bctr
      const ha = u32(img, at) & 0xffff, lo = u32(img, at + 4) & 0xffff;
      expect(((ha << 16) + ((lo << 16) >> 16)) >>> 0).toBe(far);
      expect([u32(img, at) >>> 16, u32(img, at + 4) >>> 16, u32(img, at + 8), u32(img, at + 12)]).toEqual([0x3d80, 0x398c, 0x7d8903a6, 0x4e800420]);
    }
    // The call to b_func in a_func now branches to the veneer.
    const elf = readElf(sample(dir, 'a.o').bytes, 'a.o');
    const rel = elf.sections.find((x) => (x.type === SHT_REL || x.type === SHT_RELA) && elf.sections[x.info].name === '.text')!;
    const text = img.sections.find((x) => x.file === 'a.o' && x.name === '.text')!.address;
    const call = readRelocations(elf, rel).find((r) => elf.symbols[r.sym].name === 'b_func')!;
    expect(decodeBranch(img, text + call.offset, dir === 'armhf' ? 'thumb' : dir === 'armel' ? 'arm' : undefined).target).toBe(at);
  });

  it('range-checks R_X86_64_32 when code is placed above 4 GiB', () => {
    const base = 0x100000000; // externals move with the code so that only absolute 32-bit fields overflow
    const e = linkError(() => linkElf([sample('x86_64', 'relocs.o')], { base, resolve: (n) => base + EXTERNALS[n] }));
    expect(e.message).toMatch(/R_X86_64_32 against `\.data` overflows: value 0x10000[0-9a-f]{4} does not fit in 32 bits \(unsigned/);
  });

  it('rejects duplicate definitions, mixed machines, a bad base and shared objects', () => {
    expect(linkError(() => link('x86_64', ['b.o', 'b.o'])).message).toMatch(/multiple definitions of `b_func` \(b\.o and b\.o\)/);
    expect(linkError(() => linkElf([sample('x86_64', 'a.o'), sample('armhf', 'b.o')], { base: BASE })).message)
      .toMatch(/^b\.o: arm ELF32 little-endian cannot be linked with a\.o \(x86_64 ELF64 little-endian\)/);
    expect(linkError(() => linkElf([sample('x86_64', 'b.o')], { base: 0x10010 })).message).toMatch(/base/);
    expect(linkError(() => linkElf([], { base: BASE })).message).toMatch(/no input/);
    const dyn = sample('x86_64', 'prog.elf').bytes.slice();
    dyn[16] = 3; // e_type = ET_DYN
    expect(parseElf(dyn).type).toBe('dyn');
    expect(linkError(() => linkElf([{ bytes: dyn }], { base: BASE })).message).toMatch(/shared object or PIE/);
  });

  it('a weak definition yields to a strong one', () => {
    // weak.o defines nothing weak, so fabricate: the same object twice, with one copy's binding patched to weak.
    const strong = sample('x86_64', 'b.o');
    const weak = strong.bytes.slice();
    const elf = readElf(weak);
    const bFunc = elf.symbols.find((s) => s.name === 'b_func')!;
    const info = elf.symtab!.offset + bFunc.index * 24 + 4; // Elf64_Sym.st_info
    weak[info] = (2 << 4) | (weak[info] & 0xf); // STB_WEAK
    const img = linkElf([{ bytes: weak, file: 'weak-b.o' }, strong, sample('x86_64', 'a.o'), sample('x86_64', 'data.o')], { base: BASE });
    expect(img.symbols.get('b_func')!.binding).toBe('global');
    expect(sym(img, 'b_func')).toBe(img.sections.filter((s) => s.name === '.text')[1].address);
  });
});

// --- corrupt input -----------------------------------------------------------------------

describe('corrupt input: only ElfError, never anything else', () => {
  it('rejects bad magic, unknown machines and truncated headers with clear messages', () => {
    const good = sample('x86_64', 'a.o').bytes;
    expect(linkError(() => parseElf(new Uint8Array([1, 2, 3]))).message).toMatch(/bad magic/);
    const other = good.slice();
    new DataView(other.buffer).setUint16(18, 0x1234, true);
    expect(linkError(() => parseElf(other, 'x.o')).message).toMatch(/^x\.o: unsupported machine 4660 \(0x1234\)/);
    expect(linkError(() => parseElf(good.subarray(0, 40))).message).toMatch(/ELF header/);
    expect(linkError(() => parseElf(good.subarray(0, good.length - 1))).message).toMatch(/section header table/);
    const badName = good.slice();
    const shoff = Number(new DataView(badName.buffer).getBigUint64(40, true));
    new DataView(badName.buffer).setUint32(shoff + 64, 0xffffff, true); // section 1 sh_name
    expect(linkError(() => parseElf(badName)).message).toMatch(/section 1 name: name offset 0xffffff is outside its string table/);
    expect(linkError(() => parseElf('not bytes' as unknown as Uint8Array)).name).toBe('ElfError');
  });

  it('refuses absurd sizes instead of allocating them', () => {
    const obj = sample('x86_64', 'data.o').bytes.slice();
    const elf = readElf(obj);
    const bss = elf.sections.find((s) => s.name === '.bss')!;
    const shoff = Number(new DataView(obj.buffer).getBigUint64(40, true));
    new DataView(obj.buffer).setBigUint64(shoff + bss.index * 64 + 32, 0x7fffffffffn, true); // sh_size
    expect(linkError(() => linkElf([{ bytes: obj }], { base: BASE, resolve: () => 0x20000 })).message).toMatch(/more than 268435456 bytes/);

    const exe = sample('i386', 'prog.elf').bytes.slice();
    const phoff = new DataView(exe.buffer).getUint32(28, true);
    new DataView(exe.buffer).setUint32(phoff + 20, 0xfffff000, true); // p_memsz of the first PT_LOAD
    expect(linkError(() => linkElf([{ bytes: exe }], { base: BASE })).message).toMatch(/PT_LOAD/);
  });

  it.each(TARGETS)('every truncation of $dir objects is an ElfError', ({ dir }) => {
    for (const name of ['data.o', 'relocs.o']) {
      const { bytes } = sample(dir, name);
      for (let n = 0; n < bytes.length; n++) linkError(() => parseElf(bytes.subarray(0, n)));
    }
  });

  // Mutations of real files: truncation, bit flips and 32-bit smashes, biased towards the ELF
  // header and the end of the file, where GNU as puts the section header table.
  // Each corrupt object is also linked with the sound rest of its program.
  const CORPUS = TARGETS.flatMap(({ dir }) => ['a.o', 'data.o', 'relocs.o', 'prog.elf'].map((n) => ({
    bytes: sample(dir, n).bytes, companions: PROG.includes(n) ? PROG.filter((o) => o !== n).map((o) => sample(dir, o)) : [],
  })));
  const position = fc.oneof(fc.nat({ max: 63 }), fc.nat(), fc.integer({ min: -1024, max: -1 }));
  const mutation = fc.record({
    file: fc.nat({ max: CORPUS.length - 1 }),
    cut: fc.option(fc.nat(), { freq: 4 }),
    flips: fc.array(fc.record({ at: position, bit: fc.nat({ max: 7 }) }), { maxLength: 6 }),
    smashes: fc.array(fc.record({ at: position, value: fc.integer() }), { maxLength: 2 }),
  });
  type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;
  function mutate(m: Mutation): Uint8Array {
    const src = CORPUS[m.file].bytes;
    const bytes = src.slice(0, m.cut === null ? src.length : m.cut % (src.length + 1));
    const index = (at: number): number => ((at % bytes.length) + bytes.length) % bytes.length;
    if (bytes.length === 0) return bytes;
    for (const f of m.flips) bytes[index(f.at)] ^= 1 << f.bit;
    for (const s of m.smashes) {
      const i = index(s.at);
      if (i + 4 <= bytes.length) new DataView(bytes.buffer).setInt32(i, s.value, true);
    }
    return bytes;
  }

  it('fuzz: parseElf and linkElf on mutated files', () => {
    let linked = 0;
    fc.assert(fc.property(mutation, (m) => {
      const bytes = mutate(m);
      const attempts = [
        () => parseElf(bytes, 'fuzz'),
        () => linkElf([{ bytes, file: 'fuzz' }], { base: BASE, resolve: () => 0x20000 }),
        () => linkElf([{ bytes, file: 'fuzz' }], { base: BASE }),
        () => linkElf([{ bytes, file: 'fuzz' }, ...CORPUS[m.file].companions], { base: BASE }),
      ];
      for (const attempt of attempts) {
        try {
          attempt();
          linked++;
        } catch (e) {
          if (!(e instanceof ElfError)) throw e;
        }
      }
    }), { seed: 20240611, numRuns: 6000 });
    expect(linked).toBeGreaterThan(0); // some mutations are harmless: the property ran on real links
  });
});
