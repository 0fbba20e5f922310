// PowerPC 32-bit System V ABI ("System V Application Binary Interface,
// PowerPC Processor Supplement", Zucker & Karhi, 1995), chapter 3 "Function
// Calling Sequence": sections Registers, The Stack Frame, Parameter Passing,
// Variable Argument Lists, Return Values. Big-endian, hard float.
//
// Where Debian's powerpc-linux-gnu-gcc 12 departs from the 1995 text, this file
// follows GCC (each such place says so); every rule was checked by reading the
// assembly GCC emits for a caller (`-O2 -S`), see tests/abi-ppc.test.ts:
// - long double is the 16-byte IBM double-double, passed in an FPR pair (the
//   1995 text treats long double as a pointer to a copy);
// - a float that finds no FPR is stored on the stack in single format, 4 bytes
//   (stfs), not widened to a double;
// - a long double that finds no FPR pair ends FPR allocation (f8 stays unused
//   even for a later double);
// - a long long that finds no register pair ends GPR allocation (r10 stays
//   unused even for a later int);
// - all structs and unions are returned through a hidden pointer (Linux/AIX
//   style); `-msvr4-struct-return` gives the 1995 text's r3:r4 rule.
import type { ArgAssignment, ArgPiece, CallArrangement, CallingConvention, ResultAssignment, SpecialRegister } from '../abi.ts';
import { AbiError } from '../abi.ts';
import { alignUp, callArgs, checkByValue, integerExtension, layoutFor, type CallArg } from '../classify-util.ts';
import { DATA_MODELS, type DataModel } from '../../layout/datamodel.ts';
import type { CType, Signature } from '../../ctypes/ctypes.ts';
import { LayoutCache, type TypeLayout } from '../../layout/layout.ts';

const ABI = 'ppc32-sysv';
const DM: DataModel = DATA_MODELS.ppc32;
const WORD = 4;
const FIRST_GPR = 3;
const LAST_GPR = 10;
const FIRST_FPR = 1;
const LAST_FPR = 8;
/** Offset of parameter word 1 from r1 at the call: 0(r1) back chain, 4(r1) LR save word ("The Stack Frame"). */
const PARAM_AREA = 8;
/** "The Stack Frame": the stack pointer is 16-byte aligned. */
const STACK_ALIGN = 16;

// ---------------------------------------------------------------------------
// Classification

/** How the Parameter Passing algorithm treats an argument. */
type PpcClass =
  | { kind: 'simple' } // int-like of 4 bytes or less, pointer, enum
  | { kind: 'long-long' } // any 8-byte integer
  | { kind: 'float' }
  | { kind: 'double' }
  | { kind: 'long-double' } // IBM double-double, 16 bytes
  | { kind: 'aggregate' }; // struct or union: a pointer to a copy

const layoutOf = (layouts: LayoutCache, type: CType, what: string): TypeLayout => layoutFor(ABI, layouts, type, what);

function classify(type: CType, layout: TypeLayout): PpcClass {
  switch (type.kind) {
    case 'struct': case 'union':
      return { kind: 'aggregate' };
    case 'scalar':
      if (type.name === 'float') return { kind: 'float' };
      if (type.name === 'double') return { kind: 'double' };
      if (type.name === 'long double') return { kind: 'long-double' };
      break;
    case 'pointer': case 'enum':
      break;
    default:
      throw new AbiError(ABI, `cannot pass a value of kind ${type.kind}`);
  }
  if (layout.size === 8) return { kind: 'long-long' };
  if (layout.size <= WORD) return { kind: 'simple' };
  throw new AbiError(ABI, `no rule for a ${layout.size}-byte integer`);
}

// ---------------------------------------------------------------------------
// Parameter Passing: the gr / fr / starg algorithm

interface PpcState {
  /** Next general register (3-10; 11 or more: none left). */
  gr: number;
  /** Next floating-point register (1-8; 9: none left). */
  fr: number;
  /** Next parameter word, as a byte offset from r1 at the call. */
  starg: number;
}

interface Placement {
  pieces: ArgPiece[];
  rule: string;
}

const SEC = 'PPC SysV ABI 3 Parameter Passing';

/** INITIALIZE: gr = 4 if the function returns a structure or union in memory (r3 holds its address), else 3; fr = 1; starg = parameter word 1. */
function ruleInitialize(resultInMemory: boolean): PpcState {
  return { gr: resultInMemory ? FIRST_GPR + 1 : FIRST_GPR, fr: FIRST_FPR, starg: PARAM_AREA };
}

