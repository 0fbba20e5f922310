// abiscope: a reentrant FFI engine running in emulated CPUs.
export { Sandbox, Library, type ForeignFunction, type SandboxOptions, type ResultTarget } from './marshal/sandbox.ts';
export { Machine, type RunLimits } from './emu/machine.ts';
export * from './emu/faults.ts';
export { UnicornMissingError, UnicornClosedError } from './emu/unicorn.ts';
export { planCall, type FramePlan } from './marshal/frame.ts';
export { ValueError } from './marshal/values.ts';
export { SignatureError, parseSignature, parseType } from './marshal/parse.ts';
export { CONVENTIONS, ABI_NAMES, convention } from './abis/index.ts';
export type { AbiName, CallArrangement, ArgPiece } from './abis/abi.ts';
export { CallbackError, CallbackReleasedError, type Callback, type CallbackContext, type VarArgs } from './marshal/callback.ts';
export { GuestThread, ReturnOrderError, FrameStackExhaustedError, type FrameLevel } from './marshal/guest-thread.ts';
export { StackImbalanceError } from './marshal/call-chain.ts';
export { FrameCorruptedError, ArgumentCountError, type CallRecord } from './marshal/callout.ts';
export { MovingObjectHeap, HostObject, ObjectHeapFullError } from './marshal/object-heap.ts';
export type { MovableObject, JsValue } from './marshal/values.ts';
