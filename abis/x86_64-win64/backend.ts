// Windows x64 back end. The compiled stub and thunk are the SysV x86-64 ones (they emit exactly
// the plan's operations, whatever registers it names). The generic call stub and thunk differ
// in their register lists: four argument registers of each kind, results in rax and xmm0 only,
// no al, and xmm6-xmm15 among the preserved registers (16-byte slots, movups).
// The generic stub runs with rsp at the frame base, so the plan's outgoing area, whose first 32
// bytes are the shadow space the callee may write, is at [rsp] at the call.
import { at, hex, preserved, type CallStubGenerator, type ConventionBackend, type ThunkGenerator } from '../../backends/backend.ts';
import { thunkFrame, x86_64CompileStub, x86_64CompileThunk } from '../x86_64-sysv/backend.ts';
import { WIN64_FP_ARG_REGS, WIN64_INT_ARG_REGS } from './convention.ts';

/** A register to or from a 16-byte-aligned-or-not memory slot: movups for xmm, mov for the others. */
function move(dir: 'store' | 'load', reg: string, mem: string): string {
  const m = reg.startsWith('xmm') ? `xmmword ptr ${mem}` : `qword ptr ${mem}`;
  const insn = reg.startsWith('xmm') ? 'movups' : 'mov';
  return dir === 'store' ? `${insn} ${m}, ${reg}` : `${insn} ${reg}, ${m}`;
}

export const win64CallStub: CallStubGenerator = (image, sentinel, clobbered) => {
  const img = (reg: string, role: Parameters<typeof at>[2]) => `[r12 + ${hex(at(image, reg, role))}]`;
  const L: string[] = [];
  for (const r of [...WIN64_INT_ARG_REGS, ...WIN64_FP_ARG_REGS]) L.push(move('load', r, img(r, 'arg')));
  for (const r of preserved(image)) L.push(move('store', r, img(r, 'saved')));
  L.push(`mov r11, qword ptr ${img('function', 'control')}`, 'call r11');
  // Results are stored through r12 only if the callee preserved it.
  L.push(`cmp qword ptr ${img('r12', 'saved')}, r12`, 'jne clobbered');
  L.push(move('store', 'rax', img('rax', 'result')), move('store', 'xmm0', img('xmm0', 'result')));
  for (const r of preserved(image)) L.push(move('store', r, img(r, 'saved-after')));
  L.push(`mov r11, ${hex(sentinel)}`, 'jmp r11');
  L.push('clobbered:', `mov r11, ${hex(clobbered)}`, 'jmp r11');
  return { text: L.join('\n'), imageRegister: 'r12' };
};

// Call-back thunk. At entry rsp % 16 == 8 (16-aligned at the call, then the return address);
// the caller's shadow space and stack arguments lie above the return address, untouched.
export const win64Thunk: ThunkGenerator = (image, trap) => {
  const frame = thunkFrame(image);
  const blk = (reg: string, role: Parameters<typeof at>[2]) => `[rsp + ${hex(at(image, reg, role))}]`;
  const S: string[] = [`sub rsp, ${hex(frame)}`];
  for (const r of [...WIN64_INT_ARG_REGS, ...WIN64_FP_ARG_REGS]) S.push(move('store', r, blk(r, 'arg')));
  S.push(`mov qword ptr ${blk('function', 'control')}, r11`, `mov r11, ${hex(trap)}`, 'jmp r11');
  const R = [move('load', 'rax', blk('rax', 'result')), move('load', 'xmm0', blk('xmm0', 'result')), `add rsp, ${hex(frame)}`, 'ret'];
  return {
    save: S.join('\n'),
    restore: R.join('\n'),
    // r10 and r11 are volatile and carry no argument.
    entry: (id, save) => `mov r11, ${hex(id)}\nmov r10, ${hex(save)}\njmp r10`,
    block: (sp) => sp,
    entrySp: (sp) => sp + frame,
  };
};

export const X86_64_WIN64_BACKEND: ConventionBackend = { callStub: win64CallStub, thunk: win64Thunk, compileStub: x86_64CompileStub, compileThunk: x86_64CompileThunk };