function gprPiece(reg: number, valueOffset: number, size: number, extend?: 'sign' | 'zero'): ArgPiece {
  const p: ArgPiece = { kind: 'reg', reg: `r${reg}`, valueOffset, size, format: 'int' };
  if (extend) p.extend = extend;
  return p;
}

/**
 * OTHER: the argument goes to the next parameter word(s), starg rounded up to
 * its alignment. A value shorter than a word is extended to a full word (GCC
 * stores the whole word), so on this big-endian target its bytes sit at the
 * high-address end of the slot: slotOffset = 4 - size.
 */
function ruleOther(s: PpcState, size: number, slotSize: number, align: number, why: string, extend?: 'sign' | 'zero'): Placement {
  s.starg = alignUp(s.starg, align);
  const p: ArgPiece = { kind: 'stack', offset: s.starg, valueOffset: 0, size, slotSize, slotOffset: slotSize - size };
  if (extend) p.extend = extend;
  s.starg += slotSize;
  return { pieces: [p], rule: `${SEC}: OTHER, parameter word at ${p.offset}(r1)${why}` };
}

/**
 * SIMPLE_ARG (int-like of 32 bits or less, pointer, and the pointer to a struct
 * or union copy): the next GPR while gr <= 10, extended to 32 bits by its
 * signedness; else OTHER, one 4-byte word.
 */
function ruleSimpleArg(s: PpcState, size: number, extend: 'sign' | 'zero' | undefined): Placement {
  if (s.gr <= LAST_GPR) {
    const reg = s.gr++;
    return { pieces: [gprPiece(reg, 0, size, size < WORD ? extend : undefined)], rule: `${SEC}: SIMPLE_ARG in r${reg}` };
  }
  return ruleOther(s, size, WORD, WORD, '', size < WORD ? extend : undefined);
}

/**
 * LONG_LONG: an odd-even register pair (r3:r4, r5:r6, r7:r8, r9:r10) with the
 * lower-addressed word (the high word, big-endian) in the first register; an
 * even gr is skipped. If no pair is left (gr > 9)
 * the value goes to an 8-aligned stack doubleword and gr moves past r10, so no
 * later argument takes r10 (GCC: `li 9,9; stw 9,16(1)` for an int after such a
 * long long, r10 left unset).
 */
function ruleLongLong(s: PpcState): Placement {
  if (s.gr % 2 === 0) s.gr++;
  if (s.gr + 1 <= LAST_GPR) {
    const first = s.gr;
    s.gr += 2;
    return { pieces: [gprPiece(first, 0, 4), gprPiece(first + 1, 4, 4)], rule: `${SEC}: LONG_LONG in r${first}:r${first + 1} (high word first)` };
  }
  // Only gr = 10 fails here, and the even-register skip already made it 11:
  // r10 is left unused for every later argument (GCC moves gregno to 13).
  s.gr = LAST_GPR + 1;
  return ruleOther(s, 8, 8, 8, ', 8-byte aligned (no GPR pair left: r10 unused from now on)');
}

/**
 * DOUBLE_OR_FLOAT: the next FPR while fr <= 8, a float held in double format.
 * Else OTHER: a double in an 8-aligned doubleword, a float (GCC) in one word in
 * single format.
 */
function ruleDoubleOrFloat(s: PpcState, isFloat: boolean): Placement {
  if (s.fr <= LAST_FPR) {
    const reg = `f${s.fr++}`;
    return {
      pieces: [{ kind: 'reg', reg, valueOffset: 0, size: isFloat ? 4 : 8, format: isFloat ? 'f32-as-f64' : 'raw' }],
      rule: `${SEC}: DOUBLE_OR_FLOAT in ${reg}${isFloat ? ' (double format)' : ''}`,
    };
  }
  return isFloat
    ? ruleOther(s, 4, 4, 4, ' (float in single format, GCC)')
    : ruleOther(s, 8, 8, 8, ', 8-byte aligned');
}

/**
 * long double (IBM double-double, GCC's -mlong-double-128): an FPR pair
 * f(n):f(n+1) with the high-order double first; if fewer than two FPRs are
 * left, an 8-aligned 16-byte stack area and no FPR is used afterwards (GCC
 * sets fr past f8: a later double goes to the stack too).
 */
