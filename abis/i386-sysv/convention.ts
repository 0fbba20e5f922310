// System V i386 calling convention, as Debian's GCC 12 (i686-linux-gnu-gcc)
// compiles it on Linux. Reference: "System V Application Binary Interface,
// Intel386 Architecture Processor Supplement" (the i386 psABI, version 1.1),
// section 2.2.3 "Parameter Passing and Returning Values"; checked against the
// compiler (see tests/abi-x86.test.ts).
//
// Arguments: all on the stack, in order, from esp at the call upward; every
//   argument takes a whole number of 4-byte words and is 4-aligned (8-byte
//   long long and double too: no padding to 8). long double takes 12 bytes.
//   Structs and unions are copied in place, padded to a multiple of 4. GCC
//   widens a sub-word integer to a full word (sign or zero per its type).
//   A struct with aligned(8) or aligned(16) is still 4-aligned on the stack:
//   GCC 12 raises the slot alignment only for types containing 16-byte vector
//   or __float128 scalars, which C types here cannot express (measured: a
//   `struct __attribute__((aligned(16))) { int a; }` after an int sits at 4(%esp)).
//   An empty struct (GNU C, size 0) takes no stack at all.
// Results: integers and pointers in eax (long long: edx:eax, low word in eax);
//   float, double and long double in x87 st0; every struct and union, of any
//   size, through a hidden pointer pushed as the first stack word, handed back
//   in eax and popped by the callee (`ret $4`).
// Stack: esp % 16 == 0 at the call (what Linux GCC assumes since GCC 4.5).
// Variadic arguments are placed exactly like fixed ones after the default
//   argument promotions (float -> double, _Bool/char/short -> int).
//
// `i386SysvRegStructs` is GCC's -freg-struct-return variant (the small-struct
// convention of the BSDs): a struct or union whose GCC machine mode is an
// integer of 1, 2, 4 or 8 bytes comes back in eax / edx:eax, one whose mode is
// float, double or long double (a struct made of just that member) in st0,
// everything else through the hidden pointer as above. Arguments are unchanged.
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
import { LayoutCache, LayoutError } from '../../layout/layout.ts';
import { alignUp, callArgs, checkByValue, integerExtension } from '../classify-util.ts';

const ABI = 'i386-sysv' as const;
const DM = DATA_MODELS.i386;
/** psABI 2.2.3: the stack is organised in 4-byte words. */
const WORD = 4;
/** GCC on Linux keeps esp 16-byte aligned at every call. */
const STACK_ALIGN = 16;
const SECTION = 'i386 psABI 2.2.3';

export interface I386Options {
  /** -freg-struct-return: small structs and unions are returned in registers (BSD convention). */
  regStructReturn: boolean;
}

function layout(lc: LayoutCache, type: CType, what: string) {
  try {
    return lc.layoutOf(type);
  } catch (e) {
    if (e instanceof LayoutError) throw new AbiError(ABI, `${what}: ${e.message}`);
    throw e;
  }
}

const isFloating = (t: CType): boolean =>
  t.kind === 'scalar' && (t.name === 'float' || t.name === 'double' || t.name === 'long double');

const isAggregate = (t: CType): boolean => t.kind === 'struct' || t.kind === 'union';

/** An x87 st0 piece: a float, double or long double converted to/from the 80-bit register (long double: its 10 bytes). */
function st0Piece(size: number): ArgPiece {
  return { kind: 'reg', reg: 'st0', valueOffset: 0, size: size > 8 ? 10 : size, format: 'x87' };
}

/** A 4- or 8-byte value in eax, or edx:eax (low word in eax, little-endian). */
function eaxEdxPieces(size: number, extend?: 'sign' | 'zero'): ArgPiece[] {
  if (size <= WORD) {
    const p: ArgPiece = { kind: 'reg', reg: 'eax', valueOffset: 0, size, format: 'int' };
    if (extend && size < WORD) p.extend = extend;
    return [p];
  }
  return [
    { kind: 'reg', reg: 'eax', valueOffset: 0, size: WORD, format: 'int' },
    { kind: 'reg', reg: 'edx', valueOffset: WORD, size: size - WORD, format: 'int' },
  ];
}

