// GCC's fastcall attribute on i386 (GCC manual, x86 Function Attributes: "fastcall"): the first
// two arguments go in ecx and edx if each is an integer or pointer of up to 4 bytes; measured with
// GCC 12, a struct, union or long long goes on the stack and still uses up as many of the two
// registers as it has words (function_arg_32, function_arg_advance_32), a float-class value
// uses none. The hidden struct-return pointer is the first argument (ecx). The callee pops the
// stack arguments (`ret N`). A variadic function takes everything on the stack and pops nothing.
import type { CallingConvention } from '../abi.ts';
import { makeI386 } from '../i386-sysv/convention.ts';

export const i386Fastcall: CallingConvention = makeI386({
  name: 'i386-fastcall', attribute: 'fastcall', regStructReturn: false, argRegs: ['ecx', 'edx'], scalarsOnlyInRegs: true, calleePopsArgs: true,
});
