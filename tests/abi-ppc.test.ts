// PowerPC 32-bit SysV ABI (1995 supplement, chapter 3 "Function Calling
// Sequence") as Debian's powerpc-linux-gnu-gcc 12 compiles it. The explicit
// cases encode the ABI's Parameter Passing algorithm and what GCC emits for
// callers (powerpc-linux-gnu-gcc -O2 -S; the instructions are quoted next to
// each case); the properties at the end hold for any signature.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { AbiError, type ArgPiece } from '../abis/abi.ts';
import { ppc32Sysv, ppc32SysvSvr4StructReturn } from '../abis/ppc32-sysv/convention.ts';
import { arrange, build, callShape, places, type RecShape, type Shape } from './abi-helpers.ts';

const ints = (n: number) => Array.from({ length: n }, () => 'int').join(', ');
const doubles = (n: number) => Array.from({ length: n }, () => 'double').join(', ');

const cc = ppc32Sysv;

describe('ppc32-sysv', () => {
  it('describes itself', () => {
    expect(cc.name).toBe('ppc32-sysv');
    expect(cc.target).toBe('ppc32');
    expect(cc.dataModel.name).toBe('ppc32');
    expect(cc.registers).toEqual({
      intArgs: ['r3', 'r4', 'r5', 'r6', 'r7', 'r8', 'r9', 'r10'],
      fpArgs: ['f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7', 'f8'],
      results: ['r3', 'r4', 'f1', 'f2'],
      special: ['cr6'],
      preserved: [...Array.from({ length: 18 }, (_, i) => `r${i + 14}`), ...Array.from({ length: 18 }, (_, i) => `f${i + 14}`), 'r2', 'r13', 'cr'],
      preservedBits: { cr: 0x00fff000 },
      slotBytes: { cr6: 4 },
    });
  });

  it('SIMPLE_ARG: ints in r3-r10, the 9th at 8(r1) after the back chain and LR save words (GCC: stw 9,8(1))', () => {
    const a = arrange(cc, `void f(${ints(9)});`);
    expect(places(a)).toEqual([['r3'], ['r4'], ['r5'], ['r6'], ['r7'], ['r8'], ['r9'], ['r10'], ['sp+8']]);
    expect(a.args[8].pieces[0]).toEqual({ kind: 'stack', offset: 8, valueOffset: 0, size: 4, slotSize: 4, slotOffset: 0 });
    expect(a.args[0].pieces[0]).toEqual({ kind: 'reg', reg: 'r3', valueOffset: 0, size: 4, format: 'int' });
    expect(a.stackBytes).toBe(16);
    expect(a.stackAlign).toBe(16);
    expect(a.special).toEqual([]);
  });

  it('stackBytes always includes the 8-byte header, rounded to 16', () => {
    expect(arrange(cc, 'void f(void);').stackBytes).toBe(16);
    expect(arrange(cc, `void f(${ints(11)});`).stackBytes).toBe(32);
  });

  it('LONG_LONG: odd-even pairs, high word first; r4 is skipped after an int (GCC: g3(1, ll, 3): r3=1, r5=0x11223344, r6=0x55667788, r7=3)', () => {
    const a = arrange(cc, 'void f(int, long long, int);');
    expect(places(a)).toEqual([['r3'], ['r5', 'r6'], ['r7']]);
    expect(a.args[1].pieces).toEqual([
      { kind: 'reg', reg: 'r5', valueOffset: 0, size: 4, format: 'int' },
      { kind: 'reg', reg: 'r6', valueOffset: 4, size: 4, format: 'int' },
    ]);
    expect(places(arrange(cc, 'void f(long long, long long, long long, long long);'))).toEqual([['r3', 'r4'], ['r5', 'r6'], ['r7', 'r8'], ['r9', 'r10']]);
  });

  it('LONG_LONG without a pair: 8-aligned stack, and r10 stays unused for later ints (GCC: 7 ints, ll at 8(1)/12(1), int 9 at 16(1))', () => {
    const a = arrange(cc, `void f(${ints(7)}, long long, int);`);
    expect(places(a).slice(6)).toEqual([['r9'], ['sp+8'], ['sp+16']]);
    expect(a.args[7].pieces[0]).toEqual({ kind: 'stack', offset: 8, valueOffset: 0, size: 8, slotSize: 8, slotOffset: 0 });
    expect(a.stackBytes).toBe(32);
  });

  it('a long long on the stack is 8-aligned (GCC: 9 ints then ll: int at 8(1), ll at 16(1)/20(1))', () => {
    const a = arrange(cc, `void f(${ints(9)}, long long);`);
    expect(places(a).slice(8)).toEqual([['sp+8'], ['sp+16']]);
  });

  it('sub-word ints: extended in registers; on the stack a full extended word with the value at its high end (GCC: li 8,-11; stw 8,16(1))', () => {
    const a = arrange(cc, `void f(${ints(8)}, char, short, signed char, _Bool);`);
    expect(a.args.slice(8).map((x) => x.pieces[0])).toEqual([
      { kind: 'stack', offset: 8, valueOffset: 0, size: 1, slotSize: 4, slotOffset: 3, extend: 'zero' },
      { kind: 'stack', offset: 12, valueOffset: 0, size: 2, slotSize: 4, slotOffset: 2, extend: 'sign' },
      { kind: 'stack', offset: 16, valueOffset: 0, size: 1, slotSize: 4, slotOffset: 3, extend: 'sign' },
      { kind: 'stack', offset: 20, valueOffset: 0, size: 1, slotSize: 4, slotOffset: 3, extend: 'zero' },
    ]);
    const r = arrange(cc, 'void f(char, unsigned short, short);');
    expect(r.args.map((x) => x.pieces[0])).toEqual([
      { kind: 'reg', reg: 'r3', valueOffset: 0, size: 1, format: 'int', extend: 'zero' },
      { kind: 'reg', reg: 'r4', valueOffset: 0, size: 2, format: 'int', extend: 'zero' },
      { kind: 'reg', reg: 'r5', valueOffset: 0, size: 2, format: 'int', extend: 'sign' },
    ]);
  });

  it('DOUBLE_OR_FLOAT: FPRs f1-f8 independent of GPRs; a float in double format (GCC: lfs 1,...)', () => {
    const a = arrange(cc, 'void f(int, float, double, int);');
    expect(places(a)).toEqual([['r3'], ['f1'], ['f2'], ['r4']]);
    expect(a.args[1].pieces[0]).toEqual({ kind: 'reg', reg: 'f1', valueOffset: 0, size: 4, format: 'f32-as-f64' });
    expect(a.args[2].pieces[0]).toEqual({ kind: 'reg', reg: 'f2', valueOffset: 0, size: 8, format: 'raw' });
  });

  it('9 doubles: f1-f8, the 9th at 8(r1); a float after them in single format at 16(r1), then a double 8-aligned at 24(r1) (GCC: stfd 12,8(1); stfs 0,16(1); stfd 10,24(1))', () => {
    const a = arrange(cc, `void f(${doubles(9)}, float, double);`);
    expect(places(a)).toEqual([['f1'], ['f2'], ['f3'], ['f4'], ['f5'], ['f6'], ['f7'], ['f8'], ['sp+8'], ['sp+16'], ['sp+24']]);
    expect(a.args[9].pieces[0]).toEqual({ kind: 'stack', offset: 16, valueOffset: 0, size: 4, slotSize: 4, slotOffset: 0 });
    expect(a.stackBytes).toBe(32);
  });

  it('floats after 8 doubles take one word each (GCC: stfs 0,8(1); stfs 11,12(1); stfd 12,16(1))', () => {
    expect(places(arrange(cc, `void f(${doubles(8)}, float, float, double);`)).slice(8)).toEqual([['sp+8'], ['sp+12'], ['sp+16']]);
  });

  it('long double (IBM double-double) in an FPR pair (GCC: g1(1, 2.0L, 3.0): r3, f1:f2, f3)', () => {
    const a = arrange(cc, 'void f(int, long double, double);');
    expect(places(a)).toEqual([['r3'], ['f1', 'f2'], ['f3']]);
    expect(a.args[1].pieces).toEqual([
      { kind: 'reg', reg: 'f1', valueOffset: 0, size: 8, format: 'raw' },
      { kind: 'reg', reg: 'f2', valueOffset: 8, size: 8, format: 'raw' },
    ]);
    expect(a.args[1].size).toBe(16);
  });

  it('long double with only f8 left: 16 bytes at an 8-aligned stack offset, and f8 stays unused (GCC: 7 doubles, ld at 8(1)/16(1), double at 24(1))', () => {
    const a = arrange(cc, `void f(${doubles(7)}, long double, double);`);
    expect(places(a).slice(6)).toEqual([['f7'], ['sp+8'], ['sp+24']]);
    expect(a.args[7].pieces[0]).toEqual({ kind: 'stack', offset: 8, valueOffset: 0, size: 16, slotSize: 16, slotOffset: 0 });
  });

  it('long double on the stack after a word: 8-aligned (GCC: int 9 at 8(1), long double at 16(1))', () => {
    expect(places(arrange(cc, `void f(${doubles(8)}, ${ints(9)}, long double);`)).slice(16)).toEqual([['sp+8'], ['sp+16']]);
  });

  it('structs and unions are passed by reference: a pointer to a copy in the next GPR (GCC: addi 4,1,16 for struct S12)', () => {
    const a = arrange(cc, 'struct S12 { int a, b, c; }; union U { int a; char c; }; void f(int, struct S12, union U, int);');
    expect(places(a)).toEqual([['r3'], ['r4'], ['r5'], ['r6']]);
    expect(a.args[1]).toMatchObject({ passing: 'reference', size: 12 });
    expect(a.args[1].pieces).toEqual([{ kind: 'reg', reg: 'r4', valueOffset: 0, size: 4, format: 'int' }]);
    expect(a.args[2]).toMatchObject({ passing: 'reference', size: 4 });
    expect(a.args[0].passing).toBe('value');
  });

  it('a struct pointer past r10 goes to a stack word (GCC: addi 9,1,24; stw 9,8(1))', () => {
    const a = arrange(cc, `struct S12 { int a, b, c; }; void f(${ints(8)}, struct S12);`);
    expect(a.args[8]).toMatchObject({ passing: 'reference', pieces: [{ kind: 'stack', offset: 8, size: 4, slotSize: 4, slotOffset: 0 }] });
  });

  it('even an empty struct is passed by reference (GCC: addi 4,1,32)', () => {
    expect(places(arrange(cc, 'struct E {}; void f(int, struct E, int);'))).toEqual([['r3'], ['r4'], ['r5']]);
  });

  describe('results', () => {
    it('int-like in r3 (extended), long long in r3:r4 with r3 the high word (GCC: addic 4,4,1; addze 3,3)', () => {
      expect(arrange(cc, 'short f(void);').result).toMatchObject({ kind: 'registers', pieces: [{ reg: 'r3', size: 2, extend: 'sign' }] });
      expect(arrange(cc, 'long long f(void);').result).toMatchObject({
        kind: 'registers', size: 8,
        pieces: [{ reg: 'r3', valueOffset: 0, size: 4 }, { reg: 'r4', valueOffset: 4, size: 4 }],
      });
    });
    it('float and double in f1 (float in double format), long double in f1:f2', () => {
      expect(arrange(cc, 'float f(void);').result).toMatchObject({ pieces: [{ reg: 'f1', size: 4, format: 'f32-as-f64' }] });
      expect(arrange(cc, 'double f(void);').result).toMatchObject({ pieces: [{ reg: 'f1', size: 8, format: 'raw' }] });
      expect(arrange(cc, 'long double f(void);').result).toMatchObject({
        pieces: [{ reg: 'f1', valueOffset: 0, size: 8 }, { reg: 'f2', valueOffset: 8, size: 8 }],
      });
    });
    it('every struct, even 4 bytes, through a hidden pointer in r3; arguments start at r4 (GCC: addi 3,1,8; bl g5)', () => {
      const a = arrange(cc, 'struct S4 { int a; }; struct S4 f(int, long long);');
      expect(a.result).toMatchObject({
        kind: 'memory', size: 4, calleePops: 0,
        pointer: { kind: 'reg', reg: 'r3', valueOffset: 0, size: 4, format: 'int' },
      });
      // gr starts at 4: the long long then needs r5:r6
      expect(places(a)).toEqual([['r4'], ['r5', 'r6']]);
    });
  });

  describe('variadic', () => {
    it('CR bit 6 set when an FP argument is in an FPR (GCC: g7("x", 1, 2.0): lfd 1; li 4,1; creqv 6,6,6)', () => {
      const a = arrange(cc, 'void f(const char *, ...);', ['int', 'double']);
      expect(places(a)).toEqual([['r3'], ['r4'], ['f1']]);
      expect(a.special).toEqual([{ reg: 'cr6', value: 1, why: 'CR bit 6 set: FP arguments in registers' }]);
    });
    it('CR bit 6 cleared without FP arguments (GCC: g7("x", 1, 2): crxor 6,6,6)', () => {
      const a = arrange(cc, 'void f(const char *, ...);', ['int', 'int']);
      expect(a.special).toEqual([{ reg: 'cr6', value: 0, why: expect.stringMatching(/cleared/) }]);
    });
    it('a fixed double counts too (GCC: g14(1.0, 2): creqv 6,6,6)', () => {
      expect(arrange(cc, 'void f(double, ...);', ['int']).special[0].value).toBe(1);
    });
    it('float is promoted to double; variadic arguments follow the same register and stack rules (GCC: 9 doubles f1-f8 + 8(1))', () => {
      const a = arrange(cc, 'void f(int, ...);', ['float', 'double', 'double', 'double', 'double', 'double', 'double', 'double', 'double']);
      expect(a.args[1]).toMatchObject({ variadic: true, size: 8, type: { name: 'double' } });
      expect(a.args[1].pieces[0]).toMatchObject({ reg: 'f1', size: 8, format: 'raw' });
      expect(a.args[1].rule).toMatch(/float -> double/);
      expect(places(a)[9]).toEqual(['sp+8']);
    });
    it('variadic long long and long double use the same pairs (GCC: g(1, 2.0L): f1:f2, creqv)', () => {
      const a = arrange(cc, 'void f(int, ...);', ['long long', 'long double']);
      expect(places(a)).toEqual([['r3'], ['r5', 'r6'], ['f1', 'f2']]);
    });
    it('a variadic struct is passed by reference', () => {
      const a = arrange(cc, 'struct P { int x, y; }; void f(int, ...);', ['struct P']);
      expect(a.args[1]).toMatchObject({ passing: 'reference', variadic: true, pieces: [{ reg: 'r4' }] });
    });
  });

  it('AbiError for variadic arguments to a fixed function', () => {
    expect(() => arrange(cc, 'void f(int);', ['int'])).toThrow(AbiError);
  });
});

