// Archives and shared objects as inputs of abiscope's linker: members pulled as ld pulls them,
// resolution order (the user's definitions, then the runtime), and bad input as ElfError.
// Inputs: the user library (tests/fixtures/obj/<dir>/user, built with default flags) and the
// ELF samples of tests/elf-samples.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readArchive, isArchive } from '../emu/elf-archive.ts';
import { ElfError, linkElf } from '../emu/elf.ts';
import { readSharedObject, linkShared } from '../emu/elf-shared.ts';
import { Sandbox } from '../index.ts';
import { FIXTURES } from '../sandbox/fixtures.ts';

const USER = (dir: string, f: string): Uint8Array => new Uint8Array(readFileSync(join(FIXTURES, 'obj', dir, 'user', f)));
const SAMPLE = (dir: string, f: string): Uint8Array => new Uint8Array(readFileSync(join(FIXTURES, '..', 'elf-samples', dir, f)));

/** A GNU archive of `members` (name, bytes), with a symbol index of `index` (symbol, member number), as ar writes it. */
function archive(members: [string, Uint8Array][], index: [string, number][] = []): Uint8Array {
  const header = (name: string, size: number): string =>
    `${name.padEnd(16)}${'0'.padEnd(12)}${'0'.padEnd(6)}${'0'.padEnd(6)}${'644'.padEnd(8)}${String(size).padEnd(10)}\`\n`;
  const pad = (b: Uint8Array): Uint8Array => (b.length % 2 ? Uint8Array.from([...b, 0x0a]) : b);
  const symtab = (offsets: number[]): Uint8Array => {
    const names = Buffer.from(index.map(([n]) => `${n}\0`).join(''), 'latin1');
    const out = new Uint8Array(4 + 4 * index.length + names.length);
    const dv = new DataView(out.buffer);
    dv.setUint32(0, index.length, false);
    index.forEach(([, m], i) => dv.setUint32(4 + 4 * i, offsets[m], false));
    out.set(names, 4 + 4 * index.length);
    return out;
  };
  const indexSize = index.length ? 60 + pad(symtab(members.map(() => 0))).length : 0;
  const offsets: number[] = [];
  let at = 8 + indexSize;
  for (const [, b] of members) {
    offsets.push(at);
    at += 60 + pad(b).length;
  }
  const parts: Uint8Array[] = [Buffer.from('!<arch>\n', 'latin1')];
  if (index.length) {
    const st = symtab(offsets);
    parts.push(Buffer.from(header('/', st.length), 'latin1'), pad(st));
  }
  for (const [name, b] of members) parts.push(Buffer.from(header(`${name}/`, b.length), 'latin1'), pad(b));
  return Buffer.concat(parts);
}

describe('archives', () => {
  it('reads the members and the symbol index that ar wrote', () => {
    const a = readArchive(USER('x86_64', 'libmylib.a'), 'libmylib.a');
    expect(a.members.map((m) => m.name)).toEqual(['mylib.o']);
    expect(a.indexed).toBe(true);
    expect(a.index.get('greet')?.[0].name).toBe('mylib.o');
    expect(a.members[0].bytes).toEqual(USER('x86_64', 'mylib.o'));
  });

  it('pulls only the members something needs, repeating until nothing new is needed', () => {
    // a.o needs b_func (b.o) and counter (data.o, which needs nothing more); last.o stays out.
    const lib = archive(['last.o', 'data.o', 'b.o'].map((f) => [f, SAMPLE('x86_64', f)]), [['last_byte', 0], ['counter', 1], ['get_counter', 1], ['b_func', 2]]);
    const img = linkElf([{ bytes: SAMPLE('x86_64', 'a.o'), file: 'a.o' }, { bytes: lib, file: 'lib.a' }], { base: 0x10000 });
    expect(img.members.map((m) => `${m.member} for ${m.symbol}`).sort()).toEqual(['b.o for b_func', 'data.o for counter']);
    expect(img.symbols.has('last_byte')).toBe(false);
    expect(img.symbols.get('b_func')?.defined).toBe(true);
  });

  it('indexes an archive without a symbol index itself', () => {
    const lib = archive([['b.o', SAMPLE('x86_64', 'b.o')]]);
    expect(readArchive(lib).indexed).toBe(false);
    const img = linkElf([{ bytes: SAMPLE('x86_64', 'a.o'), file: 'a.o' }, { bytes: lib, file: 'lib.a' }], { base: 0x10000, resolve: (n) => (n === 'counter' ? 0x9000 : undefined) });
    expect(img.members.map((m) => m.member)).toEqual(['b.o']);
  });

  it('a user definition wins over the runtime library, and two user definitions are an error naming both', () => {
    // The same member as a "library" and as a user object: the user's copy must be the one linked.
    const lib = archive([['b.o', SAMPLE('x86_64', 'b.o')]], [['b_func', 0]]);
    const img = linkElf([{ bytes: SAMPLE('x86_64', 'a.o'), file: 'a.o' }, { bytes: SAMPLE('x86_64', 'b.o'), file: 'mine.o' }], { base: 0x10000, libraries: [{ bytes: lib, file: 'runtime.a' }], resolve: (n) => (n === 'counter' ? 0x9000 : undefined) });
    expect(img.members).toEqual([]);
    expect(img.sections.find((s) => s.name === '.text' && s.file === 'mine.o')).toBeDefined();
    expect(() => linkElf([{ bytes: SAMPLE('x86_64', 'b.o'), file: 'one.o' }, { bytes: SAMPLE('x86_64', 'b.o'), file: 'two.o' }], { base: 0x10000 }))
      .toThrow(/multiple definitions of `b_func` \(one\.o and two\.o\)/);
  });

  it('bad archives are ElfErrors naming the archive, the member or the index entry', () => {
    const good = USER('i386', 'libmylib.a');
    const e = (bytes: Uint8Array) => {
      try {
        readArchive(bytes, 'bad.a');
      } catch (err) {
        expect(err).toBeInstanceOf(ElfError);
        return (err as Error).message;
      }
      return 'no error';
    };
    expect(e(good.subarray(0, 100))).toMatch(/^bad\.a: member .* extends beyond the end of the archive/);
    expect(e(Uint8Array.from([...Buffer.from('!<thin>\n')]))).toMatch(/thin archives/);
    const corrupt = good.slice();
    corrupt[8 + 60 + 4 + 3] ^= 0x40; // the first symbol's member offset in the index
    expect(e(corrupt)).toMatch(/symbol index: `.*` points to offset 0x[0-9a-f]+, where no member starts/);
    const notElf = archive([['notes.txt', Buffer.from('hello, not an object\n')]], [['greet', 0]]);
    expect(() => linkElf([{ bytes: notElf, file: 'notes.a' }], { base: 0x10000, roots: ['greet'], machine: 'x86' }))
      .toThrow(/archive member pulled in for `greet`: notes\.a\(notes\.txt\): not an ELF file/);
  });

  it('fuzz: any mutation of an archive is a result or an ElfError', () => {
    const good = USER('armel', 'libmylib.a');
    fc.assert(fc.property(fc.array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }), (edits) => {
      const b = good.slice();
      for (const [at, v] of edits) b[at] = v;
      try {
        const a = readArchive(b);
        linkElf([{ bytes: b, file: 'm.a' }], { base: 0x100000, roots: ['greet', 'shout'], machine: 'arm', fallback: () => 0x2000 });
        expect(isArchive(b)).toBe(true);
        expect(a.members.length).toBeGreaterThanOrEqual(0);
      } catch (e) {
        if (!(e instanceof ElfError)) throw e;
      }
    }), { numRuns: 400, seed: 10 });
  });
});

