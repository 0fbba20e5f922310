// ARM AAPCS (IHI 0042): the base standard (armel, soft-float) and the VFP
// variant (armhf). The explicit cases encode the AAPCS rules and what Debian's
// GCC 12 emits for callers (arm-linux-gnueabi-gcc / arm-linux-gnueabihf-gcc
// -O2 -S -marm; the instructions are quoted next to each case); the
// properties at the end hold for any signature.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { AbiError, type ArgPiece, type CallArrangement } from '../abis/abi.ts';
import { armAapcs } from '../abis/arm-aapcs/convention.ts';
import { armAapcsVfp } from '../abis/arm-aapcs-vfp/convention.ts';
import { arrange, build, callShape, places, where, type RecShape, type Shape } from './abi-helpers.ts';

describe('arm-aapcs (base standard, armel soft-float)', () => {
  const cc = armAapcs;

  it('describes itself', () => {
    expect(cc.name).toBe('arm-aapcs');
    expect(cc.target).toBe('arm');
    expect(cc.dataModel.name).toBe('arm');
    expect(cc.registers).toEqual({ intArgs: ['r0', 'r1', 'r2', 'r3'], fpArgs: [], results: ['r0', 'r1'], preserved: ['r4', 'r5', 'r6', 'r7', 'r8', 'r9', 'r10', 'r11'] });
  });

  it('C.4: ints fill r0-r3 in order, then C.8: 4-byte stack slots from sp+0', () => {
    const a = arrange(cc, 'void f(int a, int b, int c, int d, int e, int g);');
    expect(places(a)).toEqual([['r0'], ['r1'], ['r2'], ['r3'], ['sp+0'], ['sp+4']]);
    expect(a.args[4].pieces[0]).toEqual({ kind: 'stack', offset: 0, valueOffset: 0, size: 4, slotSize: 4, slotOffset: 0 });
    expect(a.args.map((x) => x.name)).toEqual(['a', 'b', 'c', 'd', 'e', 'g']);
    expect(a.stackBytes).toBe(8);
    expect(a.stackAlign).toBe(8);
    expect(a.special).toEqual([]);
  });

  it('f(int, double, float): double in r2:r3 (C.3 skips r1), float on the stack (GCC: mov r2,#0; mov r3,#0x40000000; str r1,[sp])', () => {
    const a = arrange(cc, 'void f(int, double, float);');
    expect(places(a)).toEqual([['r0'], ['r2', 'r3'], ['sp+0']]);
    // little-endian: r2 holds bytes 0-3 of the double, r3 bytes 4-7, both as integer words
    expect(a.args[1].pieces).toEqual([
      { kind: 'reg', reg: 'r2', valueOffset: 0, size: 4, format: 'int' },
      { kind: 'reg', reg: 'r3', valueOffset: 4, size: 4, format: 'int' },
    ]);
    expect(a.args[0].name).toBe('arg0');
    expect(a.stackBytes).toBe(8);
  });

  it('f(float, double, float): no back-filling of r1 in the base standard (GCC: float r0, double r2:r3, float [sp])', () => {
    expect(places(arrange(cc, 'void f(float, double, float);'))).toEqual([['r0'], ['r2', 'r3'], ['sp+0']]);
  });

  it('C.3: long long after an int takes r2:r3, skipping r1 (GCC: ldrd r2,[r3]; mov r0,#1)', () => {
    const a = arrange(cc, 'void f(int, long long);');
    expect(places(a)).toEqual([['r0'], ['r2', 'r3']]);
    expect(a.args[1].rule).toMatch(/C\.4/);
  });

  it('C.6: after a long long went to the stack no later argument uses r3 (GCC: g(1,2,3,ll,5): ll at [sp], 5 at [sp,#8])', () => {
    const a = arrange(cc, 'void f(int, int, int, long long, int);');
    expect(places(a)).toEqual([['r0'], ['r1'], ['r2'], ['sp+0'], ['sp+8']]);
    expect(a.args[3].pieces[0]).toMatchObject({ offset: 0, size: 8, slotSize: 8 });
    expect(a.stackBytes).toBe(16);
  });

  it('C.7: 8-byte values on the stack are 8-aligned (6 doubles: 2 in r0-r3, the rest at 0, 8, 16, 24)', () => {
    const a = arrange(cc, 'struct D3 { double a, b, c; }; void f(double, double, double, double, double, double, struct D3, float, double);');
    expect(places(a)).toEqual([
      ['r0', 'r1'], ['r2', 'r3'], ['sp+0'], ['sp+8'], ['sp+16'], ['sp+24'], ['sp+32'], ['sp+56'], ['sp+64'],
    ]);
    expect(a.stackBytes).toBe(72);
  });

  it('C.5: a 12-byte struct after two ints is split: r2, r3 and 4 bytes at sp+0 (GCC: ldm r3,{r2,r3,ip}; str ip,[sp])', () => {
    const a = arrange(cc, 'struct S12 { int a, b, c; }; void f(int, int, struct S12);');
    expect(a.args[2].pieces).toEqual([
      { kind: 'reg', reg: 'r2', valueOffset: 0, size: 4, format: 'int' },
      { kind: 'reg', reg: 'r3', valueOffset: 4, size: 4, format: 'int' },
      { kind: 'stack', offset: 0, valueOffset: 8, size: 4, slotSize: 4, slotOffset: 0 },
    ]);
    expect(a.args[2].rule).toMatch(/C\.5/);
    expect(a.stackBytes).toBe(8);
  });

  it('C.5 after C.3: an 8-aligned 16-byte struct after an int goes r2:r3 + sp+0 (GCC: ldm r3,{r2,r3}; stm sp,{r0,r1})', () => {
    const a = arrange(cc, 'struct SD { double a; int b; }; void f(int, struct SD);');
    expect(places(a)).toEqual([['r0'], ['r2', 'r3', 'sp+0']]);
    expect(a.args[1].pieces[2]).toEqual({ kind: 'stack', offset: 0, valueOffset: 8, size: 8, slotSize: 8, slotOffset: 0 });
  });

  it('B.4: a composite is rounded up to words; its last register holds only its real bytes', () => {
    const a = arrange(cc, 'struct S6 { short a, b, c; }; void f(struct S6, int);');
    expect(a.args[0].pieces).toEqual([
      { kind: 'reg', reg: 'r0', valueOffset: 0, size: 4, format: 'int' },
      { kind: 'reg', reg: 'r1', valueOffset: 4, size: 2, format: 'int' },
    ]);
    expect(places(a)[1]).toEqual(['r2']);
  });

  it('a 32-byte struct of doubles is split r0-r3 + 16 bytes on the stack (GCC: ldm ip,{r0-r3}; stm sp,{r0-r3})', () => {
    const a = arrange(cc, 'struct D4 { double a, b, c, d; }; void f(struct D4);');
    expect(places(a)).toEqual([['r0', 'r1', 'r2', 'r3', 'sp+0']]);
    expect(a.args[0].pieces[4]).toMatchObject({ valueOffset: 16, size: 16, slotSize: 16 });
  });

  it('B.5: natural alignment ignores aligned(N) on the record itself (GCC: struct aligned(8) {int a,b} after an int in r1:r2, next int r3)', () => {
    const a = arrange(cc, 'struct __attribute__((aligned(8))) A8 { int a, b; }; void f(int, struct A8, int);');
    expect(places(a)).toEqual([['r0'], ['r1', 'r2'], ['r3']]);
  });

  it('B.5: a member with 8-byte alignment makes the composite double-word aligned', () => {
    const a = arrange(cc, 'struct M { int a __attribute__((aligned(8))); int b; }; void f(int, struct M);');
    expect(places(a)).toEqual([['r0'], ['r2', 'r3']]);
  });

  it('B.5: a packed struct holding a long long is only 4-aligned for argument passing', () => {
    const a = arrange(cc, 'struct __attribute__((packed)) P { char c; long long x; }; void f(int, struct P);');
    // 9 bytes -> 3 words from r1
    expect(places(a)).toEqual([['r0'], ['r1', 'r2', 'r3']]);
    expect(a.args[1].pieces[2]).toEqual({ kind: 'reg', reg: 'r3', valueOffset: 8, size: 1, format: 'int' });
  });

  it('B.2: sub-word integers are extended (char is unsigned on ARM), in registers and in full stack words (GCC: mov r0,#251; mvn ip,#5; stm sp,{r0,ip})', () => {
    const a = arrange(cc, 'void f(char, short, signed char, unsigned short, char, short, _Bool);');
    expect(a.args[0].pieces[0]).toEqual({ kind: 'reg', reg: 'r0', valueOffset: 0, size: 1, format: 'int', extend: 'zero' });
    expect(a.args[1].pieces[0]).toMatchObject({ reg: 'r1', size: 2, extend: 'sign' });
    expect(a.args[2].pieces[0]).toMatchObject({ reg: 'r2', size: 1, extend: 'sign' });
    expect(a.args[3].pieces[0]).toMatchObject({ reg: 'r3', size: 2, extend: 'zero' });
    expect(a.args[4].pieces[0]).toEqual({ kind: 'stack', offset: 0, valueOffset: 0, size: 1, slotSize: 4, slotOffset: 0, extend: 'zero' });
    expect(a.args[5].pieces[0]).toEqual({ kind: 'stack', offset: 4, valueOffset: 0, size: 2, slotSize: 4, slotOffset: 0, extend: 'sign' });
    expect(a.args[6].pieces[0]).toMatchObject({ offset: 8, size: 1, extend: 'zero' });
  });

  it('an empty struct (GNU C) takes no register (GCC: g(1, e, 2) -> r0=1, r1=2)', () => {
    const a = arrange(cc, 'struct E {}; void f(int, struct E, int);');
    expect(places(a)).toEqual([['r0'], [], ['r1']]);
  });

  describe('results (6.4)', () => {
    it('int-like in r0, extended when narrower than a word', () => {
      expect(arrange(cc, 'int f(void);').result).toMatchObject({ kind: 'registers', pieces: [{ reg: 'r0', size: 4 }] });
      expect(arrange(cc, 'signed char f(void);').result).toMatchObject({ kind: 'registers', pieces: [{ reg: 'r0', size: 1, extend: 'sign' }] });
      expect(arrange(cc, 'void *f(void);').result).toMatchObject({ kind: 'registers', pieces: [{ reg: 'r0', size: 4 }] });
    });
    it('long long and soft-float double in r0:r1 (r0 = bytes 0-3); float in r0 (GCC: rdv result: vmov d0, r0, r1)', () => {
      for (const t of ['long long', 'double', 'long double']) {
        const r = arrange(cc, `${t} f(void);`).result;
        expect(r).toEqual({
          kind: 'registers', type: expect.anything(), size: 8, rule: expect.stringMatching(/6\.4/),
          pieces: [
            { kind: 'reg', reg: 'r0', valueOffset: 0, size: 4, format: 'int' },
            { kind: 'reg', reg: 'r1', valueOffset: 4, size: 4, format: 'int' },
          ],
        });
      }
      expect(arrange(cc, 'float f(void);').result).toMatchObject({ kind: 'registers', pieces: [{ reg: 'r0', size: 4, format: 'int' }] });
    });
    it('a 4-byte struct in r0 (GCC: bl r4; ubfx r0,r0,#16,#8 reads field b)', () => {
      const a = arrange(cc, 'struct S4 { short a; char b; }; struct S4 f(int);');
      expect(a.result).toMatchObject({ kind: 'registers', size: 4, pieces: [{ kind: 'reg', reg: 'r0', valueOffset: 0, size: 4, format: 'int' }] });
      expect(places(a)).toEqual([['r0']]);
    });
    it('a 3-byte struct in r0 with only its 3 bytes meaningful', () => {
      expect(arrange(cc, 'struct S3 { char a, b, c; }; struct S3 f(void);').result)
        .toMatchObject({ kind: 'registers', size: 3, pieces: [{ reg: 'r0', valueOffset: 0, size: 3 }] });
    });
    it('an 8-byte struct through a hidden pointer in r0; arguments start at r1 (A.4) (GCC: mov r0,sp; bl r8)', () => {
      const a = arrange(cc, 'struct S8 { int a, b; }; struct S8 f(int, int, int, int);');
      expect(a.result).toMatchObject({
        kind: 'memory', size: 8, calleePops: 0,
        pointer: { kind: 'reg', reg: 'r0', valueOffset: 0, size: 4, format: 'int' },
      });
      expect(a.result.kind === 'memory' && a.result.returnedIn).toBeUndefined();
      expect(places(a)).toEqual([['r1'], ['r2'], ['r3'], ['sp+0']]);
    });
    it('struct {float, float} is 8 bytes: memory in the base standard (GCC: mov r0,sp; bl rff; ldr r0,[sp,#4])', () => {
      expect(arrange(cc, 'struct FF { float a, b; }; struct FF f(void);').result.kind).toBe('memory');
    });
    it('void', () => {
      expect(arrange(cc, 'void f(void);').result).toEqual({ kind: 'void' });
    });
  });

  describe('variadic (same rules; float promoted to double)', () => {
    it('f(int, ...) with (double, float): double r2:r3, promoted float 8-aligned at sp+0 (GCC: mov r2,#0; mov r3,#0x40000000; strd r4,[sp])', () => {
      const a = arrange(cc, 'void f(int, ...);', ['double', 'float']);
      expect(places(a)).toEqual([['r0'], ['r2', 'r3'], ['sp+0']]);
      expect(a.args[2]).toMatchObject({ variadic: true, size: 8, type: { kind: 'scalar', name: 'double' }, name: 'arg2' });
      expect(a.args[2].rule).toMatch(/float -> double/);
      expect(a.args[1].variadic).toBe(true);
      expect(a.args[0].variadic).toBe(false);
    });
    it('char and short are promoted to int', () => {
      const a = arrange(cc, 'void f(int, ...);', ['char', 'short']);
      expect(a.args[1]).toMatchObject({ size: 4, type: { name: 'int' } });
      expect(a.args[1].pieces[0]).not.toHaveProperty('extend');
    });
  });

  describe('errors', () => {
    it('variadic arguments to a non-variadic function', () => {
      expect(() => arrange(cc, 'void f(int);', ['int'])).toThrow(AbiError);
    });
    it('an incomplete struct by value', () => {
      expect(() => cc.arrange({ kind: 'function', result: { kind: 'void' }, params: [{ type: { kind: 'struct', tag: 'X', fields: [], incomplete: true } }], variadic: false, text: 'void f(struct X)' }))
        .toThrow(AbiError);
    });
  });
});

