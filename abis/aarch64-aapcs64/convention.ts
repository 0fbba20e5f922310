// AArch64 procedure call standard (AAPCS64, Arm IHI 0055), as Debian's GCC 12
// (aarch64-linux-gnu-gcc) compiles it on Linux. Sections: 5.9.5 homogeneous
// aggregates, 6.1 registers, 6.8.2 parameter passing (stages A, B, C; the rule
// labels are those of the releases before the SVE rules were added, see
// docs/aarch64.md), 6.9 result return. Checked against the compiler: the
// generated conformance, differential and call-back suites (tests/gen) and the
// hand cases in tests/abi-aarch64.test.ts.
//
// Summary:
// - Floating-point scalars and homogeneous floating-point aggregates (HFAs: one
//   to four members of float, double or long double, no padding) take SIMD&FP
//   registers v0-v7, one member per register (s/d/q views), or go on the stack,
//   and once one has gone there no later one takes a v register.
// - Integers, pointers and composites of at most 16 bytes take x0-x7, a composite
//   one eightbyte per register; a composite that does not fit whole goes on the
//   stack, and no later argument takes an x register.
// - Composites over 16 bytes (not HFAs) are copied by the caller; a pointer to
//   the copy is passed instead.
// - Stack slots are 8 bytes or more, each argument at max(8, natural alignment).
// - Results: like a lone argument (x0:x1, v0-v3); otherwise in memory whose
//   address the caller passes in x8 (not an argument register, so x0 stays free).
// - Variadic arguments are passed like fixed ones (the Linux ABI: Apple's
//   differs), after the default promotions.
import {
  AbiError, type ArgAssignment, type ArgPiece, type CallArrangement, type CallingConvention, type ResultAssignment,
} from '../abi.ts';
import { alignUp, callArgs, checkByValue, homogeneousElements, integerExtension, layoutFor, type CallArg } from '../classify-util.ts';
import { DATA_MODELS } from '../../layout/datamodel.ts';
import type { CType, Signature } from '../../ctypes/ctypes.ts';
import { LayoutCache, type TypeLayout } from '../../layout/layout.ts';

const ABI = 'aarch64-aapcs64' as const;
const DM = DATA_MODELS.aarch64;
const PASSING = 'AAPCS64 6.8.2';
const RETURN = 'AAPCS64 6.9';
const NUM_GPR_ARGS = 8;
const NUM_FPR_ARGS = 8;
const MAX_HFA_MEMBERS = 4;
const DOUBLEWORD = 8;
/** AAPCS64 6.4.5.1: sp is 16-byte aligned at a public interface. */
const STACK_ALIGN = 16;

/** The base types of AAPCS64 5.9.5 (half precision and short vectors are not in abiscope's types). */
type FpBase = 'float' | 'double' | 'quad';
const FP_BYTES: Record<FpBase, number> = { float: 4, double: 8, quad: 16 };
const FP_VIEW: Record<FpBase, string> = { float: 's', double: 'd', quad: 'q' };

function fpBase(type: CType): FpBase | undefined {
  if (type.kind !== 'scalar') return undefined;
  if (type.name === 'float') return 'float';
  if (type.name === 'double') return 'double';
  if (type.name === 'long double') return 'quad'; // IEEE binary128 on AArch64 Linux
  return undefined;
}

const layoutOf = (lc: LayoutCache, type: CType, what: string): TypeLayout => layoutFor(ABI, lc, type, what);

/**
 * The natural alignment of 6.8.2 B/C: for a composite the largest alignment of its top-level
 * members, before any alignment attribute on the composite itself (GCC: a
 * `struct __attribute__((aligned(16))) { long a; }` after an int goes in x1:x2, not x2:x3).
 */
function naturalAlignment(l: TypeLayout): number {
  if (!l.fields) return l.align;
  return l.fields.reduce((a, f) => Math.max(a, f.align), 1);
}