describe('ppc32-sysv with -msvr4-struct-return', () => {
  const sv = ppc32SysvSvr4StructReturn;
  it('is the same convention with another struct-return flag', () => {
    expect(sv.name).toBe('ppc32-sysv');
    expect(sv.structReturn).toBe('svr4-registers');
    expect(ppc32Sysv.structReturn).toBe('memory');
  });
  it('structs of <= 8 bytes in r3:r4, right-justified as a big-endian integer (GCC: 2-byte .b = low byte of r3; 6-byte .c = low half of r4; 7-byte a[2] low byte of r3, a[6] low byte of r4)', () => {
    const r = (t: string) => arrange(sv, `${t} f(int);`).result;
    expect(r('struct S2 { char a, b; }; struct S2')).toMatchObject({ kind: 'registers', pieces: [{ reg: 'r3', valueOffset: 0, size: 2, format: 'int' }] });
    expect(r('struct S6 { short a, b, c; }; struct S6')).toMatchObject({
      kind: 'registers', pieces: [{ reg: 'r3', valueOffset: 0, size: 2 }, { reg: 'r4', valueOffset: 2, size: 4 }],
    });
    expect(r('struct S7 { char a[7]; }; struct S7')).toMatchObject({
      pieces: [{ reg: 'r3', valueOffset: 0, size: 3 }, { reg: 'r4', valueOffset: 3, size: 4 }],
    });
    expect(r('struct D { double d; }; struct D')).toMatchObject({ pieces: [{ reg: 'r3', size: 4 }, { reg: 'r4', size: 4 }] });
    expect(r('struct F { float f; }; struct F')).toMatchObject({ pieces: [{ reg: 'r3', size: 4 }] });
  });
  it('larger structs still through r3 (GCC: addi 3,1,8 for a 12-byte struct)', () => {
    const a = arrange(sv, 'struct S12 { int a, b, c; }; struct S12 f(int);');
    expect(a.result.kind).toBe('memory');
    expect(places(a)).toEqual([['r4']]);
  });
  it('a small struct result leaves r3 for the first argument', () => {
    expect(places(arrange(sv, 'struct S4 { int a; }; struct S4 f(int);'))).toEqual([['r3']]);
  });
});

