// System V i386 and x86-64 calling conventions. The explicit cases encode the
// psABI rules and what Debian's GCC 12 emits for callers (gcc -O2 -S for
// x86-64, i686-linux-gnu-gcc -O2 -S -fno-pic for i386; the instructions are
// quoted next to the cases where they decided something the document leaves
// to the implementation). The properties at the end hold for any signature.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { AbiError, type ArgPiece, type CallArrangement, type CallingConvention } from '../abis/abi.ts';
import { i386Sysv, i386SysvRegStructs } from '../abis/i386-sysv/convention.ts';
import { i386Stdcall } from '../abis/i386-stdcall/convention.ts';
import { i386Fastcall } from '../abis/i386-fastcall/convention.ts';
import { i386Thiscall } from '../abis/i386-thiscall/convention.ts';
import { i386Regparm3 } from '../abis/i386-regparm3/convention.ts';
import { planArrangement } from '../abis/plan.ts';
import { classify, mergeClasses, x86_64Sysv, type EightbyteClass } from '../abis/x86_64-sysv/convention.ts';
import { parseType } from '../ctypes/parse.ts';
import { arrange, places, where } from './abi-helpers.ts';
import type { CType, Field, RecordType, ScalarName, Signature } from '../ctypes/ctypes.ts';
import { DATA_MODELS } from '../layout/datamodel.ts';
import { LayoutCache } from '../layout/layout.ts';


const resultRegs = (a: CallArrangement) => (a.result.kind === 'registers' ? where(a.result) : a.result.kind);

function classesOf(text: string): EightbyteClass[] | 'MEMORY' {
  const c = classify(parseType(text));
  return c.memory ? 'MEMORY' : c.classes;
}

// ---------------------------------------------------------------------------
describe('x86_64-sysv: classification (psABI 3.2.3)', () => {
  it('merge rule 4 (a)-(f)', () => {
    expect(mergeClasses('SSE', 'SSE')).toBe('SSE'); // (a)
    expect(mergeClasses('NO_CLASS', 'SSE')).toBe('SSE'); // (b)
    expect(mergeClasses('INTEGER', 'NO_CLASS')).toBe('INTEGER'); // (b)
    expect(mergeClasses('MEMORY', 'SSE')).toBe('MEMORY'); // (c)
    expect(mergeClasses('SSE', 'INTEGER')).toBe('INTEGER'); // (d)
    expect(mergeClasses('INTEGER', 'X87')).toBe('INTEGER'); // (d) comes before (e)
    expect(mergeClasses('X87', 'SSE')).toBe('MEMORY'); // (e)
    expect(mergeClasses('SSE', 'X87UP')).toBe('MEMORY'); // (e)
    expect(mergeClasses('SSEUP', 'SSE')).toBe('SSE'); // (f)
  });

  it('scalars: INTEGER, SSE, X87+X87UP', () => {
    for (const t of ['_Bool', 'char', 'short', 'int', 'long', 'long long', 'unsigned long', 'void *', 'int (*)(int)']) {
      expect(classesOf(t), t).toEqual(['INTEGER']);
    }
    expect(classesOf('float')).toEqual(['SSE']);
    expect(classesOf('double')).toEqual(['SSE']);
    expect(classesOf('long double')).toEqual(['X87', 'X87UP']);
  });

  it('aggregates: each eightbyte merges the fields in it', () => {
    expect(classesOf('struct { float x, y; }')).toEqual(['SSE']);
    expect(classesOf('struct { float x, y, z; }')).toEqual(['SSE', 'SSE']);
    expect(classesOf('struct { float f; int i; }')).toEqual(['INTEGER']); // (d)
    expect(classesOf('struct { char c; double d; }')).toEqual(['INTEGER', 'SSE']);
    expect(classesOf('struct { double d; long l; }')).toEqual(['SSE', 'INTEGER']);
    expect(classesOf('struct { long a, b; }')).toEqual(['INTEGER', 'INTEGER']);
    expect(classesOf('union { double d; float f[2]; }')).toEqual(['SSE']);
    expect(classesOf('union { float f; int i; }')).toEqual(['INTEGER']);
    expect(classesOf('struct { struct { float a; } in; float b[3]; }')).toEqual(['SSE', 'SSE']);
    // a nested record is classified at its own offset: in.b lands in the second eightbyte
    expect(classesOf('struct { int x; struct { int a; float b; } in; }')).toEqual(['INTEGER', 'SSE']);
    // an array repeats all of its element's eightbyte classes
    expect(classesOf('struct { struct { long l; double d; } a[1]; }')).toEqual(['INTEGER', 'SSE']);
    expect(classesOf('struct { float f[2]; int i[2]; }')).toEqual(['SSE', 'INTEGER']);
  });

  it('MEMORY: larger than two eightbytes (5(c)), unaligned fields (rule 1), x87 merged with other classes (4(e), 5(b))', () => {
    expect(classesOf('struct { long a, b, c; }')).toBe('MEMORY');
    expect(classesOf('struct { float f[5]; }')).toBe('MEMORY');
    expect(classesOf('struct { char c; int x; } __attribute__((packed))')).toBe('MEMORY');
    expect(classesOf('struct { char c; short s; } __attribute__((packed))')).toBe('MEMORY');
    expect(classesOf('union { long double x; double d; }')).toBe('MEMORY'); // X87 + SSE
    expect(classesOf('union { long double x; int i; }')).toBe('MEMORY'); // INTEGER, then X87UP without X87
    expect(classesOf('struct { long double x; }')).toEqual(['X87', 'X87UP']);
    const c = classify(parseType('struct { char c; int x; } __attribute__((packed))'));
    expect(c.memory && c.reason).toMatch(/unaligned/);
  });

  it('GCC details: a padding-only eightbyte stays NO_CLASS; arrays check only their first element; a[0] mid-eightbyte', () => {
    // struct __attribute__((aligned(16))) { long a; }: GCC passes it in rdi alone
    expect(classesOf('struct { long a; } __attribute__((aligned(16)))')).toEqual(['INTEGER', 'NO_CLASS']);
    // GCC: packed {float; char} x 2 goes in rdi + rsi although the second float is misaligned
    expect(classesOf('struct { struct Q { float f; char c; } __attribute__((packed)) q[2]; }')).toEqual(['INTEGER', 'INTEGER']);
    // GCC: 'movl (%rdi), %edi' for struct { float f; int a[0]; } (the empty array's element still counts)
    expect(classesOf('struct { float f; int a[0]; }')).toEqual(['INTEGER']);
    expect(classesOf('struct { float f, g; int a[0]; }')).toEqual(['SSE']);
    expect(classesOf('struct { }')).toEqual(['NO_CLASS']);
  });
});

