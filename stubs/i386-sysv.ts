// i386 SysV generic call stub. ebx (callee-saved) holds the register image;
// esp is the frame base, 16-aligned at the call. The callee may pop a hidden
// struct-return pointer (ret $4): the host restores esp afterwards anyway.
import { at, hex, type CallStubGenerator } from './stub.ts';

export const i386CallStub: CallStubGenerator = (image, sentinel) => {
  const L = [
    `mov eax, dword ptr [ebx + ${hex(at(image, 'function', 'control'))}]`,
    'call eax',
    `mov dword ptr [ebx + ${hex(at(image, 'eax', 'result'))}], eax`,
    `mov dword ptr [ebx + ${hex(at(image, 'edx', 'result'))}], edx`,
    // float, double and long double results arrive in st0; pop it only then.
    `cmp dword ptr [ebx + ${hex(at(image, 'x87-result', 'control'))}], 0`,
    'je done',
    `fstp tbyte ptr [ebx + ${hex(at(image, 'st0', 'result'))}]`,
    'done:',
    `mov eax, ${hex(sentinel)}`,
    'jmp eax',
  ];
  return { text: L.join('\n'), imageRegister: 'ebx' };
};
