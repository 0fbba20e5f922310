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
// `i386SysvRegStructs` (i386-sysv-regstruct) is GCC's -freg-struct-return
// variant (the small-struct convention of the BSDs): a struct or union whose
// GCC machine mode is an integer of 1, 2, 4 or 8 bytes comes back in eax /
// edx:eax, one whose mode is float, double or long double (a struct made of
// just that member) in st0, everything else through the hidden pointer as
// above. Arguments are unchanged.
//
// The other variants are GCC's x86 function attributes (GCC manual, "x86
// Function Attributes"), measured with i686-linux-gnu-gcc 12 (tests/abi-x86.test.ts):
// stdcall, fastcall, thiscall and regparm(3). No psABI describes them; where
// GCC decides is named in each rule: its i386 back end's argument placement
// (function_arg_32 and function_arg_advance_32, under ix86_function_arg) and
// the bytes a callee pops (ix86_return_pops_args). `I386Variant` says what
// each changes; the rest of the i386 psABI (results, stack words) stays.
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

const DM = DATA_MODELS.i386;
/** psABI 2.2.3: the stack is organised in 4-byte words. */
const WORD = 4;
/** GCC on Linux keeps esp 16-byte aligned at every call. */
const STACK_ALIGN = 16;
const SECTION = 'i386 psABI 2.2.3';
/** Where GCC's manual describes the attributes of the variants. */
export const GCC_ATTRIBUTES = 'GCC manual, x86 Function Attributes';

/** What an i386 variant changes in the System V rules (plain i386-sysv: nothing). */
export interface I386Variant {
  /** Its name in backends/registry.ts. */
  name: string;
  /** -freg-struct-return: small structs and unions are returned in registers (BSD convention). */
  regStructReturn: boolean;
  /** The GCC attribute, for rule texts: 'stdcall', 'fastcall', 'thiscall', 'regparm(3)'. */
  attribute?: string;
  /** Integer argument registers, in order (regparm(3): eax, edx, ecx; fastcall: ecx, edx; thiscall: ecx). */
  argRegs: readonly string[];
  /**
   * fastcall, thiscall: only an integer or pointer of up to 4 bytes goes in a register; a
   * struct, union or 8-byte integer goes on the stack, and still uses up its words of registers.
   */
  scalarsOnlyInRegs: boolean;
  /** stdcall, fastcall, thiscall: the callee pops its stack arguments (ret N), unless variadic. */
  calleePopsArgs: boolean;
}