describe('shared objects', () => {
  it('lists its imports with the glibc versions it was linked against, and DT_NEEDED', () => {
    const so = readSharedObject(USER('i386', 'libmylib.so'), 'libmylib.so');
    expect(so.needed).toEqual(['libc.so.6']);
    const strlen = so.imports.find((i) => i.name === 'strlen')!;
    expect(strlen).toMatchObject({ weak: false, version: { file: 'libc.so.6', name: expect.stringMatching(/^GLIBC_2\./) } });
    expect(so.imports.find((i) => i.name === '__cxa_finalize')?.weak).toBe(true);
  });

  it('refuses a DT_NEEDED library that is not loaded and not glibc, naming it', () => {
    const so = readSharedObject(USER('x86_64', 'libmylib.so'), 'libmylib.so');
    so.needed.push('libfoo.so.1');
    expect(() => linkShared(so, { base: 0x100000, resolve: () => 0x2000, loaded: new Set() }))
      .toThrow(/libmylib\.so: needs libfoo\.so\.1 \(DT_NEEDED\), which is not loaded/);
    expect(() => linkShared(so, { base: 0x100000, resolve: () => 0x2000, loaded: new Set(['libfoo.so.1']) })).not.toThrow();
  });

  it('a dynamic relocation it does not know is an ElfError naming it', () => {
    const so = readSharedObject(USER('x86_64', 'libmylib.so'), 'libmylib.so');
    so.dyn.relocations[0].type = 37; // R_X86_64_IRELATIVE
    expect(() => linkShared(so, { base: 0x100000, resolve: () => 0x2000, loaded: new Set() }))
      .toThrow(/unsupported dynamic relocations: R_X86_64_IRELATIVE \(GNU indirect function, IFUNC\)/);
  });

  it('an import nothing defines is listed with its version', () => {
    const so = readSharedObject(USER('armhf', 'libmylib.so'), 'libmylib.so');
    expect(() => linkShared(so, { base: 0x100000, resolve: (n) => (n === 'printf' ? undefined : 0x2000), loaded: new Set() }))
      .toThrow(/undefined symbols: printf@GLIBC_2\.\d+ \(libc\.so\.6\)/);
  });

  it('fuzz: any mutation of a shared object loads or is an ElfError, and the sandbox keeps working', async () => {
    const good = USER('ppc32', 'libmylib.so');
    const sb = await Sandbox.open('ppc32-sysv');
    try {
      fc.assert(fc.property(fc.array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), (edits) => {
        const b = good.slice();
        for (const [at, v] of edits) b[at] = v;
        try {
          readSharedObject(b, 'm.so');
        } catch (e) {
          if (!(e instanceof ElfError)) throw e;
        }
      }), { numRuns: 300, seed: 11 });
      sb.load(good);
      expect(Number(sb.func('size_t name_length(const char *)')('four'))).toBe(4);
    } finally {
      sb.close();
    }
  });
});
