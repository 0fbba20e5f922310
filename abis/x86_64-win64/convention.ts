// Windows x64 calling convention, as x86_64-w64-mingw32-gcc 12 compiles it. Reference:
// Microsoft's "x64 calling convention" document (sections "Parameter passing", "Varargs",
// "Return values", "Caller/callee saved registers", "Stack allocation"); rule texts cite it as
// "Microsoft x64 calling convention, <section>". Where mingw decides what that document leaves
// to the compiler (long double, empty structs) the code follows GCC and says so. Checked
// against the compiler: tests/abi-win64.test.ts and the generated conformance suites.
//
// Summary:
// - Four argument slots, shared by integer and floating arguments BY POSITION: argument k
//   (k < 4) goes in rcx/rdx/r8/r9 if integer-like, in xmm0..xmm3 if float or double; the other
//   register of that slot stays unused. Argument k >= 4 goes on the stack at [rsp + 8k]: the
//   caller always reserves 32 bytes of "shadow space" (home slots of the four register
//   arguments) at the bottom of its outgoing area, even for fewer arguments.
// - Every argument takes one 8-byte slot. Structs and unions of exactly 1, 2, 4 or 8 bytes are
//   passed as if they were integers of that size (in the integer register, never in xmm, even
//   when they hold floats); every other aggregate (3 bytes, 12 bytes, empty) is copied by the
//   caller and a pointer to the copy is passed. mingw's long double (x87 80-bit in 16 bytes)
//   is passed by reference the same way.
// - Varargs: a floating argument passed for `...` is put in its xmm register AND in the
//   integer register of its slot (a callee's va_arg reads the integer registers' home area).
// - Results: integer-like values and aggregates of 1/2/4/8 bytes in rax, float/double in
//   xmm0; anything else (and mingw's long double) through a hidden pointer passed in rcx as
//   the first argument (the others move one slot along), handed back in rax.
// - No al, no red zone; rsp % 16 == 0 at the call.
import {
  AbiError,
  type ArgAssignment,
  type ArgPiece,
  type CallArrangement,
  type CallingConvention,
  type ResultAssignment,
} from '../abi.ts';
import { DATA_MODELS } from '../../layout/datamodel.ts';
import type { CType, Signature } from '../../ctypes/ctypes.ts';
import { LayoutCache } from '../../layout/layout.ts';
import { alignUp, callArgs, checkByValue, integerExtension, layoutFor } from '../classify-util.ts';

const ABI = 'x86_64-win64' as const;
const DM = DATA_MODELS.llp64;
const SLOT = 8;
/** "Stack allocation": the home slots of the four register arguments. */
const SHADOW = 32;
const STACK_ALIGN = 16;
const DOC = 'Microsoft x64 calling convention';

export const WIN64_INT_ARG_REGS = ['rcx', 'rdx', 'r8', 'r9'] as const;
export const WIN64_FP_ARG_REGS = ['xmm0', 'xmm1', 'xmm2', 'xmm3'] as const;

const layout = (lc: LayoutCache, type: CType, what: string) => layoutFor(ABI, lc, type, what);

/** How one value travels: in an integer register/slot, in xmm, or by reference to a copy. */
type Kind = 'int' | 'fp' | 'reference';

const isFloating = (t: CType) => t.kind === 'scalar' && (t.name === 'float' || t.name === 'double');
const isLongDouble = (t: CType) => t.kind === 'scalar' && t.name === 'long double';
const isAggregate = (t: CType) => t.kind === 'struct' || t.kind === 'union';
const PASSED_AS_INTEGER = new Set([1, 2, 4, 8]);

function kindOf(type: CType, size: number): { kind: Kind; why: string } {
  if (isFloating(type)) return { kind: 'fp', why: `${scalarName(type)} is a floating argument` };
  if (isLongDouble(type)) return { kind: 'reference', why: 'long double (mingw: x87 80-bit in 16 bytes) is not 1, 2, 4 or 8 bytes: passed by reference to a caller copy' };
  if (isAggregate(type)) {
    return PASSED_AS_INTEGER.has(size)
      ? { kind: 'int', why: `${type.kind} of ${size} bytes is passed as an integer of that size` }
      : { kind: 'reference', why: `${type.kind} of ${size} bytes (not 1, 2, 4 or 8) is passed by reference to a caller copy` };
  }
  return { kind: 'int', why: `${scalarName(type)} is an integer-like argument` };
}

function scalarName(type: CType): string {
  return type.kind === 'scalar' ? type.name : type.kind;
}

