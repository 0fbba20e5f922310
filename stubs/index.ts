// The stubs of every convention, by name. Red zones live here because only the
// host's frame allocation (below a live guest stack pointer) needs them.
import type { AbiName } from '../abis/abi.ts';
import type { CallStubGenerator } from './stub.ts';
import { i386CallStub } from './i386-sysv.ts';
import { x86_64CallStub } from './x86_64-sysv.ts';
import { armAapcsCallStub, armAapcsVfpCallStub } from './arm-aapcs.ts';
import { ppc32CallStub } from './ppc32-sysv.ts';

export interface StubSet {
  callStub: CallStubGenerator;
  /** Bytes below the stack pointer that a leaf function may use without moving it. */
  redZone: number;
}

export const STUBS: Readonly<Record<AbiName, StubSet>> = {
  'i386-sysv': { callStub: i386CallStub, redZone: 0 },
  'x86_64-sysv': { callStub: x86_64CallStub, redZone: 128 }, // psABI 3.2.2
  'arm-aapcs': { callStub: armAapcsCallStub, redZone: 0 },
  'arm-aapcs-vfp': { callStub: armAapcsVfpCallStub, redZone: 0 },
  'ppc32-sysv': { callStub: ppc32CallStub, redZone: 0 },
};