// ---------------------------------------------------------------------------
// Stage B: what an argument is

/** An argument after stage B. */
type Machine =
  | { kind: 'fp'; base: FpBase; size: number; align: number }
  | { kind: 'hfa'; base: FpBase; members: number; size: number; align: number }
  | { kind: 'int'; size: number; align: number; extend?: 'sign' | 'zero' }
  | { kind: 'composite'; size: number; align: number }
  /** B.4: a composite over 16 bytes, replaced by a pointer to a copy. */
  | { kind: 'reference'; size: number; align: number };

/** 5.9.5: a homogeneous floating-point aggregate of 1-4 members, or undefined. */
function hfa(lc: LayoutCache, type: CType): { base: FpBase; members: number } | undefined {
  if (type.kind !== 'struct' && type.kind !== 'union' && type.kind !== 'array') return undefined;
  const base: { t?: FpBase; size?: number } = {};
  const members = homogeneousElements(type, lc, fpBase, base);
  if (members === undefined || members < 1 || members > MAX_HFA_MEMBERS || !base.t) return undefined;
  return { base: base.t, members };
}

/**
 * 6.8.2 stage B: B.3 an HFA keeps its size; B.4 a composite over 16 bytes is passed as a
 * pointer to a copy; B.5 any other composite is rounded up to a multiple of 8 bytes.
 */
function ruleB(lc: LayoutCache, arg: CallArg): Machine {
  const l = layoutOf(lc, arg.type, `parameter ${arg.index + 1} (${arg.name})`);
  const fb = fpBase(arg.type);
  if (fb) return { kind: 'fp', base: fb, size: l.size, align: l.align };
  if (arg.type.kind === 'struct' || arg.type.kind === 'union') {
    const h = hfa(lc, arg.type);
    if (h) return { kind: 'hfa', ...h, size: l.size, align: naturalAlignment(l) };
    if (l.size > 16) return { kind: 'reference', size: l.size, align: naturalAlignment(l) };
    return { kind: 'composite', size: l.size, align: naturalAlignment(l) };
  }
  const ext = integerExtension(arg.type, DM);
  return { kind: 'int', size: l.size, align: l.align, ...(ext && l.size < 4 ? { extend: ext } : {}) };
}

// ---------------------------------------------------------------------------
// Stage C

/** 6.8.2 stage A: the next general-purpose, SIMD&FP register numbers and the next stacked argument address. */
interface State { ngrn: number; nsrn: number; nsaa: number }

interface Placement { pieces: ArgPiece[]; rule: string }

function fpPieces(base: FpBase, members: number, first: number): ArgPiece[] {
  const bytes = FP_BYTES[base];
  return Array.from({ length: members }, (_, k): ArgPiece => (
    { kind: 'reg', reg: `${FP_VIEW[base]}${first + k}`, valueOffset: k * bytes, size: bytes, format: 'raw' }));
}

/** Eightbytes [0, size) of a value in x<first> onwards, as if loaded from memory by ldr (C.7, C.9, C.10). */
function gprPieces(first: number, size: number, extend?: 'sign' | 'zero'): ArgPiece[] {
  const pieces: ArgPiece[] = [];
  for (let off = 0, r = first; off < size; off += DOUBLEWORD, r++) {
    const p: ArgPiece = { kind: 'reg', reg: `x${r}`, valueOffset: off, size: Math.min(DOUBLEWORD, size - off), format: 'int' };
    if (extend) p.extend = extend;
    pieces.push(p);
  }
  return pieces;
}

/** `size` bytes at the NSAA rounded up to max(8, align), in a slot rounded up to 8 (C.12-C.15, C.4-C.6). */
function onStack(s: State, size: number, align: number, extend?: 'sign' | 'zero'): ArgPiece[] {
  s.nsaa = alignUp(s.nsaa, Math.max(DOUBLEWORD, align));
  const slotSize = Math.max(DOUBLEWORD, alignUp(size, DOUBLEWORD));
  const piece: ArgPiece = { kind: 'stack', offset: s.nsaa, valueOffset: 0, size, slotSize, slotOffset: 0 };
  if (extend) piece.extend = extend;
  s.nsaa += slotSize;
  return size === 0 ? [] : [piece];
}