describe('x86_64-sysv: arguments and results', () => {
  const cc = x86_64Sysv;

  it('describes itself', () => {
    expect(cc.name).toBe('x86_64-sysv');
    expect(cc.target).toBe('x86_64');
    expect(cc.dataModel.name).toBe('x86_64');
    expect(cc.registers).toEqual({
      intArgs: ['rdi', 'rsi', 'rdx', 'rcx', 'r8', 'r9'],
      fpArgs: ['xmm0', 'xmm1', 'xmm2', 'xmm3', 'xmm4', 'xmm5', 'xmm6', 'xmm7'],
      results: ['rax', 'rdx', 'xmm0', 'xmm1', 'st0'],
      special: ['al'],
      preserved: ['rbx', 'rbp', 'r12', 'r13', 'r14', 'r15'],
      slotBytes: { st0: 16, al: 8 },
    });
  });

  it('double f(int, double, float): edi, xmm0, xmm1 (low 4 bytes); result xmm0', () => {
    const a = arrange(cc, 'double f(int, double, float);');
    expect(a.args.map((x) => x.pieces)).toEqual([
      [{ kind: 'reg', reg: 'rdi', valueOffset: 0, size: 4, format: 'int' }],
      [{ kind: 'reg', reg: 'xmm0', valueOffset: 0, size: 8, format: 'raw' }],
      [{ kind: 'reg', reg: 'xmm1', valueOffset: 0, size: 4, format: 'raw' }],
    ]);
    expect(a.args.map((x) => x.name)).toEqual(['arg0', 'arg1', 'arg2']);
    expect(a.result).toMatchObject({ kind: 'registers', size: 8, pieces: [{ kind: 'reg', reg: 'xmm0', valueOffset: 0, size: 8, format: 'raw' }] });
    expect(a.stackBytes).toBe(0);
    expect(a.stackAlign).toBe(16);
    expect(a.special).toEqual([]);
    expect(a.args[1].rule).toMatch(/x86-64 psABI 3\.2\.3: .*SSE/);
  });

  it('struct { float x, y } travels packed in the low 8 bytes of ONE xmm register, and is returned in xmm0', () => {
    const a = arrange(cc, 'struct V { float x, y; }; struct V add(struct V a, struct V b);');
    expect(a.args[0].pieces).toEqual([{ kind: 'reg', reg: 'xmm0', valueOffset: 0, size: 8, format: 'raw' }]);
    expect(a.args[1].pieces).toEqual([{ kind: 'reg', reg: 'xmm1', valueOffset: 0, size: 8, format: 'raw' }]);
    expect(a.args.map((x) => x.name)).toEqual(['a', 'b']);
    expect(a.result).toMatchObject({ kind: 'registers', pieces: [{ reg: 'xmm0', valueOffset: 0, size: 8 }] });
  });

  it('{double; long} -> xmm0 + rdi; returned in xmm0 + rax (GCC: movsd %xmm0 / movq %rax after the call)', () => {
    const a = arrange(cc, 'struct DL { double d; long l; }; struct DL f(struct DL s);');
    expect(a.args[0].pieces).toEqual([
      { kind: 'reg', reg: 'xmm0', valueOffset: 0, size: 8, format: 'raw' },
      { kind: 'reg', reg: 'rdi', valueOffset: 8, size: 8, format: 'int' },
    ]);
    expect(a.result).toMatchObject({ kind: 'registers', pieces: [{ reg: 'xmm0', valueOffset: 0 }, { reg: 'rax', valueOffset: 8 }] });
  });

  it('{long; double} -> rdi + xmm0; returned in rax + xmm0', () => {
    const a = arrange(cc, 'struct LD { long l; double d; }; struct LD f(struct LD s);');
    expect(a.args[0].pieces).toEqual([
      { kind: 'reg', reg: 'rdi', valueOffset: 0, size: 8, format: 'int' },
      { kind: 'reg', reg: 'xmm0', valueOffset: 8, size: 8, format: 'raw' },
    ]);
    expect(resultRegs(a)).toEqual(['rax', 'xmm0']);
  });

  it('{float; int} shares one INTEGER eightbyte: rdi (GCC: movq (%rdi), %rdi)', () => {
    const a = arrange(cc, 'struct FI { float f; int i; }; void f(struct FI s, double d);');
    expect(a.args[0].pieces).toEqual([{ kind: 'reg', reg: 'rdi', valueOffset: 0, size: 8, format: 'int' }]);
    expect(places(a)[1]).toEqual(['xmm0']);
  });

  it('{char c; double d}: INTEGER + SSE -> edi + xmm0', () => {
    const a = arrange(cc, 'struct CD { char c; double d; }; void f(struct CD s);');
    expect(a.args[0].pieces).toEqual([
      { kind: 'reg', reg: 'rdi', valueOffset: 0, size: 8, format: 'int' },
      { kind: 'reg', reg: 'xmm0', valueOffset: 8, size: 8, format: 'raw' },
    ]);
  });

  it('a 16-byte {long,long} after 5 ints does not fit: the whole struct goes on the stack and a later int still gets r9', () => {
    const a = arrange(cc, 'struct LL { long a, b; }; void f(int, int, int, int, int, struct LL s, int g);');
    expect(places(a)).toEqual([['rdi'], ['rsi'], ['rdx'], ['rcx'], ['r8'], ['sp+0'], ['r9']]);
    expect(a.args[5].pieces[0]).toEqual({ kind: 'stack', offset: 0, valueOffset: 0, size: 16, slotSize: 16, slotOffset: 0 });
    expect(a.args[5].rule).toMatch(/not enough registers/);
    expect(a.stackBytes).toBe(16);
  });

  it('{long; double} with r9 and xmm0 free fits; with no integer register left it goes on the stack and xmm0 stays free', () => {
    // GCC: movq (%rdi), %r9; movsd 8(%rdi), %xmm0; then 2.0 in xmm1, the last long on the stack
    const fits = arrange(cc, 'struct M { long l; double d; }; void f(long, long, long, long, long, struct M m, double x, long y);');
    expect(places(fits)).toEqual([['rdi'], ['rsi'], ['rdx'], ['rcx'], ['r8'], ['r9', 'xmm0'], ['xmm1'], ['sp+0']]);
    const full = arrange(cc, 'struct M { long l; double d; }; void f(long, long, long, long, long, long, struct M m, double x);');
    expect(places(full)).toEqual([['rdi'], ['rsi'], ['rdx'], ['rcx'], ['r8'], ['r9'], ['sp+0'], ['xmm0']]);
  });

  it('a 24-byte struct is MEMORY: copied to the stack 8-aligned, registers untouched', () => {
    const a = arrange(cc, 'struct S24 { long a, b, c; }; void f(int x, struct S24 s, int y);');
    expect(places(a)).toEqual([['rdi'], ['sp+0'], ['rsi']]);
    expect(a.args[1].pieces[0]).toEqual({ kind: 'stack', offset: 0, valueOffset: 0, size: 24, slotSize: 24, slotOffset: 0 });
    expect(a.args[1].passing).toBe('value');
    expect(a.args[1].rule).toMatch(/MEMORY/);
    expect(a.stackBytes).toBe(32);
  });

  it('struct results of 8, 16 and 24 bytes: rax; rax + rdx; hidden pointer in rdi returned in rax', () => {
    const r8 = arrange(cc, 'struct I2 { int a, b; }; struct I2 f(void);');
    expect(r8.result).toMatchObject({ kind: 'registers', size: 8, pieces: [{ kind: 'reg', reg: 'rax', valueOffset: 0, size: 8, format: 'int' }] });
    const r16 = arrange(cc, 'struct L2 { long a, b; }; struct L2 f(void);');
    expect(resultRegs(r16)).toEqual(['rax', 'rdx']);
    const r24 = arrange(cc, 'struct S24 { long a, b, c; }; struct S24 f(int x);');
    expect(r24.result).toEqual({
      kind: 'memory',
      type: expect.anything(),
      size: 24,
      pointer: { kind: 'reg', reg: 'rdi', valueOffset: 0, size: 8, format: 'int' },
      returnedIn: 'rax',
      calleePops: 0,
      rule: expect.stringMatching(/x86-64 psABI 3\.2\.3: MEMORY/),
    });
    // GCC: movl $5, %esi; movq %rsp, %rdi; call r24
    expect(places(r24)).toEqual([['rsi']]);
  });

  it('the hidden pointer takes the first integer register: a 6th int goes to the stack', () => {
    const a = arrange(cc, 'struct S24 { long a, b, c; }; struct S24 f(int, int, int, int, int, int);');
    expect(places(a)).toEqual([['rsi'], ['rdx'], ['rcx'], ['r8'], ['r9'], ['sp+0']]);
  });

  it('{float, float, float} result: xmm0 (8 bytes) + xmm1 (4 bytes)', () => {
    const a = arrange(cc, 'struct F3 { float a, b, c; }; struct F3 f(void);');
    expect(a.result).toMatchObject({
      kind: 'registers',
      size: 12,
      pieces: [
        { kind: 'reg', reg: 'xmm0', valueOffset: 0, size: 8, format: 'raw' },
        { kind: 'reg', reg: 'xmm1', valueOffset: 8, size: 4, format: 'raw' },
      ],
    });
  });

  it('a 12-byte {int,int,int} argument: rdi (8 bytes) + rsi (4 bytes)', () => {
    const a = arrange(cc, 'struct I3 { int a, b, c; }; void f(struct I3 s);');
    expect(a.args[0].pieces).toEqual([
      { kind: 'reg', reg: 'rdi', valueOffset: 0, size: 8, format: 'int' },
      { kind: 'reg', reg: 'rsi', valueOffset: 8, size: 4, format: 'int' },
    ]);
  });

  it('9 doubles: the 9th goes to the stack at sp+0, an int after them still gets rdi', () => {
    const a = arrange(cc, 'void f(double, double, double, double, double, double, double, double, double, int);');
    expect(places(a)).toEqual([['xmm0'], ['xmm1'], ['xmm2'], ['xmm3'], ['xmm4'], ['xmm5'], ['xmm6'], ['xmm7'], ['sp+0'], ['rdi']]);
    expect(a.args[8].pieces[0]).toEqual({ kind: 'stack', offset: 0, valueOffset: 0, size: 8, slotSize: 8, slotOffset: 0 });
    expect(a.stackBytes).toBe(16);
  });

  it('7 ints: 8-byte stack slots, sub-int values extended (GCC: pushq $7 / movsbl)', () => {
    const a = arrange(cc, 'void f(long, long, long, long, long, long, char c, unsigned short u, int i);');
    expect(a.args[6].pieces[0]).toEqual({ kind: 'stack', offset: 0, valueOffset: 0, size: 1, slotSize: 8, slotOffset: 0, extend: 'sign' });
    expect(a.args[7].pieces[0]).toEqual({ kind: 'stack', offset: 8, valueOffset: 0, size: 2, slotSize: 8, slotOffset: 0, extend: 'zero' });
    expect(a.args[8].pieces[0]).toEqual({ kind: 'stack', offset: 16, valueOffset: 0, size: 4, slotSize: 8, slotOffset: 0 });
    expect(a.stackBytes).toBe(32);
  });

  it('sub-int register arguments record their extension (GCC: movsbl, movzbl, movswl, setne)', () => {
    const a = arrange(cc, 'void f(char c, unsigned char u, short s, _Bool b, signed char sc, int i, enum E { A = -1 } e);');
    const ext = a.args.map((x) => (x.pieces[0].kind === 'reg' ? x.pieces[0].extend : 'stack'));
    expect(ext).toEqual(['sign', 'zero', 'sign', 'zero', 'sign', undefined, 'stack']);
    expect(a.args[6].pieces[0]).toEqual({ kind: 'stack', offset: 0, valueOffset: 0, size: 4, slotSize: 8, slotOffset: 0 });
  });

  it('variadic: al = number of vector registers used; float -> double, char -> int', () => {
    // GCC for vf(3, 1.0f, 2.0, 3): movl $2, %eax
    const a = arrange(cc, 'int printf(const char *fmt, ...);', ['float', 'double', 'int', 'char']);
    expect(places(a)).toEqual([['rdi'], ['xmm0'], ['xmm1'], ['rsi'], ['rdx']]);
    expect(a.special).toEqual([{ reg: 'al', value: 2, why: expect.stringMatching(/vector registers/) }]);
    expect(a.args[1]).toMatchObject({ variadic: true, size: 8, type: { kind: 'scalar', name: 'double' } });
    expect(a.args[1].pieces[0]).toMatchObject({ reg: 'xmm0', size: 8 });
    expect(a.args[1].rule).toMatch(/float -> double/);
    expect(a.args[4]).toMatchObject({ variadic: true, size: 4, type: { kind: 'scalar', name: 'int' } });
    expect(a.args[0].variadic).toBe(false);
    // GCC for vf(3, 1, 2, 3): xorl %eax, %eax
    expect(arrange(cc, 'void vf(int n, ...);', ['int']).special).toEqual([{ reg: 'al', value: 0, why: expect.any(String) }]);
    expect(arrange(cc, 'void vf(int n, ...);').special).toMatchObject([{ reg: 'al', value: 0 }]);
    // al counts every vector register, fixed and variadic, and not the ones past xmm7
    const many = arrange(cc, 'void vf(double, double, double, ...);', Array(8).fill('double'));
    expect(many.special[0].value).toBe(8);
    expect(places(many).slice(8)).toEqual([['sp+0'], ['sp+8'], ['sp+16']]);
  });

  it('long double arguments go on the stack 16-aligned (GCC: pushq $7 at sp+0, the long double at sp+16, 8 at sp+32)', () => {
    const a = arrange(cc, 'void f(long, long, long, long, long, long, long s0, long double x, long s1);');
    expect(places(a).slice(6)).toEqual([['sp+0'], ['sp+16'], ['sp+32']]);
    expect(a.args[7].pieces[0]).toEqual({ kind: 'stack', offset: 16, valueOffset: 0, size: 16, slotSize: 16, slotOffset: 0 });
    expect(a.args[7].rule).toMatch(/X87/);
    expect(a.stackBytes).toBe(48);
    // even with registers free: a long double is never in a register
    expect(places(arrange(cc, 'void f(long double x, int i);'))).toEqual([['sp+0'], ['rdi']]);
  });

  it('long double and struct { long double } results come back in st0 (x87); as an argument that struct is on the stack', () => {
    const st0 = { kind: 'reg', reg: 'st0', valueOffset: 0, size: 10, format: 'x87' };
    expect(arrange(cc, 'long double f(void);').result).toMatchObject({ kind: 'registers', size: 16, pieces: [st0] });
    const a = arrange(cc, 'struct LD { long double x; }; struct LD f(long a, struct LD s, int x);');
    expect(a.result).toMatchObject({ kind: 'registers', pieces: [st0] });
    expect(places(a)).toEqual([['rdi'], ['sp+0'], ['rsi']]);
    // union { long double; int }: MEMORY, returned through rdi
    expect(arrange(cc, 'union U { long double x; int i; }; union U f(void);').result.kind).toBe('memory');
  });

  it('float and sub-int results: xmm0 low 4 bytes; al/ax with the extension for the reader', () => {
    expect(arrange(cc, 'float f(void);').result).toMatchObject({ pieces: [{ reg: 'xmm0', size: 4, format: 'raw' }] });
    expect(arrange(cc, 'char f(void);').result).toMatchObject({ pieces: [{ reg: 'rax', size: 1, format: 'int', extend: 'sign' }] });
    expect(arrange(cc, 'unsigned short f(void);').result).toMatchObject({ pieces: [{ reg: 'rax', size: 2, extend: 'zero' }] });
    expect(arrange(cc, 'void *f(void);').result).toMatchObject({ pieces: [{ reg: 'rax', size: 8 }] });
    expect(arrange(cc, 'void f(void);').result).toEqual({ kind: 'void' });
  });

  it('packed structs with unaligned fields are MEMORY (GCC copies struct P to (%rsp))', () => {
    const a = arrange(cc, 'struct P { char c; int x; } __attribute__((packed)); void f(struct P p, int i);');
    expect(places(a)).toEqual([['sp+0'], ['rdi']]);
    expect(a.args[0].pieces[0]).toMatchObject({ size: 5, slotSize: 8 });
    expect(a.args[0].rule).toMatch(/unaligned/);
  });

  it('aligned(16) struct { long }: rdi alone; on the stack a 16-aligned 16-byte slot (GCC: 7 at sp+0, struct at sp+16, 8 at sp+32)', () => {
    const t = 'struct A { long a; } __attribute__((aligned(16)));';
    expect(places(arrange(cc, `${t} void f(struct A a, long b);`))).toEqual([['rdi'], ['rsi']]);
    expect(arrange(cc, `${t} struct A f(void);`).result).toMatchObject({ pieces: [{ reg: 'rax', valueOffset: 0, size: 8 }] });
    const s = arrange(cc, `${t} void f(long, long, long, long, long, long, long s0, struct A a, long s1);`);
    expect(places(s).slice(6)).toEqual([['sp+0'], ['sp+16'], ['sp+32']]);
    expect(s.args[7].pieces[0]).toMatchObject({ size: 16, slotSize: 16 });
  });

  it('an aligned(32) MEMORY argument gets a 32-aligned slot and the call a 32-aligned stack (GCC realigns rsp)', () => {
    const a = arrange(cc, 'struct A32 { long a, b, c; } __attribute__((aligned(32))); void f(long, long, long, long, long, long, long s0, struct A32 a);');
    expect(a.args[7].pieces[0]).toEqual({ kind: 'stack', offset: 32, valueOffset: 0, size: 32, slotSize: 32, slotOffset: 0 });
    expect(a.stackAlign).toBe(32);
    expect(a.stackBytes).toBe(64);
  });

  it('an empty struct (GNU C) takes no register and no stack', () => {
    const a = arrange(cc, 'struct E { }; void f(int a, struct E e, int b);');
    expect(places(a)).toEqual([['rdi'], [], ['rsi']]);
    expect(a.args[1].size).toBe(0);
  });

  it('errors: void, function and array arguments, incomplete structs, variadic args to a fixed function', () => {
    const sig = (params: CType[], result: CType = { kind: 'void' }, variadic = false): Signature =>
      ({ kind: 'function', result, params: params.map((type) => ({ type })), variadic, text: 'f' });
    const int: CType = { kind: 'scalar', name: 'int' };
    for (const cc2 of [x86_64Sysv, i386Sysv]) {
      expect(() => cc2.arrange(sig([{ kind: 'void' }]))).toThrow(AbiError);
      expect(() => cc2.arrange(sig([{ kind: 'function', result: int, params: [], variadic: false }]))).toThrow(/function/);
      expect(() => cc2.arrange(sig([{ kind: 'array', element: int, length: 4 }]))).toThrow(/array/);
      expect(() => cc2.arrange(sig([], { kind: 'struct', tag: 'S', fields: [], incomplete: true }))).toThrow(/incomplete/);
      expect(() => cc2.arrange(sig([int]), [int])).toThrow(/not variadic/);
      expect(() => cc2.arrange(sig([], { kind: 'array', element: int, length: 2 }))).toThrow(AbiError);
    }
  });
});