// ---------------------------------------------------------------------------
// Properties over random signatures

const SCALARS = [
  'char', 'signed char', 'unsigned char', 'short', 'unsigned short', 'int', 'unsigned int', 'long',
  'long long', 'unsigned long long', 'float', 'double', 'long double', '_Bool', 'void *', 'enum E',
];
// Plain members only (no arrays, attributes or homogeneous runs): PPC passes every record by reference.
const shape: fc.Arbitrary<Shape> = fc.letrec<{ t: Shape; rec: RecShape }>((tie) => ({
  t: fc.oneof({ maxDepth: 2, depthIdentifier: 'ppc-shape' },
    fc.constantFrom(...SCALARS), fc.constantFrom('float', 'double', 'long long'), tie('rec')),
  rec: fc.record({
    kind: fc.constantFrom<'struct' | 'union'>('struct', 'struct', 'union'),
    fields: fc.array(tie('t'), { minLength: 0, maxLength: 4 }).map((ts) => ts.map((t) => ({ t, n: null, aligned: false }))),
    attr: fc.constant<''>(''),
  }),
})).t;
const ppcCall = callShape(shape, 14);

describe('properties over random signatures', () => {
  const params = { numRuns: 400 };
  const regNum = (p: ArgPiece, prefix: 'r' | 'f') =>
    (p.kind === 'reg' && p.reg.startsWith(prefix) ? Number(p.reg.slice(1)) : undefined);

  it('pieces never overlap, every byte (or the pointer to the copy) is covered once, the stack area covers every slot', () => {
    fc.assert(fc.property(ppcCall, fc.boolean(), (c, svr4) => {
      const { text, variadic } = build(c);
      const a = arrange(svr4 ? ppc32SysvSvr4StructReturn : ppc32Sysv, text, variadic);
      const regs = new Set<string>();
      const slots: [number, number][] = [];
      const claim = (p: ArgPiece) => {
        if (p.kind === 'reg') {
          expect(regs.has(p.reg), `${p.reg} used twice`).toBe(false);
          regs.add(p.reg);
        } else {
          expect(p.offset).toBeGreaterThanOrEqual(8);
          expect(p.slotOffset + p.size).toBeLessThanOrEqual(p.slotSize);
          for (const [s, e] of slots) expect(p.offset >= e || p.offset + p.slotSize <= s).toBe(true);
          slots.push([p.offset, p.offset + p.slotSize]);
          expect(p.offset + p.slotSize).toBeLessThanOrEqual(a.stackBytes);
        }
      };
      if (a.result.kind === 'memory') claim(a.result.pointer);
      for (const arg of a.args) {
        const isRecord = arg.type.kind === 'struct' || arg.type.kind === 'union';
        expect(arg.passing).toBe(isRecord ? 'reference' : 'value');
        const imageSize = isRecord ? 4 : arg.size;
        const covered = new Array<number>(imageSize).fill(0);
        for (const p of arg.pieces) {
          claim(p);
          for (let i = p.valueOffset; i < p.valueOffset + p.size; i++) covered[i]++;
        }
        expect(covered.every((n) => n === 1), `${arg.name}: ${covered.join(',')}`).toBe(true);
      }
      expect(a.stackBytes % 16).toBe(0);
      expect(a.stackBytes).toBeGreaterThanOrEqual(16);
      expect(a.special.length).toBe(a.signature.variadic ? 1 : 0);
    }), params);
  });

  it('GPRs and FPRs are allocated in ascending order, long longs in odd-even pairs, nothing returns to a GPR after a long long went to the stack', () => {
    fc.assert(fc.property(ppcCall, (c) => {
      const { text, variadic } = build(c);
      const a = arrange(ppc32Sysv, text, variadic);
      let lastR = a.result.kind === 'memory' ? 3 : 2;
      let lastF = 0;
      let gprsClosed = false;
      let fprsClosed = false;
      let usedFpr = false;
      for (const arg of a.args) {
        const rs = arg.pieces.map((p) => regNum(p, 'r')).filter((n): n is number => n !== undefined);
        const fs = arg.pieces.map((p) => regNum(p, 'f')).filter((n): n is number => n !== undefined);
        for (const r of rs) { expect(r).toBeGreaterThan(lastR); expect(r).toBeLessThanOrEqual(10); lastR = r; }
        for (const f of fs) { expect(f).toBe(lastF + 1); lastF = f; usedFpr = true; }
        if (rs.length) expect(gprsClosed).toBe(false);
        if (fs.length) expect(fprsClosed).toBe(false);
        if (rs.length === 2) { expect(rs[0] % 2).toBe(1); expect(rs[1]).toBe(rs[0] + 1); }
        const onStack = arg.pieces.some((p) => p.kind === 'stack');
        if (onStack && arg.size === 8 && arg.type.kind !== 'struct' && arg.type.kind !== 'union') {
          expect((arg.pieces[0] as { offset: number }).offset % 8).toBe(0);
          if (arg.type.kind !== 'scalar' || arg.type.name !== 'double') gprsClosed = true;
        }
        if (onStack && arg.type.kind === 'scalar' && arg.type.name === 'long double') fprsClosed = true;
      }
      if (a.signature.variadic) expect(a.special[0]).toMatchObject({ reg: 'cr6', value: usedFpr ? 1 : 0 });
    }), params);
  });
});