/** "Return values". */
function arrangeResult(lc: LayoutCache, type: CType): ResultAssignment {
  if (type.kind === 'void') return { kind: 'void' };
  checkByValue(ABI, type, 'result');
  const size = layout(lc, type, 'result').size;
  const section = `${DOC}, Return values`;
  if (isFloating(type)) {
    return { kind: 'registers', type, size, pieces: [{ kind: 'reg', reg: 'xmm0', valueOffset: 0, size, format: 'raw' }], rule: `${section}: ${scalarName(type)} returned in xmm0` };
  }
  // An empty struct (GNU C) returns nothing at all: GCC writes neither rax nor memory.
  if (isAggregate(type) && size === 0) return { kind: 'registers', type, size, pieces: [], rule: `${section}: empty ${type.kind} (GCC): nothing is returned` };
  const viaRax = isAggregate(type) ? PASSED_AS_INTEGER.has(size) : !isLongDouble(type);
  if (viaRax) {
    const piece: ArgPiece = { kind: 'reg', reg: 'rax', valueOffset: 0, size, format: 'int' };
    const ext = integerExtension(type, DM);
    if (ext && size < 4) piece.extend = ext; // the reader widens from the low bytes; the callee need not
    const what = isAggregate(type) ? `${type.kind} of ${size} bytes` : scalarName(type);
    return { kind: 'registers', type, size, pieces: [piece], rule: `${section}: ${what} returned in rax` };
  }
  const why = isLongDouble(type) ? 'long double (mingw)' : `${type.kind} of ${size} bytes (not 1, 2, 4 or 8)`;
  return {
    kind: 'memory', type, size,
    pointer: { kind: 'reg', reg: 'rcx', valueOffset: 0, size: 8, format: 'int' },
    returnedIn: 'rax',
    calleePops: 0,
    rule: `${section}: ${why} returned in memory: the caller's buffer address passed in rcx as a hidden first argument (later arguments shift one slot), returned in rax`,
  };
}

function arrange(signature: Signature, variadicArgs: CType[] = []): CallArrangement {
  const lc = new LayoutCache(DM);
  const result = arrangeResult(lc, signature.result);
  // The hidden result pointer takes slot 0.
  let slot = result.kind === 'memory' ? 1 : 0;
  const args: ArgAssignment[] = [];
  const passing = `${DOC}, Parameter passing`;

  for (const a of callArgs(ABI, signature, variadicArgs)) {
    const size = layout(lc, a.type, `parameter ${a.index + 1} (${a.name})`).size;
    const k = kindOf(a.type, size);
    const here = slot++;
    const reference = k.kind === 'reference';
    // What travels in the slot: the value, or (by reference) an 8-byte pointer to its copy.
    const moved = reference ? SLOT : size;
    const ext = reference ? undefined : integerExtension(a.type, DM);
    let pieces: ArgPiece[];
    let rule: string;
    if (here < WIN64_INT_ARG_REGS.length) {
      const intReg = WIN64_INT_ARG_REGS[here];
      const fpReg = WIN64_FP_ARG_REGS[here];
      if (k.kind === 'fp') {
        pieces = [{ kind: 'reg', reg: fpReg, valueOffset: 0, size, format: 'raw' }];
        rule = `${passing}: ${k.why}, slot ${here + 1} of 4: ${fpReg}`;
        if (a.variadic) {
          // "Varargs": the callee may look for it in the integer register (its home slot).
          pieces.push({ kind: 'reg', reg: intReg, valueOffset: 0, size, format: 'int' });
          rule = `${passing}: ${k.why}, slot ${here + 1} of 4: ${fpReg}; ${DOC}, Varargs: a variadic floating value is also copied to ${intReg}`;
        }
      } else {
        const p: ArgPiece = { kind: 'reg', reg: intReg, valueOffset: 0, size: moved, format: 'int' };
        if (ext && size < 4) p.extend = ext;
        pieces = [p];
        rule = `${passing}: ${k.why}, slot ${here + 1} of 4: ${intReg}${reference ? ' holds the pointer' : ''}`;
      }
    } else {
      const offset = here * SLOT; // above the 32-byte shadow space: slot 5 at [rsp + 32]
      const p: ArgPiece = { kind: 'stack', offset, valueOffset: 0, size: moved, slotSize: SLOT, slotOffset: 0 };
      if (ext && size < 4) p.extend = ext;
      pieces = [p];
      rule = `${passing}: ${k.why}, slot ${here + 1} (past the four register slots): stack at [rsp+${offset}], above the 32-byte shadow space${reference ? ', holding the pointer' : ''}`;
    }
    if (a.promoted) rule += `; default argument promotion ${a.promoted}`;
    args.push({ index: a.index, name: a.name, type: a.type, size, passing: reference ? 'reference' : 'value', pieces, variadic: a.variadic, rule });
  }

  // "Stack allocation": the shadow space is always there, the area a multiple of 16.
  const stackBytes = alignUp(Math.max(SHADOW, slot * SLOT), STACK_ALIGN);
  return { abi: ABI, signature, args, result, stackBytes, stackAlign: STACK_ALIGN, special: [] };
}

export const x86_64Win64: CallingConvention = {
  name: ABI,
  target: 'x86_64',
  toolchain: { gcc: 'x86_64-w64-mingw32-gcc', package: 'gcc-mingw-w64-x86-64', runtimeDir: 'x86_64-win64' },
  dataModel: DM,
  frame: { shadowSpace: SHADOW },
  registers: {
    intArgs: [...WIN64_INT_ARG_REGS],
    fpArgs: [...WIN64_FP_ARG_REGS],
    results: ['rax', 'xmm0'],
    // "Caller/callee saved registers": rbx, rbp, rdi, rsi, r12-r15 and xmm6-xmm15 are nonvolatile.
    preserved: ['rbx', 'rbp', 'rdi', 'rsi', 'r12', 'r13', 'r14', 'r15', ...Array.from({ length: 10 }, (_, i) => `xmm${i + 6}`)],
  },
  arrange,
};
