// GCC's stdcall attribute on i386 (GCC manual, x86 Function Attributes: "stdcall"): the
// arguments are on the stack as i386-sysv places them (i386 psABI 2.2.3), and the callee pops
// them on return (`ret N`, N the bytes of stack arguments, the hidden struct-return pointer
// included). A variadic function keeps the caller-pops rule: GCC's ix86_return_pops_args pops
// nothing for one, but the hidden pointer (ret $4) as on i386-sysv.
import type { CallingConvention } from '../abi.ts';
import { makeI386 } from '../i386-sysv/convention.ts';

export const i386Stdcall: CallingConvention = makeI386({
  name: 'i386-stdcall', attribute: 'stdcall', regStructReturn: false, argRegs: [], scalarsOnlyInRegs: false, calleePopsArgs: true,
});
