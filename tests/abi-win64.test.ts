// Windows x64 calling convention (x86_64-win64). The explicit cases encode the rules of
// Microsoft's "x64 calling convention" document and what x86_64-w64-mingw32-gcc 12 emits
// (-O2 -S; the instructions that decided a case are quoted next to it). The Sandbox cases
// run GCC's own COFF objects (tests/fixtures/obj/win64) in the emulator.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { AbiscopeError } from '../errors.ts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { x86_64Win64 } from '../abis/x86_64-win64/convention.ts';
import { planArrangement } from '../abis/plan.ts';
import { DATA_MODELS } from '../layout/datamodel.ts';
import { encodeWide } from '../layout/values.ts';
import { Sandbox } from '../sandbox/sandbox.ts';
import { FIXTURES, fixtureObjects, fixtureTypes } from '../sandbox/fixtures.ts';
import { ElfError, linkElf } from '../emu/elf.ts';
import { arrange, places, where } from './abi-helpers.ts';

const cc = x86_64Win64;
const PASSING = 'Microsoft x64 calling convention, Parameter passing';

describe('x86_64-win64: arrangement', () => {
  it('four slots shared by position: the second argument takes rdx or xmm1, never both kinds in order', () => {
    const a = arrange(cc, 'void f(int a, double b, int c, float d, int e, double g)');
    // Not SysV's "next free register of the class": d is in xmm3 because it is argument 4.
    expect(places(a)).toEqual([['rcx'], ['xmm1'], ['r8'], ['xmm3'], ['sp+32'], ['sp+40']]);
    for (const arg of a.args) expect(arg.rule).toContain(PASSING);
  });

  it('shadow space: 32 bytes always reserved, the fifth argument above it at [rsp+32]', () => {
    expect(arrange(cc, 'void f(void)').stackBytes).toBe(32);
    expect(arrange(cc, 'void f(int a)').stackBytes).toBe(32);
    const five = arrange(cc, 'void f(int a, int b, int c, int d, char e)');
    expect(where(five.args[4])).toEqual(['sp+32']);
    expect(five.args[4].rule).toMatch(/32-byte shadow space/);
    expect(five.stackBytes).toBe(48); // 40 rounded up to the 16-byte alignment
    expect(five.stackAlign).toBe(16);
  });

  it('a 3-byte struct goes by reference: a caller copy in region 1, its address in rcx', () => {
    const a = arrange(cc, 'struct S3 { char a, b, c; }; int f(struct S3 s, int i)');
    expect(a.args[0].passing).toBe('reference');
    expect(where(a.args[0])).toEqual(['rcx']);
    expect(a.args[0].rule).toContain(PASSING);
    expect(a.args[0].rule).toMatch(/3 bytes \(not 1, 2, 4 or 8\) is passed by reference/);
    expect(where(a.args[1])).toEqual(['rdx']);
    const plan = planArrangement(cc, a);
    const copy = plan.ops.find((o) => o.op === 'copy');
    expect(copy).toMatchObject({ arg: 0, size: 3 });
    const address = plan.ops.find((o) => o.op === 'address');
    expect(address).toMatchObject({ of: copy?.op === 'copy' ? copy.to : -1 });
  });

  it('structs of 1, 2, 4 and 8 bytes travel as integers, even of floats (mingw: movq %xmm2, %rax)', () => {
    const a = arrange(cc, 'struct F2 { float x, y; }; struct C2 { char a, b; }; struct F2 f(struct F2 p, struct C2 q)');
    expect(places(a)).toEqual([['rcx'], ['rdx']]);
    expect(a.args.map((x) => x.passing)).toEqual(['value', 'value']);
    expect(a.result.kind === 'registers' && where(a.result)).toEqual(['rax']);
    const big = arrange(cc, 'struct D2 { double a, b; }; void f(struct D2 p)');
    expect(big.args[0].passing).toBe('reference');
  });

  it('a variadic double is in both xmm1 and rdx (Varargs), a fixed one in xmm1 only', () => {
    const v = arrange(cc, 'int f(int n, ...)', ['double', 'float']);
    expect(places(v)).toEqual([['rcx'], ['xmm1', 'rdx'], ['xmm2', 'r8']]);
    expect(v.args[1].rule).toMatch(/Varargs: a variadic floating value is also copied to rdx/);
    expect(v.args[2].rule).toMatch(/promotion float -> double/);
    expect(v.special).toEqual([]); // no al
    const plan = planArrangement(cc, v);
    const moves = plan.ops.filter((o) => o.op === 'move' && o.arg === 1);
    expect(moves).toHaveLength(2); // the one value, written to both registers' image slots
    expect(plan.ops.filter((o) => o.op === 'load').map((o) => (o.op === 'load' ? o.reg : ''))).toEqual(['rcx', 'xmm1', 'rdx', 'xmm2', 'r8']);
    expect(places(arrange(cc, 'int f(int n, double d)'))).toEqual([['rcx'], ['xmm1']]);
  });

  it('the hidden result pointer takes rcx and moves the others one slot; rax hands it back', () => {
    const a = arrange(cc, 'struct S12 { int a, b, c; }; struct S12 f(int a, double b, int c, int d)');
    expect(a.result).toMatchObject({ kind: 'memory', pointer: { reg: 'rcx' }, returnedIn: 'rax', calleePops: 0 });
    expect(places(a)).toEqual([['rdx'], ['xmm2'], ['r9'], ['sp+32']]);
  });

  it('long double (mingw: 16-byte x87): by reference, and returned through the hidden pointer (fldt (%rdx); fstpt (%rcx))', () => {
    const a = arrange(cc, 'long double f(long double x)');
    expect(a.result.kind).toBe('memory');
    expect(a.args[0].passing).toBe('reference');
    expect(where(a.args[0])).toEqual(['rdx']);
  });

  it('LLP64: long is 4 bytes, wchar_t 2 bytes unsigned, wide strings UTF-16', () => {
    const dm = DATA_MODELS.llp64;
    expect(cc.dataModel).toBe(dm);
    expect(dm.scalars.long.size).toBe(4);
    expect(dm.scalars['long long'].size).toBe(8);
    expect(dm.pointerSize).toBe(8);
    expect(dm.scalars.wchar_t).toEqual({ size: 2, align: 2 });
    expect(dm.wcharSigned).toBe(false);
    expect([...encodeWide('h\u00e9\u{1F600}', dm)]).toEqual([0x68, 0, 0xe9, 0, 0x3d, 0xd8, 0x00, 0xde, 0, 0]);
    expect(arrange(cc, 'long f(long a)').args[0].size).toBe(4);
  });

  it('callee-saved: rbx rbp rdi rsi r12-r15 and xmm6-xmm15', () => {
    expect(cc.registers.preserved).toEqual(['rbx', 'rbp', 'rdi', 'rsi', 'r12', 'r13', 'r14', 'r15',
      'xmm6', 'xmm7', 'xmm8', 'xmm9', 'xmm10', 'xmm11', 'xmm12', 'xmm13', 'xmm14', 'xmm15']);
  });
});

