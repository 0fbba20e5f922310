// System V x86-64 calling convention (GCC 12 on Linux). Reference: "System V
// Application Binary Interface, AMD64 Architecture Processor Supplement"
// (the x86-64 psABI), section 3.2.3 "Parameter Passing": classification of
// every argument into eightbyte classes, then register assignment. The
// classifier below has one function per rule of that section; where GCC's
// implementation (gcc/config/i386/i386.cc, classify_argument) decides a case
// the document leaves open, the code follows GCC and says so. Checked against
// the compiler: see tests/abi-x86.test.ts.
//
// Summary:
// - Each argument is classified: scalars directly (INTEGER, SSE, X87+X87UP),
//   aggregates per eightbyte, merging the classes of the fields inside each.
// - INTEGER eightbytes take rdi, rsi, rdx, rcx, r8, r9; SSE eightbytes take
//   xmm0..xmm7 (a `struct { float x, y; }` is ONE eightbyte: the low 8 bytes of
//   one xmm register). If any eightbyte finds no register left, the whole
//   argument goes on the stack and the registers stay free for later ones.
// - MEMORY and X87 arguments go on the stack: 8-byte slots, each argument at
//   its own alignment (16 for long double, N for a struct with aligned(N)),
//   in order from rsp at the call; rsp % 16 == 0 there (or the largest such
//   alignment: GCC realigns the stack for an aligned(32) argument).
// - Results: INTEGER eightbytes in rax, rdx; SSE in xmm0, xmm1; X87 in st0;
//   MEMORY through a hidden pointer passed in rdi (it takes the first integer
//   register) and handed back in rax.
// - Variadic calls: al = number of vector registers used (set for variadic
//   calls only, as GCC's caller does; a non-variadic callee ignores al).
//   Variadic arguments are the promoted ones: float -> double, char/short -> int.
import {
  AbiError,
  type ArgAssignment,
  type ArgPiece,
  type CallArrangement,
  type CallingConvention,
  type ResultAssignment,
  type SpecialRegister,
} from '../abi.ts';
import { DATA_MODELS } from '../../layout/datamodel.ts';
import type { CType, Signature } from '../../ctypes/ctypes.ts';
import { isInt128 } from '../../ctypes/ctypes.ts';
import { LayoutCache } from '../../layout/layout.ts';
import { alignUp, callArgs, checkByValue, integerExtension, layoutFor } from '../classify-util.ts';

const ABI = 'x86_64-sysv' as const;
const DM = DATA_MODELS.x86_64;
const EIGHTBYTE = 8;
const STACK_ALIGN = 16;
const SECTION = 'x86-64 psABI 3.2.3';

export const INT_ARG_REGS = ['rdi', 'rsi', 'rdx', 'rcx', 'r8', 'r9'] as const;
export const SSE_ARG_REGS = ['xmm0', 'xmm1', 'xmm2', 'xmm3', 'xmm4', 'xmm5', 'xmm6', 'xmm7'] as const;
const INT_RESULT_REGS = ['rax', 'rdx'] as const;
const SSE_RESULT_REGS = ['xmm0', 'xmm1'] as const;

// ---------------------------------------------------------------------------
// Classification (psABI 3.2.3 "Classification")

/** The classes of psABI 3.2.3. COMPLEX_X87 exists for completeness (no complex types here). */
export type EightbyteClass = 'INTEGER' | 'SSE' | 'SSEUP' | 'X87' | 'X87UP' | 'COMPLEX_X87' | 'NO_CLASS' | 'MEMORY';

/** The outcome for a whole value: its eightbyte classes, or MEMORY with the reason. */
export type Classification =
  | { memory: false; classes: EightbyteClass[] }
  | { memory: true; reason: string };

const memory = (reason: string): Classification => ({ memory: true, reason });
const inRegs = (classes: EightbyteClass[]): Classification => ({ memory: false, classes });

interface Ctx {
  lc: LayoutCache;
}

const layout = (lc: LayoutCache, type: CType, what: string) => layoutFor(ABI, lc, type, what);

