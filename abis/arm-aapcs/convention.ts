// ARM AAPCS, the base procedure call standard (Debian armel: soft-float, every
// float and double travels in core registers or on the stack).
//
// Section numbers are those of "Procedure Call Standard for the Arm
// Architecture" (IHI 0042, 2020 and later releases): 5.3 composite types,
// 6.4 result return, 6.5 parameter passing (stages A, B and C), 8.2 C argument
// passing conventions. The VFP variant (arm-aapcs-vfp.ts) reuses this core and
// adds the co-processor rules A.2.cp, C.1.cp and C.2.cp through the
// CoprocessorClass hook below.
//
// Checked against Debian GCC 12 (arm-linux-gnueabi-gcc / arm-linux-gnueabihf-gcc
// -O2 -S -marm), see tests/abi-arm.test.ts for the cases read off the assembly.
import type { ArgAssignment, ArgPiece, CallArrangement, CallingConvention, ResultAssignment } from '../abi.ts';
import { alignUp, callArgs, checkByValue, integerExtension, layoutFor, type CallArg } from '../classify-util.ts';
import { DATA_MODELS, type DataModel } from '../../layout/datamodel.ts';
import type { CType, Signature } from '../../ctypes/ctypes.ts';
import { LayoutCache, type TypeLayout } from '../../layout/layout.ts';

export const ARM_DATA_MODEL: DataModel = DATA_MODELS.arm;

/** Core argument registers r0-r3 (6.1.1: a1-a4). */
export const CORE_ARG_REGS = ['r0', 'r1', 'r2', 'r3'] as const;
const NUM_CORE_ARG_REGS = 4;
const WORD = 4;

/** 6.2.1.2: the stack is double-word aligned at a public interface. */
export const ARM_STACK_ALIGN = 8;
/** AAPCS 6.1.1: the callee-saved core registers v1-v8. */
export const ARM_PRESERVED = ['r4', 'r5', 'r6', 'r7', 'r8', 'r9', 'r10', 'r11'] as const;

// ---------------------------------------------------------------------------
// Marshalling state (6.5 stage A)

/** The two counters of 6.5, plus what the co-processor variant needs to know. */
export interface AapcsState {
  /** Next Core Register Number: 0-4 (4 = no core register left). */
  ncrn: number;
  /** Next Stacked Argument Address, as a byte offset from SP at the call. */
  nsaa: number;
}

/**
 * AAPCS 6.5 rules A.1, A.3, A.4: NCRN = r0, NSAA = SP; when the result is
 * returned in memory its address goes in r0 and NCRN = r1. (A.2.cp is the
 * co-processor class's own `initial()`.)
 */
export function ruleA(resultInMemory: boolean): AapcsState {
  return { ncrn: resultInMemory ? 1 : 0, nsaa: 0 };
}

// ---------------------------------------------------------------------------
// Stage B: an argument as a machine type

/** What stage B makes of one argument. */
export interface MachineArg {
  arg: CallArg;
  /** Bytes of the value image (the C sizeof). */
  size: number;
  /** Size in words after B.2 (sub-word integers: one word) and B.4 (composites rounded up to 4 bytes). */
  words: number;
  composite: boolean;
  /** Needs double-word alignment (C.3, C.7): natural alignment 8 (B.5). */
  doubleword: boolean;
  /** B.2: how a sub-word integer is widened to a word. */
  extend?: 'sign' | 'zero';
}


/**
 * AAPCS 6.5 B.5 with 5.3: the natural alignment of a composite is the largest
 * alignment of its members (an aligned(N) attribute on the record itself does
 * not count; one on a member does). This is what GCC's
 * arm_needs_doubleword_align looks at: `struct __attribute__((aligned(8)))
 * {int a, b;}` goes in r1:r2 after an int, not r2:r3 (read off GCC 12 asm).
 */
export function naturalAlignment(layout: TypeLayout): number {
  if (!layout.fields) return layout.align;
  return layout.fields.reduce((a, f) => Math.max(a, f.align), 1);
}