const layout = layoutFor;

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
function arrangeResult(lc: LayoutCache, type: CType, v: I386Variant): ResultAssignment | { kind: 'memory-pending'; type: CType; size: number } {
  if (type.kind === 'void') return { kind: 'void' };
  checkByValue(v.name, type, 'result');
  const size = layout(v.name, lc, type, 'result').size;

  if (isAggregate(type)) {
    if (v.regStructReturn) {
      const mode = machineMode(lc, type);
      if (mode !== 'BLK' && mode.cls === 'float') {
        return { kind: 'registers', type, size, pieces: [st0Piece(size)], rule: `${SECTION} (-freg-struct-return): ${type.kind} with a floating-point mode returned in st0` };
      }
      if (mode !== 'BLK') {
        return { kind: 'registers', type, size, pieces: eaxEdxPieces(size), rule: `${SECTION} (-freg-struct-return): ${size}-byte ${type.kind} returned in ${size === 8 ? 'edx:eax' : 'eax'}` };
      }
    }
    // Where the hidden pointer goes depends on the variant's registers: decided with the arguments.
    return { kind: 'memory-pending', type, size };
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

/**
 * Takes an argument's words from the variant's integer argument registers, as GCC's
 * function_arg_32 and function_arg_advance_32 do: a value of n words goes in the next n
 * registers if that many are left (fastcall, thiscall: only an integer or pointer of up to
 * 4 bytes), and uses them up either way; once one does not fit, none is left. A float,
 * double or long double, and a struct whose GCC mode is one of those, never uses a register.
 */
class IntRegisters {
  private next = 0;
  constructor(private readonly regs: readonly string[]) {}

  /** The registers for `words` words, or undefined: on the stack. */
  take(words: number, allowed: boolean): string[] | undefined {
    const fits = words <= this.regs.length - this.next;
    const got = fits && allowed ? this.regs.slice(this.next, this.next + words) : undefined;
    this.next = fits ? this.next + words : this.regs.length;
    return got;
  }
}

/** A float-class value for GCC's placement: a floating scalar, or an aggregate whose GCC mode is float, double or long double. */
function floatClass(lc: LayoutCache, type: CType): boolean {
  if (isFloating(type)) return true;
  if (!isAggregate(type)) return false;
  const mode = machineMode(lc, type);
  return mode !== 'BLK' && mode.cls === 'float';
}

function regRule(v: I386Variant, type: CType, regs: string[]): string {
  const what = isAggregate(type) ? `${type.kind} of ${regs.length} word${regs.length > 1 ? 's' : ''}` : regs.length > 1 ? '8-byte integer' : 'integer or pointer';
  const where = regs.length > 1 ? `${regs.join(', ')} (low word first)` : regs[0];
  return `${GCC_ATTRIBUTES} (${v.attribute}); GCC i386 function_arg_32: ${what} in ${where}`;
}

function stackRuleOf(v: I386Variant, type: CType, size: number, slot: number, why: string | undefined): string {
  const base = argRule(type, size, slot);
  return why ? `${base}; ${GCC_ATTRIBUTES} (${v.attribute}), GCC i386 function_arg_32: ${why}` : base;
}

export function makeI386(v: I386Variant): CallingConvention {
  const selectedBy = v.attribute ? `-DDEMO_CC='__attribute__((${v.attribute}))'` : v.regStructReturn ? '-freg-struct-return' : undefined;
  return {
    name: v.name,
    target: 'x86',
    toolchain: { gcc: 'i686-linux-gnu-gcc', package: 'gcc-i686-linux-gnu', runtimeDir: 'i386', ...(selectedBy ? { selectedBy, runtimeConvention: 'i386-sysv' } : {}) },
    dataModel: DM,
    // The register image needs the result registers even where no argument travels in one.
    // i386 psABI 2.2.1 (Registers): ebx, esi, edi and ebp belong to the caller.
    registers: { intArgs: [...v.argRegs], fpArgs: [], results: ['eax', 'edx', 'st0'], preserved: ['ebx', 'esi', 'edi', 'ebp'], slotBytes: { st0: 16 } },
    arrange(signature: Signature, variadicArgs: CType[] = []): CallArrangement {
      const lc = new LayoutCache(DM);
      // GCC i386 ix86_function_regparm / init_cumulative_args: a variadic function takes no
      // argument in registers whatever its attribute, and pops no argument (ix86_return_pops_args).
      const variadic = signature.variadic;
      const regs = new IntRegisters(variadic ? [] : v.argRegs);
      const pending = arrangeResult(lc, signature.result, v);
      let result: ResultAssignment;
      let offset = 0;
      if (pending.kind === 'memory-pending') {
        const reg = regs.take(1, true);
        // ix86_return_pops_args: the callee pops a hidden pointer passed on the stack only when the
        // function type has no register parameters (cdecl, stdcall); stdcall pops it with the rest.
        const popsPointer = !reg && v.argRegs.length === 0 ? WORD : 0;
        if (!reg) offset = WORD;
        result = {
          kind: 'memory',
          type: pending.type,
          size: pending.size,
          pointer: reg ? { kind: 'reg', reg: reg[0], valueOffset: 0, size: WORD, format: 'int' } : { kind: 'stack', offset: 0, valueOffset: 0, size: WORD, slotSize: WORD, slotOffset: 0 },
          returnedIn: 'eax',
          calleePops: popsPointer,
          rule: reg
            ? `${SECTION}, ${GCC_ATTRIBUTES} (${v.attribute}): ${pending.type.kind} returned in memory; GCC i386 function_arg_32: the hidden pointer is the first argument, in ${reg[0]}; the callee returns it in eax`
            : `${SECTION}: ${pending.type.kind} returned in memory: hidden pointer in the first stack word, callee returns it in eax${popsPointer ? ' and pops it (ret $4)' : ' (GCC i386 ix86_return_pops_args: the caller pops it, the function type has register parameters)'}`,
        };
      } else {
        result = pending;
      }
      const args: ArgAssignment[] = [];
      for (const a of callArgs(v.name, signature, variadicArgs)) {
        const size = layout(v.name, lc, a.type, `parameter ${a.index + 1} (${a.name})`).size;
        const pieces: ArgPiece[] = [];
        let rule: string;
        const ext = integerExtension(a.type, DM);
        const float = floatClass(lc, a.type);
        const inRegs = size === 0 || float ? undefined
          : regs.take(alignUp(size, WORD) / WORD, !v.scalarsOnlyInRegs || (!isAggregate(a.type) && size <= WORD));
        if (size === 0) {
          rule = `${SECTION}: empty ${a.type.kind} (GNU C, size 0) takes no stack space`;
        } else if (inRegs) {
          inRegs.forEach((reg, k) => {
            const piece: ArgPiece = { kind: 'reg', reg, valueOffset: k * WORD, size: Math.min(WORD, size - k * WORD), format: 'int' };
            if (ext && size < WORD) piece.extend = ext;
            pieces.push(piece);
          });
          rule = regRule(v, a.type, inRegs);
        } else {
          offset = alignUp(offset, WORD);
          const slotSize = alignUp(size, WORD);
          const piece: ArgPiece = { kind: 'stack', offset, valueOffset: 0, size, slotSize, slotOffset: 0 };
          if (ext && size < WORD) piece.extend = ext;
          pieces.push(piece);
          offset += slotSize;
          rule = stackRuleOf(v, a.type, size, slotSize, v.argRegs.length === 0 ? undefined
            : variadic ? 'a variadic function takes every argument on the stack'
            : float ? 'a floating-point value never goes in a register'
            : v.scalarsOnlyInRegs && (isAggregate(a.type) || size > WORD) ? `a ${isAggregate(a.type) ? a.type.kind : '8-byte integer'} goes on the stack, using up its registers`
            : 'no argument register left');
        }
        if (a.promoted) rule += `; default argument promotion ${a.promoted}`;
        args.push({ index: a.index, name: a.name, type: a.type, size, passing: 'value', pieces, variadic: a.variadic, rule });
      }
      const pops = v.calleePopsArgs && !variadic ? offset : result.kind === 'memory' ? result.calleePops : 0;
      const calleePops = pops === 0 ? undefined
        : v.calleePopsArgs && !variadic
          ? { bytes: pops, rule: `${GCC_ATTRIBUTES} (${v.attribute}); GCC i386 ix86_return_pops_args: the callee pops its ${pops} bytes of stack arguments (ret $${pops})` }
          : { bytes: pops, rule: `${SECTION}: the callee pops the hidden struct-return pointer (ret $4)` };
      return {
        abi: v.name,
        signature,
        args,
        result,
        stackBytes: alignUp(offset, STACK_ALIGN),
        stackAlign: STACK_ALIGN,
        special: [],
        ...(calleePops ? { calleePops } : {}),
      };
    },
  };
}

const SYSV: I386Variant = { name: 'i386-sysv', regStructReturn: false, argRegs: [], scalarsOnlyInRegs: false, calleePopsArgs: false };

/** System V i386 as Linux GCC compiles it: every struct and union returned through a hidden pointer. */
export const i386Sysv: CallingConvention = makeI386(SYSV);

/** The -freg-struct-return variant (BSD convention): structs with a register mode returned in eax, edx:eax or st0. */
export const i386SysvRegStructs: CallingConvention = makeI386({ ...SYSV, name: 'i386-sysv-regstruct', regStructReturn: true });