/**
 * psABI 3.2.3, classification of the basic types:
 * - _Bool, char, short, int, long, long long, pointers (and enums): INTEGER;
 * - float, double: SSE;
 * - long double: the 64-bit mantissa in class X87, the exponent eightbyte X87UP;
 * - __int128: "as if it were implemented as struct { long low, high; }": INTEGER, INTEGER
 *   (16-aligned in memory, which its layout already says).
 * A scalar at `offset` bytes into the argument that is not at a multiple of
 * its natural alignment (only possible inside a packed record) is an
 * "unaligned field": MEMORY (rule 1 of the aggregate rules; GCC checks it
 * here, with the x87 extended type counted as 16-aligned).
 */
function classifyScalar(ctx: Ctx, type: CType, offset: number): Classification {
  const size = layout(ctx.lc, type, 'scalar').size;
  if (offset % size !== 0) return memory(`unaligned field at byte ${offset}`);
  if (type.kind === 'scalar') {
    if (type.name === 'float' || type.name === 'double') return inRegs(['SSE']);
    if (type.name === 'long double') return inRegs(['X87', 'X87UP']);
    if (isInt128(type)) return inRegs(['INTEGER', 'INTEGER']);
  }
  return inRegs(['INTEGER']);
}

/**
 * psABI 3.2.3 aggregate rule 4, the merge of two classes meeting in one
 * eightbyte, sub-rules (a) to (f) in order.
 */
export function mergeClasses(a: EightbyteClass, b: EightbyteClass): EightbyteClass {
  if (a === b) return a; // (a) equal classes
  if (a === 'NO_CLASS') return b; // (b) NO_CLASS yields the other
  if (b === 'NO_CLASS') return a;
  if (a === 'MEMORY' || b === 'MEMORY') return 'MEMORY'; // (c)
  if (a === 'INTEGER' || b === 'INTEGER') return 'INTEGER'; // (d)
  const x87 = (c: EightbyteClass) => c === 'X87' || c === 'X87UP' || c === 'COMPLEX_X87';
  if (x87(a) || x87(b)) return 'MEMORY'; // (e)
  return 'SSE'; // (f)
}

/**
 * psABI 3.2.3 aggregate rule 5, the post-merger cleanup:
 * (a) any MEMORY eightbyte makes the whole argument MEMORY;
 * (b) X87UP not preceded by X87 makes it MEMORY;
 * (c) more than two eightbytes: MEMORY unless the first is SSE and all others
 *     SSEUP (only vector types, which abiscope does not model, pass that test);
 * (d) SSEUP not preceded by SSE or SSEUP becomes SSE.
 * (GCC checks (c) first, then (a), (d), (b) eightbyte by eightbyte: same outcome.)
 */
function postMergerCleanup(classes: EightbyteClass[], size: number): Classification {
  if (classes.length > 2) {
    if (classes[0] !== 'SSE' || classes.slice(1).some((c) => c !== 'SSEUP')) {
      return memory(`aggregate of ${size} bytes, larger than two eightbytes`); // (c)
    }
  }
  const out = [...classes];
  for (let i = 0; i < out.length; i++) {
    const prev = i > 0 ? out[i - 1] : undefined;
    if (out[i] === 'MEMORY') return memory(`eightbyte ${i} classified MEMORY`); // (a)
    if (out[i] === 'X87UP' && prev !== 'X87') return memory(`eightbyte ${i} is X87UP without X87 before it`); // (b)
    if (out[i] === 'SSEUP' && prev !== 'SSE' && prev !== 'SSEUP') out[i] = 'SSE'; // (d)
  }
  return inRegs(out);
}

/** Number of eightbytes a value of `size` bytes touches when it starts `offset` bytes into the argument. */
const eightbytesSpanned = (size: number, offset: number) => Math.ceil((size + (offset % EIGHTBYTE)) / EIGHTBYTE);

/**
 * psABI 3.2.3 aggregate rule 1: larger than eight eightbytes (64 bytes) is
 * MEMORY. (Rule 5(c) sends anything over 16 bytes there anyway.)
 */
function tooLarge(size: number): boolean {
  return size > 8 * EIGHTBYTE;
}

/**
 * psABI 3.2.3 aggregate rules 3 and 4 for a struct or union: every eightbyte
 * starts as NO_CLASS, then each field is classified recursively and merged
 * into the eightbytes it occupies (a union's fields all start at its start).
 * Classes are indexed from the eightbyte holding the record's first byte.
 */