describe('x86_64-win64: GCC COFF objects in the emulator', () => {
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await Sandbox.open('x86_64-win64', { poison: 0xa5 });
    sb.declare(fixtureTypes());
    sb.load(...fixtureObjects('win64'));
  });
  afterAll(() => sb?.close());

  it('a 3-byte struct by reference: GCC reads it through rcx (movsbl (%rcx))', () => {
    expect(sb.func('int sum_s3(struct S3 s)')({ a: 1, b: 2, c: 3 })).toBe(1 * 2 + 2 * 3 + 3 * 5);
  });

  it('variadic doubles: the callee spills rdx/r8/r9 into the shadow space and va_arg reads them there', () => {
    // sum_doubles: mov %rdx,0x28(%rsp); mov %r8,0x30(%rsp); mov %r9,0x38(%rsp): home slots 2-4.
    const f = sb.func('double sum_doubles(int n, ...)');
    expect(f.callWithRecord([4, 1.5, -2.25, 8, 0.125], ['double', 'double', 'double', 'double']).value).toBe(1.5 - 2 * 2.25 + 3 * 8 + 4 * 0.125);
  });

  it('size_t and its kin are 8 bytes (mingw: unsigned long long), although long is 4', () => {
    sb.declare('struct with_size { char c; size_t n; };');
    const plan = sb.func('int weigh_int2(size_t a, ptrdiff_t b)').plan();
    expect(plan.args.map((a) => a.size)).toEqual([8, 8]);
    expect(plan.args[0].type).toBe('size_t');
    expect(sb.func('int weigh_int2(intptr_t a, uintptr_t b)').plan().args.map((a) => a.size)).toEqual([8, 8]);
    expect(sb.func('int weigh_int2(long a, unsigned long b)').plan().args.map((a) => a.size)).toEqual([4, 4]);
  });

  it('twelve ints: four registers, eight stack slots above the shadow space', () => {
    const args = Array.from({ length: 12 }, (_, i) => (i + 1) * 1000 + i);
    const got = sb.func('int sum_int12(int a, int b, int c, int d, int e, int f, int g, int h, int i, int j, int k, int l)')(...args);
    const primes = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37]; // many.c weighs argument k by the k-th prime
    expect(got).toBe(args.reduce((s, v, k) => s + v * primes[k], 0));
  });
});

