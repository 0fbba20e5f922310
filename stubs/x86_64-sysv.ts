// x86-64 SysV generic call stub. r12 (callee-saved) holds the register image;
// rsp is the frame base, 16-aligned, so rsp % 16 == 8 at the callee's entry.
import { at, hex, has, type CallStubGenerator } from './stub.ts';

export const x86_64CallStub: CallStubGenerator = (image, sentinel) => {
  const L: string[] = [];
  for (const r of ['rdi', 'rsi', 'rdx', 'rcx', 'r8', 'r9']) L.push(`mov ${r}, qword ptr [r12 + ${hex(at(image, r, 'arg'))}]`);
  for (let i = 0; i < 8; i++) L.push(`movups xmm${i}, xmmword ptr [r12 + ${hex(at(image, `xmm${i}`, 'arg'))}]`);
  // al = number of vector registers used, for variadic callees (psABI 3.5.7).
  L.push(has(image, 'al', 'special') ? `mov rax, qword ptr [r12 + ${hex(at(image, 'al', 'special'))}]` : 'xor eax, eax');
  L.push(`mov r11, qword ptr [r12 + ${hex(at(image, 'function', 'control'))}]`, 'call r11');
  L.push(`mov qword ptr [r12 + ${hex(at(image, 'rax', 'result'))}], rax`, `mov qword ptr [r12 + ${hex(at(image, 'rdx', 'result'))}], rdx`);
  L.push(`movups xmmword ptr [r12 + ${hex(at(image, 'xmm0', 'result'))}], xmm0`, `movups xmmword ptr [r12 + ${hex(at(image, 'xmm1', 'result'))}], xmm1`);
  // Pop st0 only when the callee left a value there (long double result): an unpopped x87 stack overflows after 8 calls.
  L.push(`cmp qword ptr [r12 + ${hex(at(image, 'x87-result', 'control'))}], 0`, 'je done');
  L.push(`fstp tbyte ptr [r12 + ${hex(at(image, 'st0', 'result'))}]`);
  L.push('done:', `mov r11, ${hex(sentinel)}`, 'jmp r11');
  return { text: L.join('\n'), imageRegister: 'r12' };
};