function classifyRecord(ctx: Ctx, type: CType & { kind: 'struct' | 'union' }, offset: number): Classification {
  const l = layout(ctx.lc, type, `${type.kind} ${type.tag ?? '<anonymous>'}`);
  const words = eightbytesSpanned(l.size, offset);
  const classes: EightbyteClass[] = new Array(words).fill('NO_CLASS');
  for (const f of l.fields ?? []) {
    const sub = classifyAt(ctx, f.type, offset + f.offset);
    if (sub.memory) return sub;
    const pos = Math.floor(((offset % EIGHTBYTE) + f.offset) / EIGHTBYTE);
    for (let i = 0; i < sub.classes.length && pos + i < words; i++) {
      classes[pos + i] = mergeClasses(sub.classes[i], classes[pos + i]);
    }
  }
  return postMergerCleanup(classes, l.size);
}

/**
 * Arrays inside aggregates, "handled as small records" (GCC): the element is
 * classified once, at the array's own offset, and its classes repeat over the
 * eightbytes the array spans. Only the first element's alignment is checked,
 * as GCC does (a packed array of packed structs can pass that test). A
 * zero-length array (GNU `a[0]`) still spans the eightbyte it starts in when
 * that start is not eightbyte-aligned, as in GCC.
 */
function classifyArray(ctx: Ctx, type: CType & { kind: 'array' }, offset: number): Classification {
  const size = layout(ctx.lc, type, 'array').size;
  const words = eightbytesSpanned(size, offset);
  if (words === 0) return inRegs(['NO_CLASS']);
  const el = classifyAt(ctx, type.element, offset);
  if (el.memory) return el;
  const classes: EightbyteClass[] = [];
  for (let i = 0; i < words; i++) classes.push(el.classes[i % el.classes.length]);
  return postMergerCleanup(classes, size);
}

/** Classes of a value of `type` starting `offset` bytes into the argument being classified. */
function classifyAt(ctx: Ctx, type: CType, offset: number): Classification {
  switch (type.kind) {
    case 'scalar': case 'pointer': case 'enum':
      return classifyScalar(ctx, type, offset);
    case 'struct': case 'union': case 'array': {
      const size = layout(ctx.lc, type, 'aggregate').size;
      if (tooLarge(size)) return memory(`aggregate of ${size} bytes, larger than eight eightbytes`); // rule 1
      // GCC: a zero-sized aggregate (GNU C empty struct) is NO_CLASS.
      if (eightbytesSpanned(size, offset) === 0) return inRegs(['NO_CLASS']);
      return type.kind === 'array' ? classifyArray(ctx, type, offset) : classifyRecord(ctx, type, offset);
    }
    default:
      throw new AbiError(ABI, `cannot classify ${type.kind}`);
  }
}

/** psABI 3.2.3: the classification of a whole argument or result of `type`. */
export function classify(type: CType, lc: LayoutCache = new LayoutCache(DM)): Classification {
  return classifyAt({ lc }, type, 0);
}

// ---------------------------------------------------------------------------
// Register assignment (psABI 3.2.3 "Passing" and "Returning of Values")

const isX87 = (c: EightbyteClass) => c === 'X87' || c === 'X87UP' || c === 'COMPLEX_X87';

/** The eightbytes a value is cut into: eightbyte i covers bytes [8i, min(8i + 8, size)). */
function eightbytePiece(reg: string, i: number, size: number, format: 'int' | 'raw'): ArgPiece {
  const valueOffset = i * EIGHTBYTE;
  return { kind: 'reg', reg, valueOffset, size: Math.min(EIGHTBYTE, size - valueOffset), format };
}

function describeClasses(classes: EightbyteClass[]): string {
  return classes.join('+');
}

