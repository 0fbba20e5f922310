// The interface every calling convention implements (one file each in abis/).
// A convention turns a signature into a CallArrangement: plain data saying where
// each argument and the result go. Frame planning, stubs and call-backs read it;
// nothing outside the convention's own file knows its rules.
import { AbiscopeError } from '../errors.ts';
import type { CType, Signature } from '../ctypes/ctypes.ts';
import type { DataModel } from '../layout/datamodel.ts';
import type { TargetName } from '../emu/targets.ts';

/**
 * One piece of an argument or result. A value is described by its in-memory image
 * (the bytes C would store, in the target's byte order); each piece moves
 * `size` bytes starting at `valueOffset` of that image.
 */
export type ArgPiece =
  | {
      kind: 'reg';
      /** Register as the ABI document names it: rdi, xmm0, r0, s2, d0, f1, r3, st0. */
      reg: string;
      valueOffset: number;
      size: number;
      /**
       * How the bytes sit in the register:
       * - 'int': an integer word (target byte order), sign- or zero-extended per `extend`;
       * - 'raw': bytes at the low end of the register (xmm eightbyte, s/d VFP register);
       * - 'f32-as-f64': a float held in double format (PPC FPRs);
       * - 'x87': an 80-bit x87 value (st0).
       */
      format: 'int' | 'raw' | 'f32-as-f64' | 'x87';
      extend?: 'sign' | 'zero';
    }
  | {
      kind: 'stack';
      /** Byte offset from the stack pointer at the call instruction (before any return-address push). */
      offset: number;
      valueOffset: number;
      size: number;
      /** Bytes the slot occupies (>= size); a big-endian sub-word value sits at its high end. */
      slotSize: number;
      /** Where the value sits in its slot (0 on little-endian targets). */
      slotOffset: number;
      extend?: 'sign' | 'zero';
    };

/** Where one argument goes. */
export interface ArgAssignment {
  index: number;
  name: string;
  type: CType;
  size: number;
  /** 'value': pieces hold the value itself; 'reference': the value is copied (region 1) and `pieces` pass a pointer to the copy. */
  passing: 'value' | 'reference';
  pieces: ArgPiece[];
  /** True for arguments matched by `...`. */
  variadic: boolean;
  /** Which rule placed it, with the ABI section, for printing: "x86-64 psABI 3.2.3: INTEGER class". */
  rule: string;
}

export type ResultAssignment =
  | { kind: 'void' }
  | { kind: 'registers'; type: CType; size: number; pieces: ArgPiece[]; rule: string }
  | {
      kind: 'memory';
      type: CType;
      size: number;
      /** Where the caller passes the hidden pointer to the result buffer. */
      pointer: ArgPiece;
      /** Register in which the callee hands the pointer back (rax, eax), if the ABI says so. */
      returnedIn?: string;
      /** The hidden pointer's share of the bytes the callee pops (i386 Linux: 4); CallArrangement.calleePops has them all. */
      calleePops: number;
      rule: string;
    };

/** Everything a stub must set besides argument registers and stack. */
export interface SpecialRegister {
  reg: string;
  value: number;
  why: string;
}

export interface CallArrangement {
  abi: string;
  signature: Signature;
  args: ArgAssignment[];
  result: ResultAssignment;
  /** Size of the outgoing stack argument area, including any fixed area (PPC back chain + LR word). */
  stackBytes: number;
  /** Required alignment of the stack pointer at the call instruction. */
  stackAlign: number;
  special: SpecialRegister[];
  /**
   * Bytes of the stack the callee pops on return (x86 `ret N`), and the rule that says so:
   * i386 stdcall, fastcall and thiscall pop every stack argument; i386 SysV the hidden
   * struct-return pointer. Absent: the caller pops everything.
   */
  calleePops?: { bytes: number; rule: string };
}

/** The register file a convention uses for arguments and results, in the order of its register image. */
export interface RegisterFile {
  /** Integer argument registers in order. */
  intArgs: string[];
  /** FP/vector argument registers in order (xmm0-7, d0-d7 or s0-s15 views, f1-f8, q0-q7). */
  fpArgs: string[];
  /** The register that carries the hidden result pointer when it is not an argument register (AArch64 x8). */
  indirectResult?: string;
  /** Registers that may hold a result. */
  results: string[];
  /** Registers a call may have to set besides arguments (x86-64 al, PPC cr6): every call's image has a slot for each. */
  special?: string[];
  /**
   * Registers a callee must preserve (callee-saved, non-volatile), as the ABI document names
   * them; the stack pointer is checked separately. abiscope compares each after every call.
   */
  preserved: string[];
  /** Bits of a preserved register that are preserved, where only some are (PowerPC cr: fields 2-4). */
  preservedBits?: Readonly<Record<string, number>>;
  /** Registers that are part of another (ARM VFP: s2k and s2k+1 are the low and high halves of dk). */
  aliases?: Readonly<Record<string, { reg: string; offset: number; size: number }>>;
  /** Slot bytes of registers whose image slot is not their width (x87 st0: 16; al, cr6: a word). */
  slotBytes?: Readonly<Record<string, number>>;
}

/** How users build code for a convention on Debian or Ubuntu, and the runtime build that goes with it. */
export interface Toolchain {
  /** The compiler: 'arm-linux-gnueabihf-gcc'. */
  gcc: string;
  /** The Debian package that installs it: 'gcc-arm-linux-gnueabihf'. */
  package: string;
  /** abiscope's guest C runtime built with that compiler: runtime/lib/<runtimeDir>. */
  runtimeDir: string;
  /**
   * A variant of the target's default convention: what selects it in GCC, on the functions that
   * follow it (i386-stdcall: `-DDEMO_CC=__attribute__((stdcall))`, DEMO_CC on each function of
   * demo/src/demo.c), or a compiler option (-freg-struct-return). Its demo build is demo/obj/<name>.
   */
  selectedBy?: string;
  /**
   * The convention abiscope's runtime build (plain C, the target's default) and its host
   * functions follow, where it is not this one: the i386 variants' is 'i386-sysv'.
   */
  runtimeConvention?: string;
}

/** Facts of a convention's stack frame that the plan needs. */
export interface FrameFacts {
  /** Bytes below the stack pointer a leaf function may use without moving it (x86-64 psABI 3.2.2: 128). */
  redZone?: number;
  /** The word at the stack pointer is the caller's stack pointer (PowerPC SysV: the back chain). */
  backChain?: boolean;
  /**
   * Bytes at the bottom of the outgoing area the caller always reserves for the callee, part of
   * stackBytes (Windows x64: 32, the home slots of rcx, rdx, r8 and r9, the "shadow space").
   */
  shadowSpace?: number;
}

export interface CallingConvention {
  /** Its name in backends/registry.ts. */
  name: string;
  target: TargetName;
  dataModel: DataModel;
  toolchain: Toolchain;
  frame?: FrameFacts;
  registers: RegisterFile;
  /**
   * Caller's view: where each argument and the result go. For a variadic signature,
   * `variadicArgs` are the types of the arguments passed for `...` at this call
   * (before default promotions: the convention applies them, e.g. float -> double).
   */
  arrange(signature: Signature, variadicArgs?: CType[]): CallArrangement;
}

/** A signature the convention cannot express (e.g. unsupported type). */
export class AbiError extends AbiscopeError {
  constructor(readonly abi: string, message: string) {
    super(`${abi}: ${message}`);
    this.name = 'AbiError';
  }
}