describe('arm-aapcs-vfp (armhf hard-float)', () => {
  const cc = armAapcsVfp;

  it('describes itself', () => {
    expect(cc.name).toBe('arm-aapcs-vfp');
    expect(cc.target).toBe('arm');
    expect(cc.registers.intArgs).toEqual(['r0', 'r1', 'r2', 'r3']);
    expect(cc.registers.fpArgs).toEqual(['d0', 'd1', 'd2', 'd3', 'd4', 'd5', 'd6', 'd7']);
    expect(cc.registers.results).toEqual(expect.arrayContaining(['r0', 'r1', 'd0', 'd1', 'd2', 'd3']));
    expect(cc.registers.preserved).toEqual(['r4', 'r5', 'r6', 'r7', 'r8', 'r9', 'r10', 'r11', 'd8', 'd9', 'd10', 'd11', 'd12', 'd13', 'd14', 'd15']);
  });

  it('f(int, double, float): r0, d0, and the float in s2 (GCC: mov r0,#1; vmov.f32 s2,#3.0; vmov.f64 d0,#2.0)', () => {
    const a = arrange(cc, 'void f(int, double, float);');
    expect(places(a)).toEqual([['r0'], ['d0'], ['s2']]);
    expect(a.args[1].pieces[0]).toEqual({ kind: 'reg', reg: 'd0', valueOffset: 0, size: 8, format: 'raw' });
    expect(a.args[2].pieces[0]).toEqual({ kind: 'reg', reg: 's2', valueOffset: 0, size: 4, format: 'raw' });
    expect(a.args[2].rule).not.toMatch(/back-filled/);
    expect(a.stackBytes).toBe(0);
  });

  it('C.1.vfp back-filling: f(float, double, float) -> s0, d1, s1 (GCC: vmov.f32 s1,#3.0; vmov.f64 d1,#2.0; vmov.f32 s0,#1.0)', () => {
    const a = arrange(cc, 'void f(float, double, float);');
    expect(places(a)).toEqual([['s0'], ['d1'], ['s1']]);
    expect(a.args[2].rule).toMatch(/back-filled/);
  });

  it('struct {float, float} is an HFA: s0, s1 (GCC: vldr.32 s0,[r0]; vldr.32 s1,[r0,#4])', () => {
    const a = arrange(cc, 'struct FF { float a, b; }; void f(struct FF);');
    expect(a.args[0].pieces).toEqual([
      { kind: 'reg', reg: 's0', valueOffset: 0, size: 4, format: 'raw' },
      { kind: 'reg', reg: 's1', valueOffset: 4, size: 4, format: 'raw' },
    ]);
    expect(a.args[0].rule).toMatch(/homogeneous aggregate of 2 floats/);
  });

  it('an HFA of 4 doubles in d0-d3 (GCC: vldr.64 d0..d3)', () => {
    const a = arrange(cc, 'struct D4 { double a, b, c, d; }; void f(struct D4);');
    expect(places(a)).toEqual([['d0', 'd1', 'd2', 'd3']]);
    expect(a.args[0].pieces.map((p) => p.valueOffset)).toEqual([0, 8, 16, 24]);
  });

  it('5 floats is not an HFA (1-4 elements): core registers r0-r3 + 4 bytes on the stack (GCC: ldm r0,{r0-r3}; str ip,[sp])', () => {
    const a = arrange(cc, 'struct F5 { float a, b, c, d, e; }; void f(struct F5);');
    expect(places(a)).toEqual([['r0', 'r1', 'r2', 'r3', 'sp+0']]);
    expect(a.args[0].pieces[4]).toMatchObject({ valueOffset: 16, size: 4 });
  });

  it('5.3.5: nested structs and arrays are flattened: struct {struct {float,float}; float[2]} -> s0-s3 (GCC)', () => {
    const a = arrange(cc, 'struct FF { float a, b; }; struct NF { struct FF x; float y[2]; }; void f(struct NF);');
    expect(places(a)).toEqual([['s0', 's1', 's2', 's3']]);
  });

  it('an HFA of floats may start at an odd s register: f(float, struct{float x3}, float) -> s0, s1-s3, s4 (GCC)', () => {
    const a = arrange(cc, 'struct F3 { float a, b, c; }; void f(float, struct F3, float);');
    expect(places(a)).toEqual([['s0'], ['s1', 's2', 's3'], ['s4']]);
  });

  it('a union of floats is an HFA of one float (GCC: vldr.32 s0,[r0]; vmov.f32 s1,#2.0)', () => {
    expect(places(arrange(cc, 'union UF { float f; float g; }; void f(union UF, float);'))).toEqual([['s0'], ['s1']]);
  });

  it('mixed float/double members, ints, or padding make no HFA', () => {
    expect(places(arrange(cc, 'struct M { float a; double b; }; void f(struct M);'))).toEqual([['r0', 'r1', 'r2', 'r3']]);
    expect(places(arrange(cc, 'struct M { float a; int b; }; void f(struct M);'))).toEqual([['r0', 'r1']]);
    expect(places(arrange(cc, 'struct __attribute__((aligned(16))) M { float a, b; }; void f(struct M);'))).toEqual([['r0', 'r1', 'r2', 'r3']]);
  });

  it('9 doubles: d0-d7, the 9th at sp+0 (GCC: strd r2,[sp] after vmov d0..d7)', () => {
    const a = arrange(cc, 'void f(double, double, double, double, double, double, double, double, double);');
    expect(places(a)).toEqual([['d0'], ['d1'], ['d2'], ['d3'], ['d4'], ['d5'], ['d6'], ['d7'], ['sp+0']]);
    expect(a.args[8].pieces[0]).toMatchObject({ size: 8, slotSize: 8 });
    expect(a.stackBytes).toBe(8);
  });

  it('C.2.vfp: an HFA that does not fit goes to the stack and ends back-filling (GCC: 6 doubles, struct{double x3} at [sp], float at [sp,#24], double at [sp,#32])', () => {
    const a = arrange(cc, 'struct D3 { double a, b, c; }; void f(double, double, double, double, double, double, struct D3, float, double);');
    expect(places(a)).toEqual([['d0'], ['d1'], ['d2'], ['d3'], ['d4'], ['d5'], ['sp+0'], ['sp+24'], ['sp+32']]);
    expect(a.args[6].pieces[0]).toEqual({ kind: 'stack', offset: 0, valueOffset: 0, size: 24, slotSize: 24, slotOffset: 0 });
    expect(a.args[7].rule).toMatch(/C\.2/);
    expect(a.stackBytes).toBe(40);
  });

  it('C.2.vfp: after a double went to the stack a float does not back-fill s15 (GCC: 7 doubles, float s14, double [sp], float [sp,#8])', () => {
    const a = arrange(cc, 'void f(double, double, double, double, double, double, double, float, double, float);');
    expect(places(a).slice(6)).toEqual([['d6'], ['s14'], ['sp+0'], ['sp+8']]);
  });

  it('C.5 needs NSAA == SP: with a double already on the stack a struct is not split (GCC: S8 at [sp,#8], then int at [sp,#16])', () => {
    const a = arrange(cc, 'struct S8 { int a, b; }; void f(double, double, double, double, double, double, double, double, double, int, int, int, struct S8, int);');
    expect(places(a).slice(8)).toEqual([['sp+0'], ['r0'], ['r1'], ['r2'], ['sp+8'], ['sp+16']]);
  });

  it('VFP candidates never go to core registers, other arguments ignore VFP allocation', () => {
    const a = arrange(cc, 'void f(double, int, float, long long, double);');
    expect(places(a)).toEqual([['d0'], ['r0'], ['s2'], ['r2', 'r3'], ['d2']]);
  });

  it('the base-standard rules still apply to integers: long long after an int in r2:r3', () => {
    expect(places(arrange(cc, 'void f(int, long long);'))).toEqual([['r0'], ['r2', 'r3']]);
  });

  describe('results (7.1.2.2)', () => {
    it('float in s0, double in d0', () => {
      expect(arrange(cc, 'float f(void);').result).toMatchObject({ kind: 'registers', pieces: [{ kind: 'reg', reg: 's0', size: 4, format: 'raw' }] });
      expect(arrange(cc, 'double f(void);').result).toMatchObject({ kind: 'registers', pieces: [{ kind: 'reg', reg: 'd0', size: 8, format: 'raw' }] });
    });
    it('HFAs in s0-s3 / d0-d3 (GCC: bl rff; vmov.f32 s0,s1 / bl rd4; vmov.f64 d0,d3)', () => {
      expect(where(arrange(cc, 'struct FF { float a, b; }; struct FF f(void);').result as CallArrangement['result'] & { pieces: ArgPiece[] }))
        .toEqual(['s0', 's1']);
      const r = arrange(cc, 'struct D4 { double a, b, c, d; }; struct D4 f(int);');
      expect(where(r.result as { pieces: ArgPiece[] })).toEqual(['d0', 'd1', 'd2', 'd3']);
      expect(places(r)).toEqual([['r0']]); // no hidden pointer
    });
    it('other composites as in the base standard', () => {
      expect(arrange(cc, 'struct S4 { int a; }; struct S4 f(void);').result).toMatchObject({ kind: 'registers', pieces: [{ reg: 'r0' }] });
      const a = arrange(cc, 'struct F5 { float a, b, c, d, e; }; struct F5 f(float);');
      expect(a.result).toMatchObject({ kind: 'memory', pointer: { reg: 'r0' } });
      expect(places(a)).toEqual([['s0']]);
    });
  });

  describe('variadic functions use the base standard throughout (AAPCS 6.5)', () => {
    it('doubles go to core registers, even the fixed ones (GCC: g8(1, 2.0, 3.0f): r0, r2:r3, [sp])', () => {
      const a = arrange(cc, 'void f(int, ...);', ['double', 'float']);
      expect(places(a)).toEqual([['r0'], ['r2', 'r3'], ['sp+0']]);
      expect(a.abi).toBe('arm-aapcs-vfp');
      const b = arrange(cc, 'void f(double, float, ...);', ['int']);
      expect(places(b)).toEqual([['r0', 'r1'], ['r2'], ['r3']]);
      expect(b.args[0].rule).toMatch(/base standard/);
    });
    it('and so does the result (GCC: rffv(1) returns struct FF through r0; rdv(1) returns double in r0:r1)', () => {
      expect(arrange(cc, 'struct FF { float a, b; }; struct FF f(int, ...);').result.kind).toBe('memory');
      expect(where(arrange(cc, 'double f(int, ...);').result as { pieces: ArgPiece[] })).toEqual(['r0', 'r1']);
    });
  });
});