/**
 * -freg-struct-return decides by the machine mode GCC gives the type
 * (gcc/stor-layout.cc: layout_type, mode_for_array, compute_record_mode):
 * 'BLK' means "no register mode", returned in memory. A scalar has its own
 * mode; a one-element array its element's; a struct the mode of a member
 * that fills it entirely (so `struct { double d; }` is a double); a union
 * that member's mode only if it is an integer one; anything else an integer
 * mode of its size if that is 1, 2, 4 or 8 bytes, else BLK. A member or
 * element without a register mode (other than a zero-sized one) makes the
 * whole record or array BLK.
 */
type MachineMode = { cls: 'int' | 'float'; bytes: number } | 'BLK';

function intModeOfSize(bytes: number): MachineMode {
  return bytes === 1 || bytes === 2 || bytes === 4 || bytes === 8 ? { cls: 'int', bytes } : 'BLK';
}

/** Bits of precision, to pick the widest of several members that each fill the struct. */
const precision = (m: { cls: 'int' | 'float'; bytes: number }) => (m.cls === 'float' && m.bytes === 12 ? 80 : m.bytes * 8);

function machineMode(lc: LayoutCache, type: CType): MachineMode {
  const size = lc.layoutOf(type).size;
  switch (type.kind) {
    case 'scalar': case 'pointer': case 'enum':
      return { cls: isFloating(type) ? 'float' : 'int', bytes: size };
    case 'array': {
      const el = machineMode(lc, type.element);
      if (el === 'BLK') return 'BLK';
      if (size === lc.layoutOf(type.element).size) return el;
      return intModeOfSize(size);
    }
    case 'struct': case 'union': {
      let whole: { cls: 'int' | 'float'; bytes: number } | undefined;
      for (const f of lc.layoutOf(type).fields ?? []) {
        const fm = machineMode(lc, f.type);
        if (fm === 'BLK') {
          if (f.size !== 0) return 'BLK';
          continue;
        }
        if (f.size === size && (!whole || precision(fm) > precision(whole))) whole = fm;
      }
      if (whole && whole.bytes === size && (type.kind === 'struct' || whole.cls === 'int')) return whole;
      return intModeOfSize(size);
    }
    default:
      return 'BLK';
  }
}

/** psABI 2.2.3 "Returning Values" (and Figure 2.x, the return-value registers). */
function arrangeResult(lc: LayoutCache, type: CType, opts: I386Options): ResultAssignment {
  if (type.kind === 'void') return { kind: 'void' };
  checkByValue(ABI, type, 'result');
  const size = layout(lc, type, 'result').size;

  if (isAggregate(type)) {
    if (opts.regStructReturn) {
      const mode = machineMode(lc, type);
      if (mode !== 'BLK' && mode.cls === 'float') {
        return { kind: 'registers', type, size, pieces: [st0Piece(size)], rule: `${SECTION} (-freg-struct-return): ${type.kind} with a floating-point mode returned in st0` };
      }
      if (mode !== 'BLK') {
        return { kind: 'registers', type, size, pieces: eaxEdxPieces(size), rule: `${SECTION} (-freg-struct-return): ${size}-byte ${type.kind} returned in ${size === 8 ? 'edx:eax' : 'eax'}` };
      }
    }
    return {
      kind: 'memory',
      type,
      size,
      pointer: { kind: 'stack', offset: 0, valueOffset: 0, size: WORD, slotSize: WORD, slotOffset: 0 },
      returnedIn: 'eax',
      calleePops: WORD,
      rule: `${SECTION}: ${type.kind} returned in memory: hidden pointer in the first stack word, callee returns it in eax and pops it (ret $4)`,
    };
  }
  if (isFloating(type)) {
    return { kind: 'registers', type, size, pieces: [st0Piece(size)], rule: `${SECTION}: floating-point result on the x87 stack in st0` };
  }
  // Integers, enums, pointers. GCC's callee does not always widen a sub-word result
  // (it may load a char with movzbl): the reader extends from the low bytes.
  const ext = integerExtension(type, DM);
  return {
    kind: 'registers',
    type,
    size,
    pieces: eaxEdxPieces(size, ext),
    rule: size > WORD ? `${SECTION}: 8-byte integer result in edx:eax (low word in eax)` : `${SECTION}: integral or pointer result in eax`,
  };
}

