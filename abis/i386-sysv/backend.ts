// i386 back end, for i386-sysv and its variants (stdcall, fastcall, thiscall, regparm(3),
// -freg-struct-return). The generic call stub: ebx (callee-saved) holds the register image;
// it loads the image's argument registers (none on plain i386-sysv; eax, ecx, edx on the
// variants) and calls through the image's function word, so no argument register is used for
// anything else. esp is the frame base, 16-aligned at the call. The callee may pop its stack
// arguments or a hidden struct-return pointer (ret N): the host restores esp afterwards anyway.
// The compiled stub addresses the frame from esp, less the bytes the callee popped once it has
// returned.
import { at, hex, preserved, type CallStubGenerator, type CodeLine, type ConventionBackend, type StubCompiler, type ThunkCompiler, type ThunkGenerator } from '../../backends/backend.ts';
import type { RegisterImage } from '../../abis/register-image.ts';

/** The image's argument registers (a variant's eax, ecx, edx), in image order. */
const argRegisters = (image: RegisterImage): string[] => image.slots.filter((s) => s.role === 'arg').map((s) => s.reg);

export const i386CallStub: CallStubGenerator = (image, sentinel, clobbered) => {
  const L = [
    // The registers the callee must preserve, as they are at the call (the host compares them after).
    ...preserved(image).map((r) => `mov dword ptr [ebx + ${hex(at(image, r, 'saved'))}], ${r}`),
    ...argRegisters(image).map((r) => `mov ${r}, dword ptr [ebx + ${hex(at(image, r, 'arg'))}]`),
    `call dword ptr [ebx + ${hex(at(image, 'function', 'control'))}]`,
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
 * Bytes a call-back thunk takes off esp, with the id word its entry stub pushed: the block,
 * rounded to 16, plus 12. The caller's esp is 16-aligned at the call (psABI 2.2.2), 16n + 12
 * once the return address is pushed: so esp is 16-aligned again below the frame, for the
 * call-outs the call-back makes.
 */
function thunkFrame(image: RegisterImage): number {
  return Math.ceil(image.blockSize / 16) * 16 + 12;
}

/** Where the id the entry stub pushed sits, from esp below the frame. */
const idWord = (image: RegisterImage) => thunkFrame(image) - 4;

/**
 * Call-back thunk. The entry stub pushes the call-back's id (regparm(3) passes arguments in
 * eax, ecx and edx: no register is free to carry it) and jumps; the thunk takes the rest of
 * its frame, stores every argument register of the image, then the id into the block. It
 * returns popping as many bytes of its caller's stack as the 'callee-pops' control word says
 * (a hidden struct-return pointer, stdcall's arguments): the return address is moved up by
 * that many bytes first, since `ret N` takes only a constant.
 */
export const i386Thunk: ThunkGenerator = (image, trap) => {
  const frame = thunkFrame(image);
  const S = [
    `sub esp, ${hex(idWord(image))}`,
    ...argRegisters(image).map((r) => `mov dword ptr [esp + ${hex(at(image, r, 'arg'))}], ${r}`),
    `mov eax, dword ptr [esp + ${hex(idWord(image))}]`,
    `mov dword ptr [esp + ${hex(at(image, 'function', 'control'))}], eax`,
    `mov eax, ${hex(trap)}`,
    'jmp eax',
  ];
  const R = [
    `mov eax, dword ptr [esp + ${hex(at(image, 'eax', 'result'))}]`,
    `mov edx, dword ptr [esp + ${hex(at(image, 'edx', 'result'))}]`,
    `cmp dword ptr [esp + ${hex(at(image, 'x87-result', 'control'))}], 0`,
    'je nox87',
    `fld tbyte ptr [esp + ${hex(at(image, 'st0', 'result'))}]`,
    'nox87:',
    // ecx: free on return in every variant (it is never callee-saved nor a result register).
    `mov ecx, dword ptr [esp + ${hex(at(image, 'callee-pops', 'control'))}]`,
    `add esp, ${hex(frame)}`,
    'test ecx, ecx',
    'je plain',
    // [esp] is the return address: copy it to [esp + N], drop N bytes, return from there.
    'push eax',
    'mov eax, dword ptr [esp + 4]',
    'mov dword ptr [esp + ecx + 4], eax',
    'pop eax',
    'add esp, ecx',
    'plain:',
    'ret',
  ];
  return {
    save: S.join('\n'),
    restore: R.join('\n'),
    entry: (id, save) => `push ${hex(id)}\njmp ${hex(save)}`,
    block: (sp) => sp,
    entrySp: (sp) => sp + frame,
  };
};

/** Exactly the plan's guest operations: saves, argument register loads (the variants'), the call, result stores. */
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
 * Exactly the plan's thunk operations, in the generic thunk's frame: the argument registers
 * this signature uses (none on i386-sysv: psABI 2.2.3 puts all on the stack), the result
 * registers it returns in (st0 pushed from its 80-bit slot only for a floating-point result),
 * and `ret N` for the bytes the call-back pops. The plan says all of it statically: the generic
 * restore's tests of the 'x87-result' and 'callee-pops' control words have no place here.
 */
export const i386CompileThunk: ThunkCompiler = (plan, trap) => {
  const frame = thunkFrame(plan.image);
  const save: CodeLine[] = [{ asm: `sub esp, ${hex(idWord(plan.image))}`, ops: [] }];
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
  // The id the entry stub pushed, into the block (eax: every argument register is stored already), then the trap's address.
  save.push(
    { asm: `mov eax, dword ptr [esp + ${hex(idWord(plan.image))}]`, ops: [] },
    { asm: `mov dword ptr [esp + ${hex(at(plan.image, 'function', 'control'))}], eax`, ops: [] },
    { asm: `mov eax, ${hex(trap)}`, ops: [] },
    { asm: 'jmp eax', ops: [] },
  );
  return { save, restore };
};

export const I386_BACKEND: ConventionBackend = { callStub: i386CallStub, thunk: i386Thunk, compileStub: i386CompileStub, compileThunk: i386CompileThunk };