describe('COFF objects: the reader and the linker', () => {
  const obj = (name: string) => readFileSync(join(FIXTURES, 'obj', 'win64', `${name}.o`));

  function coffError(bytes: Uint8Array, file: string): ElfError {
    try {
      linkElf([{ bytes, file }], { base: 0x100000 });
    } catch (e) {
      expect(e).toBeInstanceOf(ElfError);
      return e as ElfError;
    }
    throw new Error('expected an ElfError');
  }

  /** Offset of the first relocation entry of section `name` in a COFF object. */
  function firstReloc(bytes: Uint8Array, name: string): number {
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < dv.getUint16(2, true); i++) {
      const o = 20 + 40 * i;
      if (Buffer.from(bytes.subarray(o, o + 8)).toString('latin1').replace(/\0+$/, '') === name) return dv.getUint32(o + 24, true);
    }
    throw new Error(`no section ${name}`);
  }

  it('links a mingw object: REL32 calls and data references resolve (the functions run above)', () => {
    const img = linkElf([{ bytes: obj('structs'), file: 'structs.o' }, { bytes: obj('runtime'), file: 'runtime.o' }], { base: 0x100000 });
    expect(img.symbols.get('sum_s3')?.kind).toBe('func');
    expect(img.symbols.get('sum_s3')?.size).toBeGreaterThan(0);
  });

  it('an unsupported relocation type names the file, the section and the offset', () => {
    const bytes = new Uint8Array(obj('structs'));
    const at = firstReloc(bytes, '.text');
    const offset = new DataView(bytes.buffer).getUint32(at, true);
    bytes[at + 8] = 0x0b; // IMAGE_REL_AMD64_SECREL
    bytes[at + 9] = 0;
    const e = coffError(bytes, 'bad.o');
    expect(e.message).toContain('bad.o');
    expect(e.message).toContain('section .text');
    expect(e.message).toContain(`offset 0x${offset.toString(16)}`);
    expect(e.message).toContain('IMAGE_REL_AMD64_SECREL');
  });

  it('a truncated object or one with an out-of-range symbol table is an ElfError, not a RangeError', () => {
    const whole = obj('scalars');
    expect(coffError(whole.subarray(0, 100), 'cut.o').message).toMatch(/cut\.o: .*beyond the end of the file/);
    const bad = new Uint8Array(whole);
    new DataView(bad.buffer).setUint32(8, 0x7ffffff0, true); // PointerToSymbolTable
    expect(coffError(bad, 'sym.o').message).toMatch(/sym\.o: COFF symbol table/);
  });

  it('COFF and ELF objects are never linked together', () => {
    const elf = readFileSync(join(FIXTURES, 'obj', 'x86_64', 'scalars.o'));
    let mixed: unknown;
    try {
      linkElf([{ bytes: obj('scalars'), file: 'w.o' }, { bytes: elf, file: 'e.o' }], { base: 0x100000 });
    } catch (err) {
      mixed = err;
    }
    expect(mixed).toBeInstanceOf(ElfError);
    expect((mixed as Error).message).toMatch(/e\.o: x86_64 ELF64 little-endian cannot be linked with w\.o \(x86_64 COFF\)/);
  });
});