// ---------------------------------------------------------------------------
// Properties over random signatures

const SCALARS = [
  'char', 'signed char', 'unsigned char', 'short', 'unsigned short', 'int', 'unsigned int', 'long',
  'long long', 'unsigned long long', 'float', 'double', 'long double', '_Bool', 'void *', 'enum E',
];


const shape: fc.Arbitrary<Shape> = fc.letrec<{ t: Shape; rec: RecShape }>((tie) => ({
  t: fc.oneof({ maxDepth: 2, depthIdentifier: 'shape' },
    fc.constantFrom(...SCALARS), fc.constantFrom('float', 'double'), tie('rec')),
  rec: fc.record({
    kind: fc.constantFrom<'struct' | 'union'>('struct', 'struct', 'struct', 'union'),
    fields: fc.oneof(
      fc.array(fc.record({ t: tie('t'), n: fc.option(fc.integer({ min: 1, max: 3 }), { freq: 5 }), aligned: fc.constantFrom(false, false, false, false, false, true) }), { minLength: 1, maxLength: 5 }),
      // homogeneous candidates
      fc.tuple(fc.constantFrom('float', 'double'), fc.integer({ min: 1, max: 5 })).map(([b, n]) =>
        Array.from({ length: n }, () => ({ t: b as Shape, n: null, aligned: false }))),
    ),
    attr: fc.constantFrom<'' | 'packed' | 'aligned'>('', '', '', '', 'packed', 'aligned'),
  }),
})).t;