// ---------------------------------------------------------------------------
describe('i386-sysv (Linux GCC)', () => {
  const cc = i386Sysv;

  it('describes itself', () => {
    expect(cc.name).toBe('i386-sysv');
    expect(cc.target).toBe('x86');
    expect(cc.dataModel.name).toBe('i386');
    expect(cc.registers).toEqual({ intArgs: [], fpArgs: [], results: ['eax', 'edx', 'st0'], preserved: ['ebx', 'esi', 'edi', 'ebp'], slotBytes: { st0: 16 } });
  });

  it('all arguments in 4-byte stack words from esp+0; 8-byte values 4-aligned; long double 12 bytes', () => {
    const a = arrange(cc, 'int f(char c, short s, int i, long long ll, double d, float fl, long double ld, void *p);');
    expect(places(a)).toEqual([['sp+0'], ['sp+4'], ['sp+8'], ['sp+12'], ['sp+20'], ['sp+28'], ['sp+32'], ['sp+44']]);
    expect(a.args.map((x) => x.pieces[0].kind === 'stack' && [x.pieces[0].size, x.pieces[0].slotSize])).toEqual([
      [1, 4], [2, 4], [4, 4], [8, 8], [8, 8], [4, 4], [12, 12], [4, 4],
    ]);
    expect(a.args[0].pieces[0]).toMatchObject({ extend: 'sign' });
    expect(a.args[1].pieces[0]).toMatchObject({ extend: 'sign' });
    expect(a.args[2].pieces[0]).not.toHaveProperty('extend');
    expect(a.stackBytes).toBe(48);
    expect(a.stackAlign).toBe(16);
    expect(a.special).toEqual([]);
    expect(a.args[3].rule).toMatch(/i386 psABI 2\.2\.3/);
  });

  it('f(int, double): the double at esp+4, no padding to 8', () => {
    expect(places(arrange(cc, 'void f(int, double);'))).toEqual([['sp+0'], ['sp+4']]);
  });

  it('sub-word arguments are widened (GCC: movsbl, movzbl, movswl, setne before pushl)', () => {
    const a = arrange(cc, 'void f(char c, unsigned char u, short s, _Bool b);');
    expect(a.args.map((x) => x.pieces[0])).toEqual([
      { kind: 'stack', offset: 0, valueOffset: 0, size: 1, slotSize: 4, slotOffset: 0, extend: 'sign' },
      { kind: 'stack', offset: 4, valueOffset: 0, size: 1, slotSize: 4, slotOffset: 0, extend: 'zero' },
      { kind: 'stack', offset: 8, valueOffset: 0, size: 2, slotSize: 4, slotOffset: 0, extend: 'sign' },
      { kind: 'stack', offset: 12, valueOffset: 0, size: 1, slotSize: 4, slotOffset: 0, extend: 'zero' },
    ]);
    expect(a.stackBytes).toBe(16);
  });

  it('structs by value are copied in place, padded to 4; aligned(16) does not raise the slot alignment (GCC: struct at 4(%esp))', () => {
    const a = arrange(cc, 'struct C3 { char a, b, c; }; struct D { double d; int i; }; void f(struct C3 c, struct D d, long long l, double e);');
    expect(places(a)).toEqual([['sp+0'], ['sp+4'], ['sp+16'], ['sp+24']]);
    expect(a.args[0].pieces[0]).toEqual({ kind: 'stack', offset: 0, valueOffset: 0, size: 3, slotSize: 4, slotOffset: 0 });
    expect(a.args[1].pieces[0]).toMatchObject({ size: 12, slotSize: 12 });
    expect(a.stackBytes).toBe(32);
    const al = arrange(cc, 'struct A16 { int a; } __attribute__((aligned(16))); void f(int x, struct A16 a, int b);');
    expect(places(al)).toEqual([['sp+0'], ['sp+4'], ['sp+20']]);
    expect(al.stackAlign).toBe(16);
  });

  it('every struct or union result, even 1 byte or empty, goes through a hidden pointer at esp+0, returned in eax, popped by the callee', () => {
    for (const t of ['struct S1 { char c; }', 'struct S4 { int a; }', 'struct S8 { int a, b; }', 'union U { float f; int i; }', 'struct F { float f; }', 'struct E { }']) {
      const a = arrange(cc, `${t}; ${t.split(' {')[0]} f(int x, double y);`);
      expect(a.result, t).toMatchObject({
        kind: 'memory',
        pointer: { kind: 'stack', offset: 0, valueOffset: 0, size: 4, slotSize: 4, slotOffset: 0 },
        returnedIn: 'eax',
        calleePops: 4,
      });
      expect(places(a), t).toEqual([['sp+4'], ['sp+8']]);
      expect(a.stackBytes, t).toBe(16);
    }
  });

  it('results: eax; edx:eax for long long; st0 (x87) for float, double, long double', () => {
    expect(arrange(cc, 'int f(void);').result).toMatchObject({ kind: 'registers', pieces: [{ kind: 'reg', reg: 'eax', valueOffset: 0, size: 4, format: 'int' }] });
    expect(arrange(cc, 'long long f(void);').result).toMatchObject({
      pieces: [
        { kind: 'reg', reg: 'eax', valueOffset: 0, size: 4, format: 'int' },
        { kind: 'reg', reg: 'edx', valueOffset: 4, size: 4, format: 'int' },
      ],
    });
    // GCC's callee may return a char loaded with movzbl: the reader extends
    expect(arrange(cc, 'char f(void);').result).toMatchObject({ pieces: [{ reg: 'eax', size: 1, extend: 'sign' }] });
    expect(arrange(cc, 'unsigned short f(void);').result).toMatchObject({ pieces: [{ reg: 'eax', size: 2, extend: 'zero' }] });
    expect(arrange(cc, 'float f(void);').result).toMatchObject({ size: 4, pieces: [{ reg: 'st0', size: 4, format: 'x87' }] });
    expect(arrange(cc, 'double f(void);').result).toMatchObject({ size: 8, pieces: [{ reg: 'st0', size: 8, format: 'x87' }] });
    expect(arrange(cc, 'long double f(void);').result).toMatchObject({ size: 12, pieces: [{ reg: 'st0', valueOffset: 0, size: 10, format: 'x87' }] });
    expect(arrange(cc, 'char *f(void);').result).toMatchObject({ pieces: [{ reg: 'eax', size: 4 }] });
  });

  it('variadic arguments: float -> double, char -> int, placed like fixed ones', () => {
    const a = arrange(cc, 'int printf(const char *fmt, ...);', ['float', 'char', 'long long', 'struct T { char c[3]; }']);
    expect(places(a)).toEqual([['sp+0'], ['sp+4'], ['sp+12'], ['sp+16'], ['sp+24']]);
    expect(a.args[1]).toMatchObject({ variadic: true, size: 8, type: { name: 'double' } });
    expect(a.args[2]).toMatchObject({ size: 4, type: { name: 'int' } });
    expect(a.args[2].pieces[0]).not.toHaveProperty('extend');
    expect(a.special).toEqual([]);
    expect(a.stackBytes).toBe(32);
  });

  it('an empty struct argument takes no stack (GCC: pushl $2; pushl $1 for fe(1, e, 2))', () => {
    expect(places(arrange(cc, 'struct E { }; void f(int a, struct E e, int b);'))).toEqual([['sp+0'], [], ['sp+4']]);
  });
});

