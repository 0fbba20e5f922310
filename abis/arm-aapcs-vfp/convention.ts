// ARM AAPCS, VFP variant (Debian armhf, arm-linux-gnueabihf): the base
// standard of arm-aapcs.ts plus one co-processor register class, the VFP
// registers s0-s15 / d0-d7 (AAPCS 7.1, IHI 0042 2020+ numbering).
//
// Checked against Debian GCC 12 (arm-linux-gnueabihf-gcc -O2 -S -marm): see
// tests/abi-arm.test.ts for each case read off the assembly.
import type { CallArrangement, CallingConvention, ArgPiece } from '../abi.ts';
import type { CType, Signature } from '../../ctypes/ctypes.ts';
import type { LayoutCache } from '../../layout/layout.ts';
import {
  ARM_DATA_MODEL, ARM_PRESERVED, CORE_ARG_REGS, arrangeAapcs,
  type CoprocessorClass, type CoprocessorRegisters, type Placement,
} from '../arm-aapcs/convention.ts';
import { homogeneousElements, layoutFor } from '../classify-util.ts';

/** A VFP co-processor register candidate: `count` elements of one base type. */
export interface VfpCandidate {
  base: 'float' | 'double';
  /** 1 for a lone float or double, 1-4 for a homogeneous aggregate. */
  count: number;
  aggregate: boolean;
}

const NUM_S_ARG_REGS = 16; // s0-s15 = d0-d7
const MAX_HFA_ELEMENTS = 4;

/** The floating-point base type of a scalar on ARM (long double is IEEE double there), or undefined. */
function floatBase(type: CType): 'float' | 'double' | undefined {
  if (type.kind !== 'scalar') return undefined;
  if (type.name === 'float') return 'float';
  if (type.name === 'double' || type.name === 'long double') return 'double';
  return undefined;
}

/**
 * AAPCS 7.1.2.1 VFP co-processor register candidates: a float, a double, or a
 * Homogeneous Aggregate (5.3.5) of 1-4 floats or 1-4 doubles. (Half-precision
 * and vector types are not in abiscope's type model.)
 */
export function vfpCandidate(type: CType, layouts: LayoutCache): VfpCandidate | undefined {
  const fb = floatBase(type);
  if (fb) return { base: fb, count: 1, aggregate: false };
  if (type.kind !== 'struct' && type.kind !== 'union') return undefined;
  layoutFor('arm-aapcs-vfp', layouts, type, 'argument'); // incomplete types etc. as AbiError
  // AAPCS 5.3.5: a Homogeneous Aggregate of floats or of doubles (long double is a double here).
  const base: { t?: 'float' | 'double' } = {};
  const count = homogeneousElements(type, layouts, floatBase, base);
  if (count === undefined || count < 1 || count > MAX_HFA_ELEMENTS || !base.t) return undefined;
  return { base: base.t, count, aggregate: true };
}

/** Pieces of a candidate in consecutive registers starting at s<first> (floats) or d<first/2> (doubles). */
function vfpPieces(c: VfpCandidate, firstS: number): ArgPiece[] {
  const pieces: ArgPiece[] = [];
  for (let k = 0; k < c.count; k++) {
    pieces.push(c.base === 'float'
      ? { kind: 'reg', reg: `s${firstS + k}`, valueOffset: 4 * k, size: 4, format: 'raw' }
      : { kind: 'reg', reg: `d${firstS / 2 + k}`, valueOffset: 8 * k, size: 8, format: 'raw' });
  }
  return pieces;
}

function describe(c: VfpCandidate): string {
  return c.aggregate ? `homogeneous aggregate of ${c.count} ${c.base}${c.count > 1 ? 's' : ''}` : c.base;
}

/** AAPCS 7.1.2.3 A.2.vfp: s0-s15 (d0-d7) start unallocated; one bit per s register. */
function ruleA2vfp(): CoprocessorRegisters<VfpCandidate> {
  let free = (1 << NUM_S_ARG_REGS) - 1;
  return {
    /**
     * AAPCS 7.1.2.3 C.1.vfp: the lowest-numbered sequence of enough consecutive
     * unallocated registers of the candidate's type. A float may take an s
     * register left free by an earlier double's alignment ("back-filling": in
     * f(float, double, float) the second float takes s1); a double takes an
     * even-aligned pair of s registers (a d register).
     */
    allocate(c: VfpCandidate): Placement | undefined {
      const step = c.base === 'float' ? 1 : 2;
      const need = c.count * step;
      const mask = (1 << need) - 1;
      for (let first = 0; first + need <= NUM_S_ARG_REGS; first += step) {
        if (((free >> first) & mask) === mask) {
          // Back-filling: a register above this sequence is already allocated.
          const above = ~free & ((1 << NUM_S_ARG_REGS) - 1) & ~((1 << (first + need)) - 1);
          const backfill = above !== 0 ? ' (back-filled)' : '';
          free &= ~(mask << first);
          return { pieces: vfpPieces(c, first), rule: `AAPCS 7.1.2.3 C.1.vfp: ${describe(c)} in VFP registers${backfill}` };
        }
      }
      return undefined;
    },
    /** AAPCS 7.1.2.3 C.2.vfp: once a candidate went to the stack, no VFP register is used again (no back-filling). */
    markUnavailable(): void {
      free = 0;
    },
  };
}

/** AAPCS 7.1.2.2: a candidate result in consecutive VFP registers from s0 / d0. */
function ruleResultVfp(c: VfpCandidate): Placement {
  return { pieces: vfpPieces(c, 0), rule: `AAPCS 7.1.2.2: ${describe(c)} returned in ${c.base === 'float' ? 's0' : 'd0'}${c.count > 1 ? ' onwards' : ''}` };
}

/** The VFP register class plugged into the base standard's stage C. */
export const VFP_CLASS: CoprocessorClass<VfpCandidate> = {
  candidate: vfpCandidate,
  initial: ruleA2vfp,
  result: ruleResultVfp,
};

/** AAPCS VFP variant, hard-float (Debian armhf). Variadic functions use the base standard throughout. */
export const armAapcsVfp: CallingConvention = {
  name: 'arm-aapcs-vfp',
  target: 'arm',
  toolchain: { gcc: 'arm-linux-gnueabihf-gcc', package: 'gcc-arm-linux-gnueabihf', runtimeDir: 'armhf' },
  dataModel: ARM_DATA_MODEL,
  registers: {
    intArgs: [...CORE_ARG_REGS],
    fpArgs: ['d0', 'd1', 'd2', 'd3', 'd4', 'd5', 'd6', 'd7'],
    results: ['r0', 'r1', 's0', 's1', 's2', 's3', 'd0', 'd1', 'd2', 'd3'],
    // AAPCS 6.1.2.1: s16-s31 (d8-d15) must be preserved too.
    preserved: [...ARM_PRESERVED, 'd8', 'd9', 'd10', 'd11', 'd12', 'd13', 'd14', 'd15'],
    // VFP: s(2k) and s(2k+1) are the low and high halves of d(k) (little-endian).
    aliases: Object.fromEntries(Array.from({ length: 32 }, (_, n) => [`s${n}`, { reg: `d${n >> 1}`, offset: (n & 1) * 4, size: 4 }])),
  },
  arrange(signature: Signature, variadicArgs?: CType[]): CallArrangement {
    return arrangeAapcs('arm-aapcs-vfp', signature, variadicArgs, VFP_CLASS);
  },
};