/** AAPCS 6.5 stage B (B.2, B.4, B.5): size in words, alignment and extension of an argument. */
export function ruleB(abi: string, arg: CallArg, layouts: LayoutCache): MachineArg {
  const layout = layoutFor(abi, layouts, arg.type, `argument ${arg.name}`);
  const composite = arg.type.kind === 'struct' || arg.type.kind === 'union';
  const m: MachineArg = {
    arg,
    size: layout.size,
    // B.2: a sub-word integer becomes one word; B.4: a composite is rounded up to a multiple of 4.
    words: Math.ceil(layout.size / WORD),
    composite,
    // B.5: fundamental types use their natural alignment; composites 4 if natural alignment <= 4, else 8.
    doubleword: (composite ? naturalAlignment(layout) : layout.align) >= 8,
  };
  if (!composite && layout.size < WORD) {
    const ext = integerExtension(arg.type, ARM_DATA_MODEL);
    if (ext) m.extend = ext;
  }
  return m;
}

// ---------------------------------------------------------------------------
// Pieces

/**
 * Register pieces for bytes [from, to) of a value loaded "as if by LDM" (6.5 C.4):
 * one word per register starting at `firstReg`, the last one possibly partial.
 */
export function corePieces(firstReg: number, from: number, to: number, extend?: 'sign' | 'zero'): ArgPiece[] {
  const pieces: ArgPiece[] = [];
  for (let off = from, r = firstReg; off < to; off += WORD, r++) {
    const p: ArgPiece = { kind: 'reg', reg: `r${r}`, valueOffset: off, size: Math.min(WORD, to - off), format: 'int' };
    if (extend) p.extend = extend;
    pieces.push(p);
  }
  return pieces;
}

/** One stack piece for bytes [from, size) of a value, in word-rounded slots (little-endian: value at the slot's start). */
export function stackPiece(offset: number, m: MachineArg, from = 0): ArgPiece {
  const p: ArgPiece = {
    kind: 'stack', offset, valueOffset: from, size: m.size - from,
    slotSize: m.words * WORD - from, slotOffset: 0,
  };
  if (m.extend) p.extend = m.extend;
  return p;
}

export interface Placement {
  pieces: ArgPiece[];
  rule: string;
}

// ---------------------------------------------------------------------------
// Stage C for core registers and the stack

/** AAPCS 6.5 C.3: a double-word aligned argument starts at an even core register (r1/r3 are skipped). */
export function ruleC3(s: AapcsState, m: MachineArg): void {
  if (m.doubleword && s.ncrn % 2 === 1) s.ncrn++;
}

/** AAPCS 6.5 C.4: the whole argument fits in the core registers left: NCRN += words. */
export function ruleC4(s: AapcsState, m: MachineArg): Placement | undefined {
  if (m.words > NUM_CORE_ARG_REGS - s.ncrn) return undefined;
  const pieces = corePieces(s.ncrn, 0, m.size, m.extend);
  s.ncrn += m.words;
  return { pieces, rule: m.size === 0 ? 'AAPCS 6.5 C.4: empty composite, no register used' : 'AAPCS 6.5 C.4: core registers' };
}

/**
 * AAPCS 6.5 C.5: with NCRN < r4 and nothing on the stack yet (NSAA == SP), the
 * argument is split: its first words up to r3, the rest at the NSAA; NCRN = r4.
 * Only composites get here (a fundamental type that does not fit is 8-aligned
 * and NCRN is then even: it always fits or finds NCRN = 4). In the VFP variant a
 * CPRC already on the stack forbids the split (NSAA != SP).
 */
export function ruleC5(s: AapcsState, m: MachineArg): Placement | undefined {
  if (s.ncrn >= NUM_CORE_ARG_REGS || s.nsaa !== 0) return undefined;
  const inRegs = (NUM_CORE_ARG_REGS - s.ncrn) * WORD;
  const pieces = [...corePieces(s.ncrn, 0, inRegs), stackPiece(s.nsaa, m, inRegs)];
  s.ncrn = NUM_CORE_ARG_REGS;
  s.nsaa += m.words * WORD - inRegs;
  return { pieces, rule: 'AAPCS 6.5 C.5: split between core registers and the stack' };
}