describe('i386-sysv with -freg-struct-return (i386SysvRegStructs)', () => {
  const cc = i386SysvRegStructs;
  const res = (t: string) => {
    const a = arrange(cc, `${t}; ${t.split(' {')[0]} f(int x);`);
    return a.result.kind === 'registers' ? where(a.result) : a.result.kind;
  };

  it('structs with an integer mode of 1, 2, 4, 8 bytes in eax / edx:eax; a float mode in st0; others in memory', () => {
    expect(res('struct S2 { short a; }')).toEqual(['eax']);
    expect(res('struct C2 { char a, b; }')).toEqual(['eax']);
    expect(res('struct I2 { int a, b; }')).toEqual(['eax', 'edx']);
    expect(res('struct FF { float a, b; }')).toEqual(['eax', 'edx']); // GCC: movl %edx, 12(%esp); flds 12(%esp)
    expect(res('union U { float f; int i; }')).toEqual(['eax']);
    expect(res('union UF { float f; }')).toEqual(['eax']); // a union gets an integer mode
    expect(res('union UD { double d; long long l; }')).toEqual(['eax', 'edx']);
    expect(res('struct F { float f; }')).toEqual(['st0']);
    expect(res('struct D { double d; }')).toEqual(['st0']);
    expect(res('struct LD { long double x; }')).toEqual(['st0']);
    expect(res('struct AF { float f[1]; }')).toEqual(['st0']);
    expect(res('struct NF { struct { float f; } in; }')).toEqual(['st0']);
    expect(res('struct C3 { char a, b, c; }')).toBe('memory');
    expect(res('struct I3 { int a, b, c; }')).toBe('memory');
    expect(res('struct P6 { short a, b, c; }')).toBe('memory');
    expect(res('struct B { char c[3]; char d; }')).toBe('memory'); // a 3-byte member has no register mode
    expect(res('struct DA { double d; } __attribute__((aligned(16)))')).toBe('memory');
    expect(res('struct E { }')).toBe('memory');
    const m = arrange(cc, 'struct I3 { int a, b, c; }; struct I3 f(int x);');
    expect(m.result).toMatchObject({ kind: 'memory', calleePops: 4, returnedIn: 'eax' });
    expect(places(m)).toEqual([['sp+4']]);
    expect(places(arrange(cc, 'struct I2 { int a, b; }; struct I2 f(int x);'))).toEqual([['sp+0']]);
  });
});

