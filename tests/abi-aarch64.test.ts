// AArch64 AAPCS64 (IHI 0055). The explicit cases encode the document's rules and what
// Debian's GCC 12 emits for callers (aarch64-linux-gnu-gcc -O2 -S; the instructions are
// quoted next to each case); the generated suites (conformance, differential, call-backs)
// check the same rules against GCC-compiled code for hundreds of signatures.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { aarch64Aapcs64 } from '../abis/aarch64-aapcs64/convention.ts';
import { AbiError } from '../abis/abi.ts';
import { planCall } from '../abis/plan.ts';
import { parseDeclarations } from '../ctypes/parse.ts';
import { arrange, places } from './abi-helpers.ts';

const cc = aarch64Aapcs64;
const plan = (text: string) => {
  const { signature } = parseDeclarations(text);
  if (!signature) throw new Error(`no prototype in ${text}`);
  return planCall(cc, signature);
};

describe('aarch64-aapcs64', () => {
  it('describes itself: x0-x7 and q0-q7 (v0-v7) for arguments, x8 for the indirect result, x19-x29 and d8-d15 preserved', () => {
    expect(cc.name).toBe('aarch64-aapcs64');
    expect(cc.target).toBe('aarch64');
    expect(cc.dataModel.name).toBe('aarch64');
    expect(cc.registers.intArgs).toEqual(['x0', 'x1', 'x2', 'x3', 'x4', 'x5', 'x6', 'x7']);
    expect(cc.registers.fpArgs).toEqual(['q0', 'q1', 'q2', 'q3', 'q4', 'q5', 'q6', 'q7']);
    expect(cc.registers.indirectResult).toBe('x8');
    expect(cc.registers.preserved).toEqual([...Array.from({ length: 11 }, (_, i) => `x${19 + i}`), ...Array.from({ length: 8 }, (_, i) => `d${8 + i}`)]);
  });

  it('C.2: an HFA of four doubles takes d0-d3, one member each (GCC: mov w0, 7; ldp d0, d1, [sp]; ldp d2, d3, [sp, 16])', () => {
    const a = arrange(cc, 'struct H { double a, b, c, d; }; void f(int, struct H);');
    expect(places(a)).toEqual([['x0'], ['d0', 'd1', 'd2', 'd3']]);
    expect(a.args[1].pieces.map((p) => (p.kind === 'reg' ? [p.valueOffset, p.size, p.format] : []))).toEqual([[0, 8, 'raw'], [8, 8, 'raw'], [16, 8, 'raw'], [24, 8, 'raw']]);
    expect(a.args[1].rule).toMatch(/^AAPCS64 6\.8\.2 C\.2: HFA of 4 doubles/);
  });

  it('B.4: a 20-byte struct goes by reference to a copy, the pointer in x0 (GCC: add x0, sp, 16; ... bl f_s20)', () => {
    const a = arrange(cc, 'struct S20 { int a[5]; }; void f(struct S20);');
    expect(a.args[0].passing).toBe('reference');
    expect(a.args[0].size).toBe(20);
    expect(a.args[0].pieces).toEqual([{ kind: 'reg', reg: 'x0', valueOffset: 0, size: 8, format: 'int' }]);
    expect(a.args[0].rule).toMatch(/B\.4: over 16 bytes/);
    // the plan copies it into region 1 and passes the copy's address
    const p = plan('struct S20 { int a[5]; }; void f(struct S20);');
    expect(p.region1.items).toContainEqual(expect.objectContaining({ kind: 'struct-copy', arg: 0, size: 20 }));
    expect(p.ops.some((o) => o.op === 'copy' && o.arg === 0 && o.size === 20)).toBe(true);
  });

  it('6.9: a 24-byte result is written through x8, and x0 is still the first argument (GCC: mov w0, 3; add x8, sp, 24; bl f_s24)', () => {
    const a = arrange(cc, 'struct S24 { long a, b, c; }; struct S24 f(int);');
    expect(a.result).toMatchObject({ kind: 'memory', size: 24, pointer: { kind: 'reg', reg: 'x8' }, calleePops: 0 });
    expect(a.result.kind === 'memory' && a.result.returnedIn).toBeUndefined();
    expect(places(a)).toEqual([['x0']]);
    const p = plan('struct S24 { long a, b, c; }; struct S24 f(int);');
    expect(p.ops.filter((o) => o.op === 'load').map((o) => o.op === 'load' && o.reg)).toEqual(['x8', 'x0']);
    // a call-back with this signature receives x8 too
    expect(p.thunk.filter((o) => o.op === 'receive').map((o) => o.op === 'receive' && o.reg)).toEqual(['x8', 'x0']);
  });

  it('6.9: results of at most 16 bytes come back in x0:x1, HFAs in v0-v3, long double in q0', () => {
    expect(arrange(cc, 'struct P { int a, b, c; }; struct P f(void);').result).toMatchObject({ kind: 'registers', pieces: [{ reg: 'x0', size: 8 }, { reg: 'x1', size: 4 }] });
    expect(arrange(cc, 'struct F3 { float a, b, c; }; struct F3 f(void);').result).toMatchObject({ kind: 'registers', pieces: [{ reg: 's0' }, { reg: 's1' }, { reg: 's2' }] });
    expect(arrange(cc, 'long double f(void);').result).toMatchObject({ kind: 'registers', pieces: [{ reg: 'q0', size: 16, format: 'raw' }] });
  });

  it('C.7/C.14: sub-word values take 8-byte stack slots once x0-x7 are used; a 3-byte struct too (GCC: strb w3, [sp]; strh w2, [sp, 8]; strh w1, [sp, 16]; strb w0, [sp, 18])', () => {
    const a = arrange(cc, 'struct S3 { char a, b, c; }; struct F3 { float a, b, c; }; void f(long, long, long, long, long, long, long, long, char, short, struct S3, float, struct F3);');
    expect(places(a)).toEqual([['x0'], ['x1'], ['x2'], ['x3'], ['x4'], ['x5'], ['x6'], ['x7'], ['sp+0'], ['sp+8'], ['sp+16'], ['s0'], ['s1', 's2', 's3']]);
    expect(a.args[10].pieces[0]).toMatchObject({ kind: 'stack', offset: 16, size: 3, slotSize: 8 });
    expect(a.stackBytes).toBe(32);
  });

  it('C.3-C.6: with v0-v7 used, a float takes an 8-byte slot, an HFA of 3 floats 16 bytes, and long double a 16-aligned slot (GCC: str s17, [sp]; str x1, [sp, 8]; str w0, [sp, 16]; str q16, [sp, 32])', () => {
    const a = arrange(cc, 'struct F3 { float a, b, c; }; void f(double, double, double, double, double, double, double, double, float, struct F3, long double);');
    expect(places(a).slice(8)).toEqual([['sp+0'], ['sp+8'], ['sp+32']]);
    expect(a.args[9].pieces[0]).toMatchObject({ size: 12, slotSize: 16 });
    expect(a.args[10].pieces[0]).toMatchObject({ size: 16, slotSize: 16 });
    expect(a.stackBytes).toBe(48);
  });

  it('C.3: after an HFA went to the stack, a later float does not take a free v register', () => {
    const a = arrange(cc, 'struct D2 { double a, b; }; void f(double, double, double, double, double, double, double, struct D2, float);');
    expect(places(a).slice(7)).toEqual([['sp+0'], ['sp+16']]);
  });

  it('C.8 uses the natural alignment: an aligned(16) struct of a long after an int takes x1:x2 (GCC: mov x1, 5; mov x2, 0; mov w3, 2)', () => {
    const a = arrange(cc, 'struct __attribute__((aligned(16))) A { long a; }; void f(int, struct A, int);');
    expect(places(a)).toEqual([['x0'], ['x1', 'x2'], ['x3']]);
    // and on the stack it is 8-aligned (GCC: str w0, [sp]; stp x4, xzr, [sp, 8])
    const b = arrange(cc, 'struct __attribute__((aligned(16))) A { long a; }; void f(long, long, long, long, long, long, long, long, int, struct A);');
    expect(places(b).slice(8)).toEqual([['sp+0'], ['sp+8']]);
  });

  it('C.10/C.11: a 16-byte struct with one x register left goes to the stack, and so does every later integer', () => {
    const a = arrange(cc, 'struct L2 { long a, b; }; void f(long, long, long, long, long, long, long, struct L2, long);');
    expect(places(a).slice(6)).toEqual([['x6'], ['sp+0'], ['sp+16']]);
    expect(a.args[8].rule).toMatch(/C\.11/);
  });

  it('an empty struct takes nothing (GCC: fe(1, e, 2): mov w1, 2; mov w0, 1); a padded float pair is no HFA: x0, x1 (GCC: mov x0, 1065353216; mov x1, 1073741824)', () => {
    expect(places(arrange(cc, 'struct E {}; void f(int, struct E, int);'))).toEqual([['x0'], [], ['x1']]);
    const a = arrange(cc, 'struct A1 { float a; float b __attribute__((aligned(8))); }; void f(struct A1, int);');
    expect(places(a)).toEqual([['x0', 'x1'], ['x2']]);
    expect(a.args[0].rule).toMatch(/C\.10/);
  });

  it('C.8/C.9: __int128 after an int takes the even pair x2:x3, x1 stays free (GCC: mov x2, 9; mov x3, 5; mov w0, 1)', () => {
    const a = arrange(cc, 'void f(int, __int128, int);');
    expect(places(a)).toEqual([['x0'], ['x2', 'x3'], ['x4']]);
    expect(a.args[1].pieces).toEqual([
      { kind: 'reg', reg: 'x2', valueOffset: 0, size: 8, format: 'int' },
      { kind: 'reg', reg: 'x3', valueOffset: 8, size: 8, format: 'int' },
    ]);
    expect(a.args[1].rule).toMatch(/C\.9\/C\.8/);
    // 7 ints leave x7: the __int128 goes to a 16-aligned stack slot, and the int after it too (C.11)
    const b = arrange(cc, 'void f(int, int, int, int, int, int, int, __int128, int);');
    expect(places(b).slice(7)).toEqual([['sp+0'], ['sp+16']]);
    expect(arrange(cc, 'unsigned __int128 f(void);').result).toMatchObject({ kind: 'registers', pieces: [{ reg: 'x0' }, { reg: 'x1' }] });
  });

  it('__int128 is refused, with a typed error, where GCC has none (32-bit targets)', async () => {
    const { armAapcsVfp } = await import('../abis/arm-aapcs-vfp/convention.ts');
    expect(() => arrange(armAapcsVfp, 'void f(__int128);')).toThrow(AbiError);
    expect(() => arrange(armAapcsVfp, 'void f(__int128);')).toThrow(/__int128: not available on arm/);
  });

  it('variadic arguments are passed as fixed ones (Linux), after promotion (GCC: f_var(1, 2.5, 3, 1.5f): fmov d1, 1.5; fmov d0, 2.5; mov w1, 3)', () => {
    const a = arrange(cc, 'void f(int, ...);', ['double', 'int', 'float']);
    expect(places(a)).toEqual([['x0'], ['d0'], ['x1'], ['d1']]);
    expect(a.args[3].rule).toMatch(/float -> double/);
    expect(a.special).toEqual([]);
  });

  it('explain names AAPCS64 registers: x, s, d, q (never xmm or r)', () => {
    fc.assert(fc.property(fc.array(fc.constantFrom('int', 'long', 'float', 'double', 'long double', 'char', 'struct P', 'struct H'), { maxLength: 14 }), (types) => {
      const text = `struct P { long a; int b; }; struct H { float x, y; }; void f(${types.join(', ') || 'void'});`;
      for (const a of arrange(cc, text).args) {
        for (const p of a.pieces) if (p.kind === 'reg') expect(p.reg).toMatch(/^(x[0-7]|[sdq][0-7])$/);
      }
    }));
  });
});
