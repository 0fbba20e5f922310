// x86-64 SysV back end. The generic call stub: r12 (callee-saved) holds the register image;
// rsp is the frame base, 16-aligned, so rsp % 16 == 8 at the callee's entry. The compiled
// stub addresses the frame from rsp instead.
import { at, hex, has, preserved, type CallStubGenerator, type CodeLine, type ConventionBackend, type StubCompiler, type ThunkCompiler, type ThunkGenerator } from '../../backends/backend.ts';
import type { RegisterImage } from '../../abis/register-image.ts';

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
  L.push('done:');
  for (const r of preserved(image)) L.push(`mov qword ptr [r12 + ${hex(at(image, r, 'saved-after'))}], ${r}`);
  L.push(`mov r11, ${hex(sentinel)}`, 'jmp r11');
  L.push('clobbered:', `mov r11, ${hex(clobbered)}`, 'jmp r11');
  return { text: L.join('\n'), imageRegister: 'r12' };
};

/** [rsp + off] with the bytes the callee popped already taken off (none on x86-64). */
const frame = (off: number) => `[rsp + ${hex(off)}]`;

/**
 * Exactly the plan's guest operations: no register is loaded or stored that the plan does not
 * name. Also the Windows x64 compiled stub (abis/x86_64-win64): the same instructions, other registers.
 */
export const x86_64CompileStub: StubCompiler = (plan, sentinel) => {
  const L: CodeLine[] = [];
  plan.ops.forEach((op, i) => {
    switch (op.op) {
      // (xmm: Windows x64 preserves xmm6-xmm15, whose 16-byte slots take movups)
      case 'save': L.push({ asm: op.reg.startsWith('xmm') ? `movups xmmword ptr ${frame(op.to)}, ${op.reg}` : `mov qword ptr ${frame(op.to)}, ${op.reg}`, ops: [i] }); break;
      case 'load':
        L.push({ asm: op.reg.startsWith('xmm') ? `movups ${op.reg}, xmmword ptr ${frame(op.from)}` : `mov ${op.reg}, qword ptr ${frame(op.from)}`, ops: [i] });
        break;
      // al: the number of vector registers a variadic callee finds used (psABI 3.5.7).
      case 'set': L.push({ asm: `mov eax, ${hex(op.value)}`, ops: [i] }); break;
      case 'call': L.push({ asm: `call qword ptr ${frame(op.from)}`, ops: [i] }); break;
      case 'store':
        L.push({
          asm: op.format === 'x87' ? `fstp tbyte ptr ${frame(op.to)}` : op.reg.startsWith('xmm') ? `movups xmmword ptr ${frame(op.to)}, ${op.reg}` : `mov qword ptr ${frame(op.to)}, ${op.reg}`,
          ops: [i],
        });
        break;
      default: break; // the host's
    }
  });
  L.push({ asm: `mov r11, ${hex(sentinel)}`, ops: [] }, { asm: 'jmp r11', ops: [] });
  return L;
};

/**
 * Bytes a call-back thunk takes off rsp: the block, rounded to 16, plus 8. At entry
 * rsp % 16 == 8 (psABI 3.2.2: 16-aligned at the call, then the return address), so rsp is
 * 16-aligned below the frame, for nested call-outs, and so are the block's vector slots.
 */
export function thunkFrame(image: RegisterImage): number {
  return Math.ceil(image.blockSize / 16) * 16 + 8;
}

// Call-back thunk. At entry rsp % 16 == 8; the block keeps rsp 16-aligned for nested call-outs.
export const x86_64Thunk: ThunkGenerator = (image, trap) => {
  const frame = thunkFrame(image);
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

/** A whole image slot of `reg` at [rsp + off], to or from memory: 16-byte vector slots with movups (as the generic thunk). */
function slotMove(dir: 'store' | 'load', reg: string, size: number, off: number): string {
  const [width, insn] = reg.startsWith('xmm') ? (size === 16 ? ['xmmword', 'movups'] : size === 8 ? ['qword', 'movsd'] : ['dword', 'movss']) : ['qword', 'mov'];
  const mem = `${width} ptr [rsp + ${hex(off)}]`;
  return dir === 'store' ? `${insn} ${mem}, ${reg}` : `${insn} ${reg}, ${mem}`;
}

/**
 * Exactly the plan's thunk operations, in the generic thunk's frame: the argument registers
 * this signature uses (all of them if variadic: va_arg may read any), the result registers it
 * returns in, st0 pushed from its 80-bit slot only for a long double result (psABI 3.2.3).
 * rax (al, the vector register count of a variadic call, psABI 3.5.7) is not kept: the host
 * reads variadic arguments from the argument registers' slots alone. Also the Windows x64
 * compiled thunk: nothing in it depends on which registers the plan names.
 */
export const x86_64CompileThunk: ThunkCompiler = (plan, trap) => {
  const frame = thunkFrame(plan.image);
  const save: CodeLine[] = [{ asm: `sub rsp, ${hex(frame)}`, ops: [] }];
  const restore: CodeLine[] = [];
  plan.thunk.forEach((op, i) => {
    switch (op.op) {
      case 'receive': save.push({ asm: slotMove('store', op.reg, op.size, op.to), ops: [i] }); break;
      case 'give':
        restore.push({ asm: op.format === 'x87' ? `fld tbyte ptr [rsp + ${hex(op.from)}]` : slotMove('load', op.reg, op.size, op.from), ops: [i] });
        break;
      case 'return': restore.push({ asm: `add rsp, ${hex(frame)}`, ops: [i] }, { asm: 'ret', ops: [i] }); break;
    }
  });
  // r11: the id the entry stub left (no argument arrives in it), then the trap's address.
  save.push(
    { asm: `mov qword ptr [rsp + ${hex(at(plan.image, 'function', 'control'))}], r11`, ops: [] },
    { asm: `mov r11, ${hex(trap)}`, ops: [] },
    { asm: 'jmp r11', ops: [] },
  );
  return { save, restore };
};

export const X86_64_BACKEND: ConventionBackend = { callStub: x86_64CallStub, thunk: x86_64Thunk, compileStub: x86_64CompileStub, compileThunk: x86_64CompileThunk };