// ---------------------------------------------------------------------------
// The GCC x86 function attributes (GCC manual, x86 Function Attributes). Each case was read off
// i686-linux-gnu-gcc 12 -O2 -S -fno-pic for a callee with the attribute; the instructions that
// decided it are quoted.
const pops = (a: CallArrangement) => a.calleePops?.bytes ?? 0;

describe('i386-stdcall: arguments as i386-sysv, the callee pops them', () => {
  const cc = i386Stdcall;
  it('ret N: N is every stack byte, a 12-byte long double and the hidden pointer included (GCC: ret $20, ret $24, ret $12)', () => {
    const a = arrange(cc, 'int f(unsigned char x, long long y, int z, int w);');
    expect(places(a)).toEqual([['sp+0'], ['sp+4'], ['sp+12'], ['sp+16']]);
    expect(pops(a)).toBe(20);
    expect(a.calleePops?.rule).toMatch(/^GCC manual, x86 Function Attributes \(stdcall\); GCC i386 ix86_return_pops_args: .*ret \$20/);
    expect(pops(arrange(cc, 'int f(long double x, int a, int b, int c);'))).toBe(24);
    const s = arrange(cc, 'struct S8 { int a, b; }; struct S8 f(int a, int b);');
    expect(s.result).toMatchObject({ kind: 'memory', pointer: { kind: 'stack', offset: 0 }, returnedIn: 'eax' });
    expect(places(s)).toEqual([['sp+4'], ['sp+8']]);
    expect(pops(s)).toBe(12);
    expect(a.stackBytes).toBe(32); // the frame stays 16-aligned; the callee pops only its 20
  });
  it('the plan: the call op and the call-back return pop N', () => {
    const plan = planArrangement(cc, arrange(cc, 'int f(int a, int b, int c);'));
    expect(plan.ops.find((o) => o.op === 'call')).toMatchObject({ pops: 12 });
    expect(plan.thunk[plan.thunk.length - 1]).toMatchObject({ op: 'return', pops: 12, why: expect.stringContaining('ret $12') });
  });
  it('variadic: caller pops, but for the hidden pointer as on i386-sysv (GCC: ret, ret $4)', () => {
    expect(pops(arrange(cc, 'int f(int a, ...);', ['int']))).toBe(0);
    expect(pops(arrange(cc, 'struct S8 { int a, b; }; struct S8 f(int a, ...);', ['int']))).toBe(4);
  });
  it('no argument register: the register image has none', () => {
    expect(cc.registers.intArgs).toEqual([]);
  });
});