const armCall = callShape(shape, 12);

/** s2k / s2k+1 are halves of dk: both reduce to the s registers a piece occupies. */
function regUnits(reg: string): string[] {
  const d = /^d(\d+)$/.exec(reg);
  if (d) return [`s${2 * Number(d[1])}`, `s${2 * Number(d[1]) + 1}`];
  return [reg];
}

function checkInvariants(a: CallArrangement): void {
  const usedRegs = new Set<string>();
  const stack: [number, number][] = [];
  const claim = (p: ArgPiece) => {
    if (p.kind === 'reg') {
      for (const u of regUnits(p.reg)) {
        expect(usedRegs.has(u), `register ${p.reg} used twice`).toBe(false);
        usedRegs.add(u);
      }
    } else {
      expect(p.offset % 4).toBe(0);
      expect(p.slotSize % 4).toBe(0);
      expect(p.size).toBeLessThanOrEqual(p.slotSize);
      for (const [s, e] of stack) expect(p.offset >= e || p.offset + p.slotSize <= s, 'stack slots overlap').toBe(true);
      stack.push([p.offset, p.offset + p.slotSize]);
      expect(p.offset + p.slotSize).toBeLessThanOrEqual(a.stackBytes);
    }
  };
  if (a.result.kind === 'memory') claim(a.result.pointer);
  for (const arg of a.args) {
    // every byte of the value in exactly one piece
    const covered = new Array<number>(arg.size).fill(0);
    for (const p of arg.pieces) {
      claim(p);
      for (let i = p.valueOffset; i < p.valueOffset + p.size; i++) covered[i]++;
      expect(p.valueOffset + p.size).toBeLessThanOrEqual(arg.size);
    }
    expect(covered.every((c) => c === 1), `${arg.name}: bytes covered ${covered.join(',')}`).toBe(true);
    expect(arg.passing).toBe('value');
  }
  expect(a.stackBytes % a.stackAlign).toBe(0);
  expect(a.stackAlign).toBe(8);
  if (a.result.kind === 'registers') {
    const covered = new Array<number>(a.result.size).fill(0);
    for (const p of a.result.pieces) for (let i = p.valueOffset; i < p.valueOffset + p.size; i++) covered[i]++;
    expect(covered.every((c) => c === 1)).toBe(true);
  }
}