/**
 * C.1 a floating-point scalar in v[NSRN]; C.2 an HFA whose members all fit in v[NSRN]...;
 * C.3 an HFA that does not fit: NSRN = 8 (no later v register); C.4-C.6 the stack, 8-byte
 * slots, aligned to max(8, natural alignment) (a quad float or HFA of quads: 16).
 */
function ruleC1toC6(s: State, m: Extract<Machine, { kind: 'fp' | 'hfa' }>): Placement {
  const members = m.kind === 'hfa' ? m.members : 1;
  const what = m.kind === 'hfa' ? `HFA of ${m.members} ${m.base}${m.members > 1 ? 's' : ''}` : m.base === 'quad' ? 'long double (quad)' : m.base;
  if (s.nsrn + members <= NUM_FPR_ARGS) {
    const pieces = fpPieces(m.base, members, s.nsrn);
    s.nsrn += members;
    return { pieces, rule: `${PASSING} ${m.kind === 'hfa' ? 'C.2' : 'C.1'}: ${what} in ${members > 1 ? 'consecutive SIMD&FP registers' : 'the next SIMD&FP register'}` };
  }
  s.nsrn = NUM_FPR_ARGS; // C.3
  return { pieces: onStack(s, m.size, m.align), rule: `${PASSING} C.3-C.6: ${what} on the stack (SIMD&FP registers used up; none is used after it)` };
}

/**
 * C.7 an integer or pointer of at most 8 bytes in x[NGRN]; C.8 a 16-aligned argument starts
 * at an even register; C.9 a 16-byte integer (__int128) in a pair x[NGRN], x[NGRN+1]; C.10 a composite whose eightbytes all fit in x[NGRN]...; C.11 otherwise
 * NGRN = 8 and C.12-C.15 the stack.
 */
function ruleC7toC15(s: State, m: Extract<Machine, { kind: 'int' | 'composite' | 'reference' }>, type: CType): Placement {
  const size = m.kind === 'reference' ? DM.pointerSize : m.size;
  const align = m.kind === 'reference' ? DM.pointerSize : m.align;
  const words = Math.ceil(size / DOUBLEWORD);
  const what = m.kind === 'reference' ? `pointer to the copy of a ${m.size}-byte composite (B.4: over 16 bytes)`
    : m.kind === 'composite' ? `composite of ${m.size} bytes` : typeName(type);
  if (align === 16 && s.ngrn % 2 === 1) s.ngrn++; // C.8
  if (words <= NUM_GPR_ARGS - s.ngrn) {
    const pieces = gprPieces(s.ngrn, size, m.kind === 'int' ? m.extend : undefined);
    const first = s.ngrn;
    s.ngrn += words;
    const label = m.kind === 'composite' ? 'C.10' : size === 16 ? 'C.9' : 'C.7';
    const regs = words === 0 ? 'no register (empty)' : words > 1 ? `x${first}-x${first + words - 1}` : `x${first}`;
    return { pieces, rule: `${PASSING} ${label}${align === 16 ? '/C.8' : ''}: ${what} in ${regs}` };
  }
  s.ngrn = NUM_GPR_ARGS; // C.11
  const pieces = onStack(s, size, align, m.kind === 'int' ? m.extend : undefined);
  return { pieces, rule: `${PASSING} C.11-C.15: ${what} on the stack (general registers used up; none is used after it)` };
}

function typeName(type: CType): string {
  return type.kind === 'scalar' ? type.spelling ?? type.name : type.kind;
}

// ---------------------------------------------------------------------------
// Result return (6.9)

const X8: ArgPiece = { kind: 'reg', reg: 'x8', valueOffset: 0, size: 8, format: 'int' };