describe('i386-fastcall: ecx, edx for integers of up to 4 bytes', () => {
  const cc = i386Fastcall;
  it('two ints in ecx, edx, the third on the stack, popped (GCC: leal (%ecx,%edx); addl 4(%esp); ret $4)', () => {
    const a = arrange(cc, 'int f(int a, int b, int c);');
    expect(places(a)).toEqual([['ecx'], ['edx'], ['sp+0']]);
    expect(pops(a)).toBe(4);
    expect(a.args[0].rule).toBe('GCC manual, x86 Function Attributes (fastcall); GCC i386 function_arg_32: integer or pointer in ecx');
  });
  it('char, short: cl, dx (GCC: movsbl %cl; movswl %dx), extended', () => {
    const a = arrange(cc, 'int f(char c, short s, int a, int b);');
    expect(places(a)).toEqual([['ecx'], ['edx'], ['sp+0'], ['sp+4']]);
    expect(a.args[0].pieces[0]).toMatchObject({ size: 1, extend: 'sign', format: 'int' });
  });
  it('a long long goes on the stack and uses up both registers (GCC f(long long, int, int): 4(%esp), 8(%esp), 12(%esp), ret $16)', () => {
    expect(places(arrange(cc, 'int f(long long b, int a, int c);'))).toEqual([['sp+0'], ['sp+8'], ['sp+12']]);
    expect(places(arrange(cc, 'int f(int a, long long b, int c);'))).toEqual([['ecx'], ['sp+0'], ['sp+8']]);
  });
  it('a 4-byte struct or union goes on the stack and uses up ecx; a double uses none (GCC: s at 4(%esp), a in edx)', () => {
    expect(places(arrange(cc, 'struct S4 { short a, b; }; int f(struct S4 s, int a, int b);'))).toEqual([['sp+0'], ['edx'], ['sp+4']]);
    expect(places(arrange(cc, 'union U { int i; float f; }; int f(union U u, int a, int b, int c);'))).toEqual([['sp+0'], ['edx'], ['sp+4'], ['sp+8']]);
    expect(places(arrange(cc, 'int f(double d, int a, int b);'))).toEqual([['sp+0'], ['ecx'], ['edx']]);
    expect(places(arrange(cc, 'struct F { float f; }; int f(struct F u, int a, int b, int c);'))).toEqual([['sp+0'], ['ecx'], ['edx'], ['sp+4']]);
  });
  it('the hidden pointer takes ecx (GCC: movl %ecx, %eax; ret $4)', () => {
    const a = arrange(cc, 'struct S8 { int a, b; }; struct S8 f(int a, int b);');
    expect(a.result).toMatchObject({ kind: 'memory', pointer: { kind: 'reg', reg: 'ecx' }, returnedIn: 'eax', calleePops: 0 });
    expect(places(a)).toEqual([['edx'], ['sp+0']]);
    expect(pops(a)).toBe(4);
  });
  it('variadic: everything on the stack, nothing popped, not even the hidden pointer (GCC: ret)', () => {
    expect(places(arrange(cc, 'int f(int a, ...);', ['int']))).toEqual([['sp+0'], ['sp+4']]);
    const s = arrange(cc, 'struct S8 { int a, b; }; struct S8 f(int a, ...);', ['int']);
    expect(s.result).toMatchObject({ pointer: { kind: 'stack', offset: 0 } });
    expect(pops(s)).toBe(0);
  });
});

