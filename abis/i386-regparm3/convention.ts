// GCC's regparm(3) attribute on i386 (GCC manual, x86 Function Attributes: "regparm (number)"):
// the first three words of integer-class arguments go in eax, edx and ecx, in that order. An
// argument of n words (a long long, a struct of up to 12 bytes) takes the next n registers if
// that many are left, else it goes on the stack and no register is left for the arguments after
// it; a float-class value (float, double, long double, a struct of just one) never takes one
// (GCC i386 function_arg_32, function_arg_advance_32). The hidden struct-return pointer is the
// first argument (eax). The caller pops, as on i386-sysv, and a variadic function takes
// everything on the stack.
import type { CallingConvention } from '../abi.ts';
import { makeI386 } from '../i386-sysv/convention.ts';

export const i386Regparm3: CallingConvention = makeI386({
  name: 'i386-regparm3', attribute: 'regparm(3)', regStructReturn: false, argRegs: ['eax', 'edx', 'ecx'], scalarsOnlyInRegs: false, calleePopsArgs: false,
});