describe('x86_64-win64: an object built with mingw\'s default flags (unwind tables, ident)', () => {
  it('loads: .pdata/.xdata and their ADDR32NB relocations are left out, the code runs', async () => {
    const sb = await Sandbox.open('x86_64-win64', { poison: 0x5a });
    try {
      sb.load(join(FIXTURES, 'obj', 'win64', 'user', 'scalars.o'));
      expect(sb.func('int weigh_int2(int a, int b)')(-123456, 98765)).toBe(2 * -123456 + 3 * 98765);
      const img = linkElf([{ bytes: readFileSync(join(FIXTURES, 'obj', 'win64', 'user', 'scalars.o')), file: 'scalars.o' }], { base: 0x100000 });
      const names = img.sections.map((x) => x.name);
      expect(names).toContain('.text');
      expect(names.filter((n) => /pdata|xdata/.test(n))).toEqual([]);
    } finally {
      sb.close();
    }
  });
});

describe('COFF objects: corruption', () => {
  it('a corrupted object links or fails with an abiscope error, never a RangeError or a hang', () => {
    const whole = new Uint8Array(readFileSync(join(FIXTURES, 'obj', 'win64', 'variadic.o')));
    const dv = new DataView(whole.buffer);
    const symtab = dv.getUint32(8, true);
    // Header, section table, relocations and symbol/string tables: where the reader trusts numbers.
    const hot = fc.oneof(fc.integer({ min: 0, max: 20 + 40 * dv.getUint16(2, true) - 1 }), fc.integer({ min: symtab, max: whole.length - 1 }));
    fc.assert(fc.property(fc.array(fc.tuple(hot, fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), (edits) => {
      const bytes = new Uint8Array(whole);
      for (const [at, v] of edits) bytes[at] = v;
      try {
        linkElf([{ bytes, file: 'fuzz.o' }], { base: 0x100000, fallback: () => 0x1000 });
      } catch (e) {
        expect(e).toBeInstanceOf(AbiscopeError);
      }
    }), { numRuns: 300 });
  });
});

describe('x86_64-win64: a frame over a page', () => {
  it('GCC calls ___chkstk_ms, which comes from the shipped runtime (mingw libgcc), and preserves rax', async () => {
    const sb = await Sandbox.open('x86_64-win64', { poison: 0x5a });
    try {
      const lib = sb.load(join(FIXTURES, 'obj', 'win64', 'user', 'bigframe.o'));
      // mov $0x4e28, %eax; call ___chkstk_ms; sub %rax, %rsp: a clobbered rax would wreck the frame.
      const n = 19000;
      let expected = 0;
      for (let i = 0; i < n; i++) expected += (i * 7) & 0xff;
      expect(sb.func('int big_frame_sum(int n)')(n)).toBe(expected);
      // linked from the runtime archive: a guest function, not a host trap
      expect(sb.machine.symbols.get('___chkstk_ms')?.kind).toBe('func');
      expect(lib.files).toHaveLength(1);
    } finally {
      sb.close();
    }
  });
});

describe('x86_64-win64: the shadow space in the plan', () => {
  it('is named: 32 bytes at the bottom of the outgoing area, under the stack arguments', () => {
    const plan = planArrangement(cc, arrange(cc, 'void f(int a, int b, int c, int d, int e)'));
    expect(plan.shadowSpace).toBe(32);
    expect(plan.stackArea).toEqual({ offset: 0, size: 48 });
    expect(plan.args[4].pointsTo).toEqual({ region: 'stack', frameOffset: 32 });
    // no host operation writes it: it is the callee's
    const written = plan.ops.flatMap((o) => ('to' in o && o.op !== 'save' && o.op !== 'store' ? [o.to] : []));
    expect(written.filter((to) => to < 32)).toEqual([]);
  });
});