describe('i386-thiscall: the first argument in ecx', () => {
  const cc = i386Thiscall;
  it('a pointer first: ecx, the rest on the stack, popped (GCC: movl (%ecx), %eax; addl 4(%esp); ret $8)', () => {
    const a = arrange(cc, 'int f(int *p, int a, int b);');
    expect(places(a)).toEqual([['ecx'], ['sp+0'], ['sp+4']]);
    expect(pops(a)).toBe(8);
    expect(a.args[0].rule).toBe('GCC manual, x86 Function Attributes (thiscall); GCC i386 function_arg_32: integer or pointer in ecx');
    expect(a.args[1].rule).toContain('no argument register left');
  });
  it('a first struct or long long uses up ecx (GCC: ret $12 with all on the stack); a double leaves it free', () => {
    expect(places(arrange(cc, 'struct S4 { short a, b; }; int f(struct S4 s, int a, int b);'))).toEqual([['sp+0'], ['sp+4'], ['sp+8']]);
    expect(places(arrange(cc, 'int f(long long b, int a, int c);'))).toEqual([['sp+0'], ['sp+8'], ['sp+12']]);
    expect(places(arrange(cc, 'int f(double d, int a, int b);'))).toEqual([['sp+0'], ['ecx'], ['sp+8']]);
  });
  it('the hidden pointer takes ecx (GCC r_s8(int, int): a, b at 4(%esp), 8(%esp), ret $8)', () => {
    const a = arrange(cc, 'struct S8 { int a, b; }; struct S8 f(int a, int b);');
    expect(a.result).toMatchObject({ pointer: { kind: 'reg', reg: 'ecx' } });
    expect(places(a)).toEqual([['sp+0'], ['sp+4']]);
    expect(pops(a)).toBe(8);
  });
});

describe('i386-regparm3: eax, edx, ecx', () => {
  const cc = i386Regparm3;
  it('int, long long, int: eax, then edx:ecx (low word in edx), then the stack; the caller pops (GCC: adcl with ecx; 8(%esp) after a push; ret)', () => {
    const a = arrange(cc, 'long long f(int a, long long b, int c);');
    expect(places(a)).toEqual([['eax'], ['edx', 'ecx'], ['sp+0']]);
    expect(a.args[1].pieces).toEqual([
      { kind: 'reg', reg: 'edx', valueOffset: 0, size: 4, format: 'int' },
      { kind: 'reg', reg: 'ecx', valueOffset: 4, size: 4, format: 'int' },
    ]);
    expect(a.args[1].rule).toBe('GCC manual, x86 Function Attributes (regparm(3)); GCC i386 function_arg_32: 8-byte integer in edx, ecx (low word first)');
    expect(pops(a)).toBe(0);
  });
  it('a long long that does not fit goes on the stack and leaves no register (GCC g1(int, int, long long, int): d at 12(%esp))', () => {
    expect(places(arrange(cc, 'int f(int a, int b, long long c, int d);'))).toEqual([['eax'], ['edx'], ['sp+0'], ['sp+8']]);
    expect(places(arrange(cc, 'int f(long long b, int a, int c);'))).toEqual([['eax', 'edx'], ['ecx'], ['sp+0']]);
  });
  it('structs of up to 3 words take registers, a struct of one double none (GCC: movsbl %al; s.c in ecx; a in eax after struct D)', () => {
    expect(places(arrange(cc, 'struct S3 { char a, b, c; }; int f(struct S3 s, int b);'))).toEqual([['eax'], ['edx']]);
    expect(places(arrange(cc, 'struct S12 { int a, b, c; }; int f(struct S12 s, int b);'))).toEqual([['eax', 'edx', 'ecx'], ['sp+0']]);
    expect(places(arrange(cc, 'struct S12 { int a, b, c; }; int f(int a, struct S12 s, int b);'))).toEqual([['eax'], ['sp+0'], ['sp+12']]);
    expect(places(arrange(cc, 'struct FF { float a, b; }; int f(struct FF s, int b);'))).toEqual([['eax', 'edx'], ['ecx']]);
    expect(places(arrange(cc, 'struct D { double d; }; int f(struct D s, int b, int c, int d);'))).toEqual([['sp+0'], ['eax'], ['edx'], ['ecx']]);
  });
  it('the hidden pointer takes eax and is not popped (GCC r_s8: movl %edx, (%eax); ret)', () => {
    const a = arrange(cc, 'struct S8 { int a, b; }; struct S8 f(int a, int b);');
    expect(a.result).toMatchObject({ pointer: { kind: 'reg', reg: 'eax' }, returnedIn: 'eax' });
    expect(places(a)).toEqual([['edx'], ['ecx']]);
    expect(pops(a)).toBe(0);
  });
  it('variadic: every argument and the hidden pointer on the stack, none popped (GCC rv: movl 4(%esp), %eax; ret)', () => {
    const s = arrange(cc, 'struct S8 { int a, b; }; struct S8 f(int a, ...);', ['int']);
    expect(s.result).toMatchObject({ pointer: { kind: 'stack', offset: 0 } });
    expect(places(s)).toEqual([['sp+4'], ['sp+8']]);
    expect(pops(s)).toBe(0);
  });
});

// ---------------------------------------------------------------------------
// Properties over random signatures of scalars and small structs.

const SCALARS: ScalarName[] = [
  '_Bool', 'char', 'signed char', 'unsigned char', 'short', 'unsigned short', 'int', 'unsigned int', 'long', 'unsigned long',
  'long long', 'unsigned long long', 'float', 'double', 'long double', 'wchar_t',
];
const scalarArb: fc.Arbitrary<CType> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...SCALARS).map((name): CType => ({ kind: 'scalar', name })) },
  { weight: 3, arbitrary: fc.constantFrom<ScalarName>('float', 'double').map((name): CType => ({ kind: 'scalar', name })) },
  { weight: 1, arbitrary: fc.constant<CType>({ kind: 'pointer', to: { kind: 'scalar', name: 'char' } }) },
);
const fieldTypeArb: fc.Arbitrary<CType> = fc.oneof(
  { weight: 5, arbitrary: scalarArb },
  { weight: 1, arbitrary: fc.record({ element: scalarArb, length: fc.integer({ min: 1, max: 3 }) }).map(({ element, length }): CType => ({ kind: 'array', element, length })) },
);
const recordArb = (inner: fc.Arbitrary<CType>): fc.Arbitrary<RecordType> =>
  fc.record({
    kind: fc.constantFrom<'struct' | 'union'>('struct', 'struct', 'struct', 'union'),
    types: fc.array(inner, { minLength: 1, maxLength: 4 }),
    packed: fc.integer({ min: 0, max: 9 }).map((n) => n < 2),
  }).map(({ kind, types, packed }) => {
    const fields: Field[] = types.map((type, i) => ({ name: `f${i}`, type }));
    return packed ? { kind, fields, packed } : { kind, fields };
  });