function ruleLongDouble(s: PpcState): Placement {
  if (s.fr + 1 <= LAST_FPR) {
    const f = s.fr;
    s.fr += 2;
    return {
      pieces: [
        { kind: 'reg', reg: `f${f}`, valueOffset: 0, size: 8, format: 'raw' },
        { kind: 'reg', reg: `f${f + 1}`, valueOffset: 8, size: 8, format: 'raw' },
      ],
      rule: `${SEC}: long double (IBM double-double) in f${f}:f${f + 1} (GCC)`,
    };
  }
  s.fr = LAST_FPR + 1;
  return ruleOther(s, 16, 16, 8, ', 8-byte aligned (long double, GCC; no FPR used from now on)');
}

/** Struct and union arguments: SIMPLE_ARG, a pointer to a copy the caller makes. */
function ruleAggregate(s: PpcState): Placement {
  const placed = ruleSimpleArg(s, WORD, undefined);
  return { pieces: placed.pieces, rule: `${placed.rule}: pointer to a copy of the struct/union` };
}

function placeArg(s: PpcState, arg: CallArg, cls: PpcClass, layout: TypeLayout): Placement {
  switch (cls.kind) {
    case 'simple': return ruleSimpleArg(s, layout.size, integerExtension(arg.type, DM));
    case 'long-long': return ruleLongLong(s);
    case 'float': return ruleDoubleOrFloat(s, true);
    case 'double': return ruleDoubleOrFloat(s, false);
    case 'long-double': return ruleLongDouble(s);
    case 'aggregate': return ruleAggregate(s);
  }
}

// ---------------------------------------------------------------------------
// Return Values

export type StructReturn = 'memory' | 'svr4-registers';

/**
 * Return Values: int-like in r3 (extended), long long in r3:r4 (r3 = high word),
 * float and double in f1 (float in double format), long double in f1:f2 (GCC).
 * Structs and unions: Debian's GCC returns every one in memory through a hidden
 * pointer in r3, even 4-byte ones; with -msvr4-struct-return, those of 8 bytes
 * or less come back in r3:r4 as if the bytes were a big-endian integer of that
 * size (right-justified: a 6-byte struct has bytes 0-1 in the low half of r3,
 * bytes 2-5 in r4; a 3-byte one bytes 0-2 in the low 24 bits of r3).
 */
function ruleReturnValues(type: CType, layouts: LayoutCache, structReturn: StructReturn): ResultAssignment {
  if (type.kind === 'void') return { kind: 'void' };
  checkByValue(ABI, type, 'result');
  const layout = layoutOf(layouts, type, 'result');
  const size = layout.size;
  const cls = classify(type, layout);
  const sec = 'PPC SysV ABI 3 Return Values';
  switch (cls.kind) {
    case 'aggregate':
      if (structReturn === 'svr4-registers' && size <= 8) {
        const pieces = size <= WORD
          ? (size === 0 ? [] : [gprPiece(3, 0, size)])
          : [gprPiece(3, 0, size - WORD), gprPiece(4, size - WORD, WORD)];
        return { kind: 'registers', type, size, pieces, rule: `${sec}: struct/union of <= 8 bytes in r3:r4, right-justified (-msvr4-struct-return)` };
      }
      return {
        kind: 'memory', type, size,
        pointer: gprPiece(3, 0, WORD),
        calleePops: 0,
        rule: `${sec}: struct/union in memory, address in r3 (GCC default on Linux, AIX-style)`,
      };
    case 'simple':
      return { kind: 'registers', type, size, pieces: [gprPiece(3, 0, size, size < WORD ? integerExtension(type, DM) : undefined)], rule: `${sec}: r3` };
    case 'long-long':
      return { kind: 'registers', type, size, pieces: [gprPiece(3, 0, 4), gprPiece(4, 4, 4)], rule: `${sec}: r3:r4 (r3 = high word)` };
    case 'float':
      return { kind: 'registers', type, size, pieces: [{ kind: 'reg', reg: 'f1', valueOffset: 0, size: 4, format: 'f32-as-f64' }], rule: `${sec}: f1 (double format)` };
    case 'double':
      return { kind: 'registers', type, size, pieces: [{ kind: 'reg', reg: 'f1', valueOffset: 0, size: 8, format: 'raw' }], rule: `${sec}: f1` };
    case 'long-double':
      return {
        kind: 'registers', type, size,
        pieces: [
          { kind: 'reg', reg: 'f1', valueOffset: 0, size: 8, format: 'raw' },
          { kind: 'reg', reg: 'f2', valueOffset: 8, size: 8, format: 'raw' },
        ],
        rule: `${sec}: long double (IBM double-double) in f1:f2 (GCC)`,
      };
  }
}

