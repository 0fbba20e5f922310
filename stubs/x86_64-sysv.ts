// x86-64 SysV generic call stub. r12 (callee-saved) holds the register image;
// rsp is the frame base, 16-aligned, so rsp % 16 == 8 at the callee's entry.
import { at, hex, has, preserved, type CallStubGenerator, type ThunkGenerator } from './stub.ts';

export const x86_64CallStub: CallStubGenerator = (image, sentinel, clobbered) => {
  const L: string[] = [];
  for (const r of ['rdi', 'rsi', 'rdx', 'rcx', 'r8', 'r9']) L.push(`mov ${r}, qword ptr [r12 + ${hex(at(image, r, 'arg'))}]`);
  for (let i = 0; i < 8; i++) L.push(`movups xmm${i}, xmmword ptr [r12 + ${hex(at(image, `xmm${i}`, 'arg'))}]`);
  // al = number of vector registers used, for variadic callees (psABI 3.5.7).
  L.push(has(image, 'al', 'special') ? `mov rax, qword ptr [r12 + ${hex(at(image, 'al', 'special'))}]` : 'xor eax, eax');
  // The registers the callee must preserve, as they are at the call (the host compares them after).
  for (const r of preserved(image)) L.push(`mov qword ptr [r12 + ${hex(at(image, r, 'saved'))}], ${r}`);
  L.push(`mov r11, qword ptr [r12 + ${hex(at(image, 'function', 'control'))}]`, 'call r11');
  // Results are stored through r12 only if the callee preserved it.
  L.push(`cmp qword ptr [r12 + ${hex(at(image, 'r12', 'saved'))}], r12`, 'jne clobbered');
  L.push(`mov qword ptr [r12 + ${hex(at(image, 'rax', 'result'))}], rax`, `mov qword ptr [r12 + ${hex(at(image, 'rdx', 'result'))}], rdx`);
  L.push(`movups xmmword ptr [r12 + ${hex(at(image, 'xmm0', 'result'))}], xmm0`, `movups xmmword ptr [r12 + ${hex(at(image, 'xmm1', 'result'))}], xmm1`);
  // Pop st0 only when the callee left a value there (long double result): an unpopped x87 stack overflows after 8 calls.
  L.push(`cmp qword ptr [r12 + ${hex(at(image, 'x87-result', 'control'))}], 0`, 'je done');
  L.push(`fstp tbyte ptr [r12 + ${hex(at(image, 'st0', 'result'))}]`);
  L.push('done:', `mov r11, ${hex(sentinel)}`, 'jmp r11');
  L.push('clobbered:', `mov r11, ${hex(clobbered)}`, 'jmp r11');
  return { text: L.join('\n'), imageRegister: 'r12' };
};

// Call-back thunk. At entry rsp % 16 == 8; the block keeps rsp 16-aligned for nested call-outs.
export const x86_64Thunk: ThunkGenerator = (image, trap) => {
  const frame = Math.ceil(image.size / 16) * 16 + 8;
  const S: string[] = [`sub rsp, ${hex(frame)}`];
  for (const r of ['rdi', 'rsi', 'rdx', 'rcx', 'r8', 'r9']) S.push(`mov qword ptr [rsp + ${hex(at(image, r, 'arg'))}], ${r}`);
  for (let i = 0; i < 8; i++) S.push(`movups xmmword ptr [rsp + ${hex(at(image, `xmm${i}`, 'arg'))}], xmm${i}`);
  if (has(image, 'al', 'special')) S.push(`mov qword ptr [rsp + ${hex(at(image, 'al', 'special'))}], rax`);
  S.push(`mov qword ptr [rsp + ${hex(at(image, 'function', 'control'))}], r11`, `mov r11, ${hex(trap)}`, 'jmp r11');
  const R = [
    `mov rax, qword ptr [rsp + ${hex(at(image, 'rax', 'result'))}]`,
    `mov rdx, qword ptr [rsp + ${hex(at(image, 'rdx', 'result'))}]`,
    `movups xmm0, xmmword ptr [rsp + ${hex(at(image, 'xmm0', 'result'))}]`,
    `movups xmm1, xmmword ptr [rsp + ${hex(at(image, 'xmm1', 'result'))}]`,
    `cmp qword ptr [rsp + ${hex(at(image, 'x87-result', 'control'))}], 0`,
    'je nox87',
    `fld tbyte ptr [rsp + ${hex(at(image, 'st0', 'result'))}]`,
    'nox87:',
    `add rsp, ${hex(frame)}`,
    'ret',
  ];
  return {
    save: S.join('\n'),
    restore: R.join('\n'),
    entry: (id, save) => `mov r11, ${hex(id)}\nmov r10, ${hex(save)}\njmp r10`, // rax holds al: keep it
    block: (sp) => sp,
    entrySp: (sp) => sp + frame,
  };
};
