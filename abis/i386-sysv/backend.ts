// i386 SysV back end. The generic call stub: ebx (callee-saved) holds the register image;
// esp is the frame base, 16-aligned at the call. The callee may pop a hidden struct-return
// pointer (ret $4): the host restores esp afterwards anyway. The compiled stub addresses
// the frame from esp, less the bytes the callee popped once it has returned.
import { at, hex, preserved, type CallStubGenerator, type CodeLine, type ConventionBackend, type StubCompiler, type ThunkCompiler, type ThunkGenerator } from '../../backends/backend.ts';
import type { RegisterImage } from '../../abis/register-image.ts';

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
    ...preserved(image).map((r) => `mov dword ptr [ebx + ${hex(at(image, r, 'saved-after'))}], ${r}`),
    `mov eax, ${hex(sentinel)}`,
    'jmp eax',
    'clobbered:',
    `mov eax, ${hex(clobbered)}`,
    'jmp eax',
  ];
  return { text: L.join('\n'), imageRegister: 'ebx' };
};

/**
 * Bytes a call-back thunk takes off esp: the block, rounded to 16, plus 12. The caller's esp
 * is 16-aligned at the call (psABI 2.2.2), 16n + 12 once the return address is pushed: so esp
 * is 16-aligned again below the frame, for the call-outs the call-back makes.
 */
function thunkFrame(image: RegisterImage): number {
  return Math.ceil(image.blockSize / 16) * 16 + 12;
}

// Call-back thunk: every argument is on the stack already, so the block only carries
// the id and the results. The call-back pops a hidden struct-return pointer (ret $4).
export const i386Thunk: ThunkGenerator = (image, trap) => {
  const frame = thunkFrame(image);
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

/** Exactly the plan's guest operations (i386 passes no argument in registers: saves, the call, result stores). */
export const i386CompileStub: StubCompiler = (plan, sentinel) => {
  const L: CodeLine[] = [];
  let popped = 0; // after the call esp is the frame base plus what the callee popped
  const frame = (off: number) => `[esp + ${hex(off - popped)}]`;
  plan.ops.forEach((op, i) => {
    switch (op.op) {
      case 'save': L.push({ asm: `mov dword ptr ${frame(op.to)}, ${op.reg}`, ops: [i] }); break;
      case 'load': L.push({ asm: `mov ${op.reg}, dword ptr ${frame(op.from)}`, ops: [i] }); break;
      case 'call':
        L.push({ asm: `call dword ptr ${frame(op.from)}`, ops: [i] });
        popped = op.pops;
        break;
      case 'store': L.push({ asm: op.format === 'x87' ? `fstp tbyte ptr ${frame(op.to)}` : `mov dword ptr ${frame(op.to)}, ${op.reg}`, ops: [i] }); break;
      default: break; // the host's (i386 has no special registers)
    }
  });
  L.push({ asm: `mov eax, ${hex(sentinel)}`, ops: [] }, { asm: 'jmp eax', ops: [] });
  return L;
};

/**
 * Exactly the plan's thunk operations, in the generic thunk's frame: no argument register to
 * receive (psABI 2.2.3: all on the stack), the result registers this signature returns in (st0
 * pushed from its 80-bit slot only for a floating-point result), and `ret 4` when the
 * call-back pops the hidden struct-return pointer. The plan says both statically: the generic
 * restore's tests of the 'x87-result' and 'callee-pops' control words have no place here.
 */
export const i386CompileThunk: ThunkCompiler = (plan, trap) => {
  const frame = thunkFrame(plan.image);
  const save: CodeLine[] = [{ asm: `sub esp, ${hex(frame)}`, ops: [] }];
  const restore: CodeLine[] = [];
  plan.thunk.forEach((op, i) => {
    switch (op.op) {
      case 'receive': save.push({ asm: `mov dword ptr [esp + ${hex(op.to)}], ${op.reg}`, ops: [i] }); break;
      case 'give':
        restore.push({ asm: op.format === 'x87' ? `fld tbyte ptr [esp + ${hex(op.from)}]` : `mov ${op.reg}, dword ptr [esp + ${hex(op.from)}]`, ops: [i] });
        break;
      case 'return': restore.push({ asm: `add esp, ${hex(frame)}`, ops: [i] }, { asm: op.pops ? `ret ${hex(op.pops)}` : 'ret', ops: [i] }); break;
    }
  });
  // eax: the id the entry stub left (no argument arrives in it), then the trap's address.
  save.push(
    { asm: `mov dword ptr [esp + ${hex(at(plan.image, 'function', 'control'))}], eax`, ops: [] },
    { asm: `mov eax, ${hex(trap)}`, ops: [] },
    { asm: 'jmp eax', ops: [] },
  );
  return { save, restore };
};

export const I386_BACKEND: ConventionBackend = { callStub: i386CallStub, thunk: i386Thunk, compileStub: i386CompileStub, compileThunk: i386CompileThunk };