// ---------------------------------------------------------------------------
// The whole call

/**
 * Variable Argument Lists: a caller of a variadic function sets CR bit 6 when
 * it passes any argument (fixed or variadic) in an FPR and clears it otherwise
 * (GCC: `creqv 6,6,6` / `crxor 6,6,6`); the callee's prologue saves f1-f8 only
 * when the bit is set.
 */
function ruleVariadicCr6(s: PpcState): SpecialRegister {
  const used = s.fr > FIRST_FPR;
  return {
    reg: 'cr6', value: used ? 1 : 0,
    why: used ? 'CR bit 6 set: FP arguments in registers' : 'CR bit 6 cleared: no FP arguments in registers',
  };
}

function arrangePpc(signature: Signature, variadicArgs: CType[] | undefined, structReturn: StructReturn): CallArrangement {
  const layouts = new LayoutCache(DM);
  const list = callArgs(ABI, signature, variadicArgs ?? []);
  const result = ruleReturnValues(signature.result, layouts, structReturn);
  const s = ruleInitialize(result.kind === 'memory');
  const args: ArgAssignment[] = list.map((arg) => {
    const layout = layoutOf(layouts, arg.type, `argument ${arg.name}`);
    const cls = classify(arg.type, layout);
    const placed = placeArg(s, arg, cls, layout);
    let rule = placed.rule;
    if (arg.promoted) rule += ` (variadic: ${arg.promoted}, C 6.5.2.2)`;
    return {
      index: arg.index, name: arg.name, type: arg.type, size: layout.size,
      passing: cls.kind === 'aggregate' ? 'reference' : 'value',
      pieces: placed.pieces, variadic: arg.variadic, rule,
    };
  });
  return {
    abi: ABI, signature, args, result,
    stackBytes: alignUp(s.starg, STACK_ALIGN),
    stackAlign: STACK_ALIGN,
    special: signature.variadic ? [ruleVariadicCr6(s)] : [],
  };
}

const REGISTERS = {
  intArgs: ['r3', 'r4', 'r5', 'r6', 'r7', 'r8', 'r9', 'r10'],
  fpArgs: ['f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7', 'f8'],
  results: ['r3', 'r4', 'f1', 'f2'],
  special: ['cr6'],
  // SysV PPC ABI 3-13 (Registers): r14-r31, f14-f31 and CR fields 2-4 are non-volatile; r2 is
  // the system's (thread pointer), r13 the small-data anchor: a function leaves both alone.
  preserved: [...Array.from({ length: 18 }, (_, i) => `r${i + 14}`), ...Array.from({ length: 18 }, (_, i) => `f${i + 14}`), 'r2', 'r13', 'cr'],
  preservedBits: { cr: 0x00fff000 },
  slotBytes: { cr6: 4 }, // a word: the stub sets CR bit 6 from it
};

export type Ppc32Convention = CallingConvention & { readonly structReturn: StructReturn };

function makePpc32Sysv(structReturn: StructReturn): Ppc32Convention {
  return {
    name: 'ppc32-sysv',
    target: 'ppc32',
    toolchain: { gcc: 'powerpc-linux-gnu-gcc', package: 'gcc-powerpc-linux-gnu', runtimeDir: 'ppc32' },
    frame: { backChain: true }, // SysV PPC 3-34: the word at r1 points to the caller's frame
    dataModel: DM,
    registers: REGISTERS,
    structReturn,
    arrange(signature: Signature, variadicArgs?: CType[]): CallArrangement {
      return arrangePpc(signature, variadicArgs, structReturn);
    },
  };
}

/** PowerPC 32-bit SysV as Debian's powerpc-linux-gnu-gcc compiles it: every struct/union result in memory. */
export const ppc32Sysv: Ppc32Convention = makePpc32Sysv('memory');

/** The same with GCC's -msvr4-struct-return: structs and unions of 8 bytes or less returned in r3:r4. */
export const ppc32SysvSvr4StructReturn: Ppc32Convention = makePpc32Sysv('svr4-registers');