/**
 * AAPCS 6.5 C.6-C.8: NCRN = r4 (no later argument goes back to a core register),
 * the NSAA is rounded up to 8 for a double-word aligned argument, the argument
 * is copied there in word slots (a sub-word integer extended to a word: GCC
 * stores the whole word).
 */
export function ruleC6toC8(s: AapcsState, m: MachineArg): Placement {
  s.ncrn = NUM_CORE_ARG_REGS;
  if (m.doubleword) s.nsaa = alignUp(s.nsaa, 8);
  const pieces = m.size === 0 ? [] : [stackPiece(s.nsaa, m)];
  s.nsaa += m.words * WORD;
  return { pieces, rule: m.doubleword ? 'AAPCS 6.5 C.6-C.8: stack, 8-byte aligned' : 'AAPCS 6.5 C.6-C.8: stack' };
}

/** AAPCS 6.5 C.3 to C.8 for an argument that is not a co-processor register candidate. */
export function allocateCore(s: AapcsState, m: MachineArg): Placement {
  ruleC3(s, m);
  return ruleC4(s, m) ?? ruleC5(s, m) ?? ruleC6toC8(s, m);
}

// ---------------------------------------------------------------------------
// The co-processor hook (the VFP variant, 7.1)

/** The registers of one co-processor class during one call (rules A.2.cp, C.1.cp, C.2.cp). */
export interface CoprocessorRegisters<C> {
  /** C.1.cp: allocate the candidate to registers, or return undefined if they are not sufficient. */
  allocate(candidate: C): Placement | undefined;
  /** C.2.cp (first sentence): every unallocated register of the class is marked unavailable. */
  markUnavailable(): void;
}

export interface CoprocessorClass<C> {
  /** Which arguments are candidates (CPRCs) for the class; undefined for the others. */
  candidate(type: CType, layouts: LayoutCache): C | undefined;
  /** A.2.cp: a fresh register state for one call. */
  initial(): CoprocessorRegisters<C>;
  /** Result return of a CPRC (for VFP: 7.1.2.2), given the candidate description of the result type. */
  result(candidate: C): Placement;
}

/**
 * AAPCS 6.5 C.2.cp (second part): a CPRC that found no register goes to the
 * stack at the NSAA rounded up to its natural alignment (4, or 8 if >= 8);
 * core registers are not touched.
 */
export function ruleC2cpStack(s: AapcsState, m: MachineArg): Placement {
  if (m.doubleword) s.nsaa = alignUp(s.nsaa, 8);
  const pieces = [stackPiece(s.nsaa, m)];
  s.nsaa += m.words * WORD;
  return { pieces, rule: `AAPCS 7.1.2.3 C.2.vfp: stack${m.doubleword ? ', 8-byte aligned' : ''}; no later VFP back-filling` };
}

// ---------------------------------------------------------------------------
// Result return (6.4)

/**
 * AAPCS 6.4, base standard: a fundamental type in r0 (sub-word integers
 * extended) or r0:r1 (double-word: long long, and double in soft-float); a
 * composite of at most 4 bytes in r0 as if loaded by LDR (bytes outside it
 * unspecified); a larger composite in memory whose address is passed in r0 (A.4).
 * The callee need not hand the address back.
 */
export function baseResult(abi: string, type: CType, layouts: LayoutCache): ResultAssignment {
  if (type.kind === 'void') return { kind: 'void' };
  checkByValue(abi, type, 'result');
  const layout = layoutFor(abi, layouts, type, 'result');
  const size = layout.size;
  if (type.kind === 'struct' || type.kind === 'union') {
    if (size <= WORD) {
      return { kind: 'registers', type, size, pieces: corePieces(0, 0, size), rule: 'AAPCS 6.4: composite of <= 4 bytes in r0' };
    }
    return {
      kind: 'memory', type, size,
      pointer: { kind: 'reg', reg: 'r0', valueOffset: 0, size: WORD, format: 'int' },
      calleePops: 0,
      rule: 'AAPCS 6.4: composite of > 4 bytes in memory, address in r0 (A.4)',
    };
  }
  const ext = size < WORD ? integerExtension(type, ARM_DATA_MODEL) : undefined;
  const pieces = corePieces(0, 0, size, ext);
  return {
    kind: 'registers', type, size, pieces,
    rule: size > WORD ? 'AAPCS 6.4: double-word fundamental type in r0:r1' : 'AAPCS 6.4: fundamental type in r0',
  };
}

