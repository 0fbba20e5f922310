// GCC's thiscall attribute on i386 (GCC manual, x86 Function Attributes: "thiscall"): the first
// argument goes in ecx if it is an integer or pointer of up to 4 bytes (C++'s `this`), the rest
// on the stack, which the callee pops (`ret N`). Measured with GCC 12, it is fastcall with one
// register: a first struct or long long goes on the stack and uses up ecx, a float-class value
// leaves it free; the hidden struct-return pointer takes ecx. A variadic function takes
// everything on the stack and pops nothing.
import type { CallingConvention } from '../abi.ts';
import { makeI386 } from '../i386-sysv/convention.ts';

export const i386Thiscall: CallingConvention = makeI386({
  name: 'i386-thiscall', attribute: 'thiscall', regStructReturn: false, argRegs: ['ecx'], scalarsOnlyInRegs: true, calleePopsArgs: true,
});
