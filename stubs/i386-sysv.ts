// i386 SysV generic call stub. ebx (callee-saved) holds the register image;
// esp is the frame base, 16-aligned at the call. The callee may pop a hidden
// struct-return pointer (ret $4): the host restores esp afterwards anyway.
import { at, hex, preserved, type CallStubGenerator, type ThunkGenerator } from './stub.ts';

export const i386CallStub: CallStubGenerator = (image, sentinel, clobbered) => {
  const L = [
    `mov eax, dword ptr [ebx + ${hex(at(image, 'function', 'control'))}]`,
    // The registers the callee must preserve, as they are at the call (the host compares them after).
    ...preserved(image).map((r) => `mov dword ptr [ebx + ${hex(at(image, r, 'saved'))}], ${r}`),
    'call eax',
    // Results are stored through ebx only if the callee preserved it.
    `cmp dword ptr [ebx + ${hex(at(image, 'ebx', 'saved'))}], ebx`,
    'jne clobbered',
    `mov dword ptr [ebx + ${hex(at(image, 'eax', 'result'))}], eax`,
    `mov dword ptr [ebx + ${hex(at(image, 'edx', 'result'))}], edx`,
    // float, double and long double results arrive in st0; pop it only then.
    `cmp dword ptr [ebx + ${hex(at(image, 'x87-result', 'control'))}], 0`,
    'je done',
    `fstp tbyte ptr [ebx + ${hex(at(image, 'st0', 'result'))}]`,
    'done:',
    `mov eax, ${hex(sentinel)}`,
    'jmp eax',
    'clobbered:',
    `mov eax, ${hex(clobbered)}`,
    'jmp eax',
  ];
  return { text: L.join('\n'), imageRegister: 'ebx' };
};

// Call-back thunk: every argument is on the stack already, so the block only carries
// the id and the results. The call-back pops a hidden struct-return pointer (ret $4).
export const i386Thunk: ThunkGenerator = (image, trap) => {
  const frame = Math.ceil(image.size / 16) * 16 + 12;
  const S = [`sub esp, ${hex(frame)}`, `mov dword ptr [esp + ${hex(at(image, 'function', 'control'))}], eax`, `mov eax, ${hex(trap)}`, 'jmp eax'];
  const R = [
    `mov eax, dword ptr [esp + ${hex(at(image, 'eax', 'result'))}]`,
    `mov edx, dword ptr [esp + ${hex(at(image, 'edx', 'result'))}]`,
    `cmp dword ptr [esp + ${hex(at(image, 'x87-result', 'control'))}], 0`,
    'je nox87',
    `fld tbyte ptr [esp + ${hex(at(image, 'st0', 'result'))}]`,
    'nox87:',
    `cmp dword ptr [esp + ${hex(at(image, 'callee-pops', 'control'))}], 0`,
    'jne pop4',
    `add esp, ${hex(frame)}`,
    'ret',
    'pop4:',
    `add esp, ${hex(frame)}`,
    'ret 4',
  ];
  return {
    save: S.join('\n'),
    restore: R.join('\n'),
    entry: (id, save) => `mov eax, ${hex(id)}\nmov ecx, ${hex(save)}\njmp ecx`,
    block: (sp) => sp,
    entrySp: (sp) => sp + frame,
  };
};