const structArb: fc.Arbitrary<CType> = recordArb(fc.oneof({ weight: 5, arbitrary: fieldTypeArb }, { weight: 1, arbitrary: recordArb(fieldTypeArb) }));
const argArb: fc.Arbitrary<CType> = fc.oneof({ weight: 3, arbitrary: scalarArb }, { weight: 2, arbitrary: structArb });
const sigArb = fc.record({
  params: fc.array(argArb, { maxLength: 12 }),
  result: fc.oneof(fc.constant<CType>({ kind: 'void' }), argArb),
  varargs: fc.oneof(fc.constant(undefined), fc.array(argArb, { maxLength: 5 })),
}).map(({ params, result, varargs }) => {
  const variadic = varargs !== undefined && params.length > 0;
  const signature: Signature = { kind: 'function', result, params: params.map((type) => ({ type })), variadic, text: '<random>' };
  return { signature, varargs: variadic ? varargs! : [] };
});

function checkCommon(cc: CallingConvention, a: CallArrangement): void {
  const lc = new LayoutCache(cc.dataModel);
  // stack pieces (with the hidden pointer) never overlap, are within stackBytes and are slot-aligned
  const spans: [number, number][] = [];
  const stackPieces: ArgPiece[] = a.args.flatMap((x) => x.pieces);
  if (a.result.kind === 'memory') stackPieces.push(a.result.pointer);
  for (const p of stackPieces) {
    if (p.kind !== 'stack') continue;
    expect(p.slotSize).toBeGreaterThanOrEqual(p.size);
    expect(p.offset % (cc.target === 'x86' ? 4 : 8)).toBe(0);
    expect(p.offset + p.slotSize).toBeLessThanOrEqual(a.stackBytes);
    spans.push([p.offset, p.offset + p.slotSize]);
  }
  spans.sort((x, y) => x[0] - y[0]);
  for (let i = 1; i < spans.length; i++) expect(spans[i][0]).toBeGreaterThanOrEqual(spans[i - 1][1]);
  expect(a.stackBytes % a.stackAlign).toBe(0);
  expect(a.stackAlign % 16).toBe(0);
  // every byte of every argument is covered exactly once by its pieces
  for (const x of a.args) {
    expect(x.size).toBe(lc.layoutOf(x.type).size);
    const hits = new Array<number>(x.size).fill(0);
    for (const p of x.pieces) for (let j = 0; j < p.size; j++) hits[p.valueOffset + j]++;
    expect(hits.every((h) => h === 1), `${x.name}: ${JSON.stringify(x.pieces)}`).toBe(true);
    expect(x.passing).toBe('value');
  }
  // stack arguments are laid out in argument order
  const firstOffsets = a.args.flatMap((x) => x.pieces.filter((p) => p.kind === 'stack').map((p) => (p.kind === 'stack' ? p.offset : 0)));
  expect([...firstOffsets].sort((p, q) => p - q)).toEqual(firstOffsets);
}

describe('properties', () => {
  it('x86-64: registers used in order without gaps, no overlap, full coverage, al counts the xmm registers', () => {
    fc.assert(
      fc.property(sigArb, ({ signature, varargs }) => {
        const a = x86_64Sysv.arrange(signature, varargs);
        checkCommon(x86_64Sysv, a);
        const ints: string[] = a.result.kind === 'memory' && a.result.pointer.kind === 'reg' ? [a.result.pointer.reg] : [];
        const sses: string[] = [];
        for (const x of a.args) {
          const regs = x.pieces.filter((p) => p.kind === 'reg');
          // an argument is either entirely in registers or entirely on the stack
          expect(regs.length === 0 || regs.length === x.pieces.length).toBe(true);
          for (const p of regs) {
            if (p.kind !== 'reg') continue;
            (p.reg.startsWith('xmm') ? sses : ints).push(p.reg);
            expect(p.size).toBeLessThanOrEqual(8);
            expect(p.valueOffset % 8).toBe(0);
          }
        }
        expect(ints).toEqual(x86_64Sysv.registers.intArgs.slice(0, ints.length));
        expect(sses).toEqual(x86_64Sysv.registers.fpArgs.slice(0, sses.length));
        if (signature.variadic) expect(a.special).toEqual([{ reg: 'al', value: sses.length, why: expect.any(String) }]);
        else expect(a.special).toEqual([]);
        // a later argument only goes on the stack if its registers had run out or it is MEMORY/X87
        for (const x of a.args) {
          if (x.pieces.length && x.pieces[0].kind === 'stack' && x.rule.includes('not enough registers')) {
            const c = classify(x.type);
            expect(c.memory).toBe(false);
          }
        }
      }),
      { numRuns: 400 },
    );
  });

  it('i386: everything on the stack, contiguous 4-byte words in argument order after the hidden pointer', () => {
    fc.assert(
      fc.property(sigArb, ({ signature, varargs }) => {
        for (const cc of [i386Sysv, i386SysvRegStructs, i386Stdcall]) {
          const a = cc.arrange(signature, varargs);
          checkCommon(cc, a);
          let next = a.result.kind === 'memory' ? 4 : 0;
          for (const x of a.args) {
            for (const p of x.pieces) {
              expect(p.kind).toBe('stack');
              if (p.kind !== 'stack') continue;
              expect(p.offset).toBe(next);
              expect(p.slotSize).toBe(Math.ceil(p.size / 4) * 4);
              next += p.slotSize;
            }
          }
          expect(a.stackBytes).toBe(Math.ceil(next / 16) * 16);
          if (signature.result.kind === 'struct' || signature.result.kind === 'union') {
            if (cc === i386Sysv) expect(a.result.kind).toBe('memory');
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('i386 register variants: stack words as above; registers in the variant order, each used at most once; the callee pops all stack words or none', () => {
    fc.assert(
      fc.property(sigArb, ({ signature, varargs }) => {
        for (const cc of [i386Fastcall, i386Thiscall, i386Regparm3]) {
          const a = cc.arrange(signature, varargs);
          checkCommon(cc, a);
          const regs = [...(a.result.kind === 'memory' ? [a.result.pointer] : []), ...a.args.flatMap((x) => x.pieces)].flatMap((p) => (p.kind === 'reg' ? [p.reg] : []));
          // regparm: a prefix of eax, edx, ecx; fastcall, thiscall may skip a register a struct or long long used up
          const at = regs.map((r) => cc.registers.intArgs.indexOf(r));
          at.forEach((k, j) => expect(k).toBeGreaterThan(j ? at[j - 1] : -1));
          if (cc === i386Regparm3) expect(regs).toEqual(cc.registers.intArgs.slice(0, regs.length));
          if (signature.variadic) expect(regs).toEqual([]);
          const words = Math.max(0, ...a.args.flatMap((x) => x.pieces.map((p) => (p.kind === 'stack' ? p.offset + p.slotSize : 0))), a.result.kind === 'memory' && a.result.pointer.kind === 'stack' ? 4 : 0);
          expect(a.calleePops?.bytes ?? 0).toBe(cc === i386Regparm3 || signature.variadic ? 0 : words);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('the data models are the x86 ones', () => {
    expect(i386Sysv.dataModel).toBe(DATA_MODELS.i386);
    expect(x86_64Sysv.dataModel).toBe(DATA_MODELS.x86_64);
  });
});