/**
 * 6.9: a result that would be passed in registers as the only argument of a function comes
 * back in those registers (x0:x1, v0-v3); any other goes to memory the caller provides, its
 * address in x8 (the indirect result location register, 6.1.1), which the callee need not
 * preserve or return.
 */
function arrangeResult(lc: LayoutCache, type: CType): ResultAssignment {
  if (type.kind === 'void') return { kind: 'void' };
  checkByValue(ABI, type, 'result');
  const m = ruleB(lc, { index: -1, name: 'result', type, variadic: false });
  const s: State = { ngrn: 0, nsrn: 0, nsaa: 0 };
  if (m.kind === 'reference') {
    return {
      kind: 'memory', type, size: m.size, pointer: X8, calleePops: 0,
      rule: `${RETURN}: composite of ${m.size} bytes (over 16, not an HFA) in memory; the caller passes its address in x8`,
    };
  }
  const placed = m.kind === 'fp' || m.kind === 'hfa' ? ruleC1toC6(s, m) : ruleC7toC15(s, m, type);
  const regs = placed.pieces.map((p) => (p.kind === 'reg' ? p.reg : '')).join(' + ') || 'no register (empty)';
  return { kind: 'registers', type, size: m.size, pieces: placed.pieces, rule: `${RETURN}: returned as it would be passed as the only argument: ${regs}` };
}

function arrange(signature: Signature, variadicArgs: CType[] = []): CallArrangement {
  const lc = new LayoutCache(DM);
  const result = arrangeResult(lc, signature.result);
  const s: State = { ngrn: 0, nsrn: 0, nsaa: 0 }; // stage A; x8 is not an argument register
  const args: ArgAssignment[] = callArgs(ABI, signature, variadicArgs).map((a) => {
    const m = ruleB(lc, a);
    const placed = m.kind === 'fp' || m.kind === 'hfa' ? ruleC1toC6(s, m) : ruleC7toC15(s, m, a.type);
    let rule = placed.rule;
    if (a.promoted) rule += `; default argument promotion ${a.promoted}`;
    if (a.variadic) rule += ' (variadic: passed as if fixed, the Linux rule)';
    return {
      index: a.index, name: a.name, type: a.type, size: m.size,
      passing: m.kind === 'reference' ? 'reference' : 'value',
      pieces: placed.pieces, variadic: a.variadic, rule,
    };
  });
  return { abi: ABI, signature, args, result, stackBytes: alignUp(s.nsaa, STACK_ALIGN), stackAlign: STACK_ALIGN, special: [] };
}

const X = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `x${from + i}`);
const V = (view: string, from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `${view}${from + i}`);

export const aarch64Aapcs64: CallingConvention = {
  name: ABI,
  target: 'aarch64',
  toolchain: { gcc: 'aarch64-linux-gnu-gcc', package: 'gcc-aarch64-linux-gnu', runtimeDir: 'aarch64' },
  dataModel: DM,
  registers: {
    intArgs: X(0, 7),
    indirectResult: 'x8',
    // Whole 128-bit registers in the image: a member sits in its low bytes (the s, d, q views).
    fpArgs: V('q', 0, 7),
    results: ['x0', 'x1', ...V('q', 0, 3)],
    // 6.1.1: x19-x29 belong to the caller; 6.1.2: of v8-v15 only the low 64 bits (d8-d15).
    preserved: [...X(19, 29), ...V('d', 8, 15)],
    // s<n> and d<n> are the low 4 and 8 bytes of q<n> (v<n>).
    aliases: Object.fromEntries([
      ...Array.from({ length: 32 }, (_, n) => [`s${n}`, { reg: `q${n}`, offset: 0, size: 4 }]),
      ...Array.from({ length: 8 }, (_, n) => [`d${n}`, { reg: `q${n}`, offset: 0, size: 8 }]),
    ]),
  },
  arrange,
};