function argRule(type: CType, size: number, slot: number): string {
  if (isAggregate(type)) return `${SECTION}: ${type.kind} copied onto the stack, ${slot} bytes (size rounded up to a word)`;
  if (size < WORD) return `${SECTION}: stack word, ${size === 1 ? 'byte' : 'halfword'} widened to 4 bytes`;
  if (size === WORD) return `${SECTION}: stack word`;
  return `${SECTION}: ${size}-byte ${type.kind === 'scalar' ? type.name : 'value'} in ${slot / WORD} stack words, 4-aligned`;
}

export function makeI386Sysv(opts: I386Options): CallingConvention {
  return {
    name: ABI,
    target: 'x86',
    toolchain: { gcc: 'i686-linux-gnu-gcc', package: 'gcc-i686-linux-gnu', runtimeDir: 'i386' },
    dataModel: DM,
    // No argument registers; the register image still needs the result registers.
    // i386 psABI 2.2.1 (Registers): ebx, esi, edi and ebp belong to the caller.
    registers: { intArgs: [], fpArgs: [], results: ['eax', 'edx', 'st0'], preserved: ['ebx', 'esi', 'edi', 'ebp'], slotBytes: { st0: 16 } },
    arrange(signature: Signature, variadicArgs: CType[] = []): CallArrangement {
      const lc = new LayoutCache(DM);
      const result = arrangeResult(lc, signature.result, opts);
      const args: ArgAssignment[] = [];
      // The hidden struct-return pointer is the first stack word.
      let offset = result.kind === 'memory' ? WORD : 0;
      for (const a of callArgs(ABI, signature, variadicArgs)) {
        const size = layout(lc, a.type, `parameter ${a.index + 1} (${a.name})`).size;
        const pieces: ArgPiece[] = [];
        let rule: string;
        if (size === 0) {
          rule = `${SECTION}: empty ${a.type.kind} (GNU C, size 0) takes no stack space`;
        } else {
          offset = alignUp(offset, WORD);
          const slotSize = alignUp(size, WORD);
          const piece: ArgPiece = { kind: 'stack', offset, valueOffset: 0, size, slotSize, slotOffset: 0 };
          const ext = integerExtension(a.type, DM);
          if (ext && size < WORD) piece.extend = ext;
          pieces.push(piece);
          offset += slotSize;
          rule = argRule(a.type, size, slotSize);
        }
        if (a.promoted) rule += `; default argument promotion ${a.promoted}`;
        args.push({ index: a.index, name: a.name, type: a.type, size, passing: 'value', pieces, variadic: a.variadic, rule });
      }
      return {
        abi: ABI,
        signature,
        args,
        result,
        stackBytes: alignUp(offset, STACK_ALIGN),
        stackAlign: STACK_ALIGN,
        special: [],
      };
    },
  };
}

/** System V i386 as Linux GCC compiles it: every struct and union returned through a hidden pointer. */
export const i386Sysv: CallingConvention = makeI386Sysv({ regStructReturn: false });

/** The -freg-struct-return variant (BSD convention): structs with a register mode returned in eax, edx:eax or st0. */
export const i386SysvRegStructs: CallingConvention = makeI386Sysv({ regStructReturn: true });
