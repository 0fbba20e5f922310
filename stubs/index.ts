// The stubs of every convention, by name. Red zones live here because only the
// host's frame allocation (below a live guest stack pointer) needs them.
import type { AbiName } from '../abis/abi.ts';
import type { CallStubGenerator, ThunkGenerator } from './stub.ts';
import { i386CallStub, i386Thunk } from './i386-sysv.ts';
import { x86_64CallStub, x86_64Thunk } from './x86_64-sysv.ts';
import { armAapcsCallStub, armAapcsVfpCallStub, armAapcsThunk, armAapcsVfpThunk } from './arm-aapcs.ts';
import { ppc32CallStub, ppc32Thunk } from './ppc32-sysv.ts';

export interface StubSet {
  callStub: CallStubGenerator;
  thunk: ThunkGenerator;
  /** Bytes below the stack pointer that a leaf function may use without moving it. */
  redZone: number;
}

export const STUBS: Readonly<Record<AbiName, StubSet>> = {
  'i386-sysv': { callStub: i386CallStub, thunk: i386Thunk, redZone: 0 },
  'x86_64-sysv': { callStub: x86_64CallStub, thunk: x86_64Thunk, redZone: 128 }, // psABI 3.2.2
  'arm-aapcs': { callStub: armAapcsCallStub, thunk: armAapcsThunk, redZone: 0 },
  'arm-aapcs-vfp': { callStub: armAapcsVfpCallStub, thunk: armAapcsVfpThunk, redZone: 0 },
  'ppc32-sysv': { callStub: ppc32CallStub, thunk: ppc32Thunk, redZone: 0 },
};