class RegisterCursor {
  int = 0;
  sse = 0;
  /** Registers of one argument, or undefined (and nothing taken) if they do not all fit. */
  take(classes: EightbyteClass[], size: number, type: CType): ArgPiece[] | undefined {
    const needInt = classes.filter((c) => c === 'INTEGER').length;
    const needSse = classes.filter((c) => c === 'SSE').length;
    if (this.int + needInt > INT_ARG_REGS.length || this.sse + needSse > SSE_ARG_REGS.length) return undefined;
    const pieces: ArgPiece[] = [];
    classes.forEach((c, i) => {
      if (c === 'INTEGER') {
        const p = eightbytePiece(INT_ARG_REGS[this.int++], i, size, 'int');
        const ext = integerExtension(type, DM);
        if (ext && p.kind === 'reg' && p.size < 4) p.extend = ext;
        pieces.push(p);
      } else if (c === 'SSE') {
        pieces.push(eightbytePiece(SSE_ARG_REGS[this.sse++], i, size, 'raw'));
      }
      // NO_CLASS (padding-only eightbyte, e.g. of an aligned(16) struct) takes no register;
      // SSEUP cannot arise without vector types.
    });
    return pieces;
  }
}

function typeTextOf(type: CType): string {
  return type.kind === 'pointer' ? 'pointer' : type.kind === 'enum' ? 'enum' : type.kind === 'scalar' ? type.name : type.kind;
}

function scalarRule(type: CType, cls: EightbyteClass, reg: string): string {
  const what = typeTextOf(type);
  return `${SECTION}: ${what} is ${cls} class, next free ${cls === 'SSE' ? 'vector' : 'general'} register (${reg})`;
}

/** psABI 3.2.3 "Returning of Values". */
function arrangeResult(lc: LayoutCache, type: CType): ResultAssignment {
  if (type.kind === 'void') return { kind: 'void' };
  checkByValue(ABI, type, 'result');
  const size = layout(lc, type, 'result').size;
  const c = classify(type, lc);
  const memoryResult = (why: string): ResultAssignment => ({
    kind: 'memory',
    type,
    size,
    pointer: { kind: 'reg', reg: 'rdi', valueOffset: 0, size: 8, format: 'int' },
    returnedIn: 'rax',
    calleePops: 0,
    rule: `${SECTION}: MEMORY class (${why}): caller's buffer address passed in rdi as a hidden first argument, returned in rax`,
  });
  if (c.memory) return memoryResult(c.reason);
  const cls = c.classes;
  // Rule 5: X87 is returned in st0 together with X87UP (a long double, or a struct holding only one).
  if (cls[0] === 'X87') {
    return { kind: 'registers', type, size, pieces: [{ kind: 'reg', reg: 'st0', valueOffset: 0, size: 10, format: 'x87' }], rule: `${SECTION}: X87+X87UP result on the x87 stack in st0` };
  }
  if (cls.some(isX87)) return memoryResult('x87 class not returnable in registers');
  const pieces: ArgPiece[] = [];
  let nInt = 0;
  let nSse = 0;
  cls.forEach((k, i) => {
    if (k === 'INTEGER') {
      const p = eightbytePiece(INT_RESULT_REGS[nInt++], i, size, 'int');
      // The callee need not widen a sub-int result: the reader extends from the low bytes.
      const ext = integerExtension(type, DM);
      if (ext && p.kind === 'reg' && p.size < 4) p.extend = ext;
      pieces.push(p);
    } else if (k === 'SSE') {
      pieces.push(eightbytePiece(SSE_RESULT_REGS[nSse++], i, size, 'raw'));
    }
  });
  const regs = pieces.map((p) => (p.kind === 'reg' ? p.reg : '')).join(' + ');
  const rule = type.kind === 'struct' || type.kind === 'union'
    ? `${SECTION}: ${type.kind} with eightbytes ${describeClasses(cls)} returned in ${regs || 'no register (empty)'}`
    : `${SECTION}: ${cls[0]} result in ${regs}`;
  return { kind: 'registers', type, size, pieces, rule };
}