// ---------------------------------------------------------------------------
// The whole call

/**
 * Marshals a call by AAPCS 6.5 stages A-C. With a co-processor class (the VFP
 * variant), its candidates go to its registers or the stack, never to core
 * registers; a variadic function is always marshalled as for the base standard
 * (6.5, and the note in 7.1.2.1), its result included.
 */
export function arrangeAapcs<C>(
  abi: string,
  signature: Signature,
  variadicArgs: CType[] | undefined,
  coprocessor?: CoprocessorClass<C>,
): CallArrangement {
  const layouts = new LayoutCache(ARM_DATA_MODEL);
  const cp = signature.variadic ? undefined : coprocessor;
  const callArgList = callArgs(abi, signature, variadicArgs ?? []);

  let result: ResultAssignment;
  const resultCandidate = cp && signature.result.kind !== 'void' ? cp.candidate(signature.result, layouts) : undefined;
  if (cp && resultCandidate !== undefined) {
    const size = layoutFor(abi, layouts, signature.result, 'result').size;
    const placed = cp.result(resultCandidate);
    result = { kind: 'registers', type: signature.result, size, pieces: placed.pieces, rule: placed.rule };
  } else {
    result = baseResult(abi, signature.result, layouts);
  }

  const s = ruleA(result.kind === 'memory');
  const cpRegs = cp?.initial();
  const args: ArgAssignment[] = callArgList.map((arg) => {
    const m = ruleB(abi, arg, layouts);
    const candidate = cp ? cp.candidate(arg.type, layouts) : undefined;
    let placed: Placement;
    if (cpRegs && candidate !== undefined) {
      const inRegs = cpRegs.allocate(candidate); // C.1.cp
      if (inRegs) placed = inRegs;
      else {
        cpRegs.markUnavailable(); // C.2.cp
        placed = ruleC2cpStack(s, m);
      }
    } else {
      placed = allocateCore(s, m);
    }
    let rule = placed.rule;
    if (arg.promoted) rule += ` (variadic: ${arg.promoted}, AAPCS 8.2 / C 6.5.2.2)`;
    if (signature.variadic && coprocessor) rule += ' [variadic function: base standard, AAPCS 6.5]';
    return {
      index: arg.index, name: arg.name, type: arg.type, size: m.size,
      passing: 'value', pieces: placed.pieces, variadic: arg.variadic, rule,
    };
  });

  return {
    abi, signature, args, result,
    stackBytes: alignUp(s.nsaa, ARM_STACK_ALIGN),
    stackAlign: ARM_STACK_ALIGN,
    special: [],
  };
}

/** AAPCS base standard, soft-float (Debian armel, arm-linux-gnueabi). */
export const armAapcs: CallingConvention = {
  name: 'arm-aapcs',
  target: 'arm',
  toolchain: { gcc: 'arm-linux-gnueabi-gcc', package: 'gcc-arm-linux-gnueabi', runtimeDir: 'armel' },
  dataModel: ARM_DATA_MODEL,
  // AAPCS 6.1.1: r4-r11 must be preserved (soft-float code does not touch VFP registers).
  registers: { intArgs: [...CORE_ARG_REGS], fpArgs: [], results: ['r0', 'r1'], preserved: [...ARM_PRESERVED] },
  arrange(signature: Signature, variadicArgs?: CType[]): CallArrangement {
    return arrangeAapcs<never>('arm-aapcs', signature, variadicArgs);
  },
};