const coreNumber = (p: ArgPiece) => (p.kind === 'reg' && /^r\d$/.test(p.reg) ? Number(p.reg.slice(1)) : undefined);
const isVfp = (p: ArgPiece) => p.kind === 'reg' && /^[sd]\d+$/.test(p.reg);

describe('properties over random signatures', () => {
  const params = { numRuns: 300 };

  it('base standard: pieces never overlap, every byte is covered once, the stack area covers every slot', () => {
    fc.assert(fc.property(armCall, (c) => {
      const { text, variadic } = build(c);
      checkInvariants(arrange(armAapcs, text, variadic));
    }), params);
  });

  it('VFP variant: the same invariants, with s/d aliasing', () => {
    fc.assert(fc.property(armCall, (c) => {
      const { text, variadic } = build(c);
      checkInvariants(arrange(armAapcsVfp, text, variadic));
    }), params);
  });

  it('core registers are allocated in order, 8-aligned values start at an even register or 8-aligned slot, nothing returns to core registers after the stack', () => {
    fc.assert(fc.property(armCall, fc.boolean(), (c, vfp) => {
      const { text, variadic } = build(c);
      const a = arrange(vfp ? armAapcsVfp : armAapcs, text, variadic);
      let lastCore = a.result.kind === 'memory' ? 0 : -1;
      let lastStack = -1;
      let coreStackSeen = false;
      for (const arg of a.args) {
        const core = arg.pieces.map(coreNumber).filter((n): n is number => n !== undefined);
        if (core.length) {
          expect(coreStackSeen, `${arg.name} back in core registers after the stack`).toBe(false);
          expect(core[0]).toBeGreaterThan(lastCore);
          core.forEach((n, i) => expect(n).toBe(core[0] + i));
          lastCore = core[core.length - 1];
          if (arg.size === 8 && arg.type.kind !== 'struct' && arg.type.kind !== 'union') expect(core[0] % 2).toBe(0);
        }
        for (const p of arg.pieces) {
          if (p.kind !== 'stack') continue;
          expect(p.offset).toBeGreaterThanOrEqual(lastStack);
          lastStack = p.offset + p.slotSize;
          if (arg.size === 8 && arg.type.kind === 'scalar') expect(p.offset % 8).toBe(0);
        }
        // a non-CPRC that reached the stack ends core-register allocation (C.5, C.6); a CPRC on the stack does not (C.2.vfp)
        if (!/vfp/.test(arg.rule) && arg.pieces.some((p) => p.kind === 'stack')) coreStackSeen = true;
      }
    }), params);
  });

  it('VFP: once a candidate went to the stack no later argument uses a VFP register; doubles use ascending d registers', () => {
    fc.assert(fc.property(armCall, (c) => {
      const { text, variadic } = build(c);
      const a = arrange(armAapcsVfp, text, variadic);
      let cprcOnStack = false;
      let lastD = -1;
      for (const arg of a.args) {
        const vfpPieces = arg.pieces.filter(isVfp);
        if (vfpPieces.length) {
          expect(cprcOnStack).toBe(false);
          for (const p of vfpPieces) {
            if (p.kind === 'reg' && p.reg.startsWith('d')) {
              expect(Number(p.reg.slice(1))).toBeGreaterThan(lastD);
              lastD = Number(p.reg.slice(1));
            }
          }
        }
        if (/C\.2\.vfp/.test(arg.rule)) cprcOnStack = true;
      }
      if (a.signature.variadic) expect(a.args.some((x) => x.pieces.some(isVfp))).toBe(false);
    }), params);
  });

  it('a variadic call on armhf is arranged exactly as on armel; without floating point the two agree anyway', () => {
    fc.assert(fc.property(armCall, (c) => {
      const { text, variadic } = build(c);
      const hf = arrange(armAapcsVfp, text, variadic);
      const el = arrange(armAapcs, text, variadic);
      if (c.variadic) {
        expect(hf.args.map((x) => x.pieces)).toEqual(el.args.map((x) => x.pieces));
        expect(hf.result).toEqual(el.result);
        expect(hf.stackBytes).toBe(el.stackBytes);
      }
      if (!/float|double/.test(text)) {
        expect(hf.args.map((x) => x.pieces)).toEqual(el.args.map((x) => x.pieces));
        expect(hf.result).toEqual(el.result);
      }
    }), params);
  });
});