function arrange(signature: Signature, variadicArgs: CType[] = []): CallArrangement {
  const lc = new LayoutCache(DM);
  const result = arrangeResult(lc, signature.result);
  const regs = new RegisterCursor();
  // "In effect, this address becomes a hidden first argument": it takes rdi.
  if (result.kind === 'memory') regs.int = 1;

  const args: ArgAssignment[] = [];
  let stackOffset = 0;
  let stackAlign = STACK_ALIGN;

  for (const a of callArgs(ABI, signature, variadicArgs)) {
    const l = layout(lc, a.type, `parameter ${a.index + 1} (${a.name})`);
    const size = l.size;
    const aggregate = a.type.kind === 'struct' || a.type.kind === 'union';
    const c = classify(a.type, lc);

    let pieces: ArgPiece[] | undefined;
    let rule = '';
    let stackWhy: string | undefined;
    if (c.memory) {
      stackWhy = `MEMORY class (${c.reason})`;
    } else if (c.classes.some(isX87)) {
      // Passing rule 5: X87, X87UP and COMPLEX_X87 arguments are passed in memory.
      stackWhy = `${describeClasses(c.classes)} class (long double) passed in memory`;
    } else {
      pieces = regs.take(c.classes, size, a.type);
      if (!pieces) {
        stackWhy = `not enough registers left for ${aggregate ? 'every eightbyte' : 'it'}: the whole argument goes on the stack`;
      } else if (pieces.length === 0) {
        rule = `${SECTION}: empty ${a.type.kind} (NO_CLASS) takes no register and no stack`;
      } else if (aggregate) {
        rule = `${SECTION}: ${a.type.kind} eightbytes ${describeClasses(c.classes)} in ${pieces.map((p) => (p.kind === 'reg' ? p.reg : '')).join(' + ')}`;
      } else if (pieces.length > 1) {
        // __int128: two INTEGER eightbytes, like struct { long low, high; }
        rule = `${SECTION}: ${typeTextOf(a.type)} is ${describeClasses(c.classes)} class (as struct { long low, high; }), next free general registers (${pieces.map((p) => (p.kind === 'reg' ? p.reg : '')).join(' + ')})`;
      } else {
        const p = pieces[0];
        rule = scalarRule(a.type, c.classes[0], p.kind === 'reg' ? p.reg : '');
      }
    }

    if (stackWhy !== undefined) {
      // Passing rule 1: on the stack at an address respecting the argument's alignment, in 8-byte slots.
      const align = Math.max(EIGHTBYTE, l.align);
      stackAlign = Math.max(stackAlign, align);
      stackOffset = alignUp(stackOffset, align);
      const slotSize = alignUp(size, EIGHTBYTE);
      const piece: ArgPiece = { kind: 'stack', offset: stackOffset, valueOffset: 0, size, slotSize, slotOffset: 0 };
      const ext = integerExtension(a.type, DM);
      if (ext && size < 4) piece.extend = ext;
      pieces = [piece];
      stackOffset += slotSize;
      rule = `${SECTION}: ${stackWhy}; stack slot of ${slotSize} bytes, ${align}-aligned`;
    }
    if (a.promoted) rule += `; default argument promotion ${a.promoted}`;
    args.push({ index: a.index, name: a.name, type: a.type, size, passing: 'value', pieces: pieces ?? [], variadic: a.variadic, rule });
  }

  const special: SpecialRegister[] = [];
  if (signature.variadic) {
    special.push({
      reg: 'al',
      value: regs.sse,
      why: `${SECTION}: variadic call, al = number of vector registers used (${regs.sse})`,
    });
  }

  return {
    abi: ABI,
    signature,
    args,
    result,
    stackBytes: alignUp(stackOffset, stackAlign),
    stackAlign,
    special,
  };
}

export const x86_64Sysv: CallingConvention = {
  name: ABI,
  target: 'x86_64',
  toolchain: { gcc: 'gcc', package: 'gcc', runtimeDir: 'x86_64' },
  frame: { redZone: 128 }, // psABI 3.2.2: 128 bytes below rsp belong to the function
  dataModel: DM,
  registers: {
    intArgs: [...INT_ARG_REGS],
    fpArgs: [...SSE_ARG_REGS],
    results: ['rax', 'rdx', 'xmm0', 'xmm1', 'st0'],
    special: ['al'],
    // psABI 3.2.1 (Registers): rbx, rbp and r12-r15 belong to the caller; every xmm register is scratch.
    preserved: ['rbx', 'rbp', 'r12', 'r13', 'r14', 'r15'],
    // st0 holds 10 bytes of x87 extended, padded; al is stored as a word.
    slotBytes: { st0: 16, al: 8 },
  },
  arrange,
};
