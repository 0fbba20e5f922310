// AArch64 AAPCS64 back ends. The generic call stub: x19 (callee-saved) holds the register
// image; sp is the frame base (16-aligned, AAPCS64 6.4.5.1). x16 and x17 (IP0, IP1: the
// intra-procedure-call scratch registers, 6.1.1) carry the callee's address, a call-back's id
// and addresses beyond an instruction's reach: no argument travels in them.
import { at, hex, preserved, saveRun, type CallStubGenerator, type CodeLine, type ConventionBackend, type StubCompiler, type ThunkCompiler, type ThunkGenerator } from '../../backends/backend.ts';
import type { PlanOp } from '../../abis/plan.ts';
import type { RegisterImage } from '../../abis/register-image.ts';

/** Any 64-bit constant (a guest address) in `reg`: movz, then a movk per further non-zero halfword. */
function movImm(reg: string, value: number): string[] {
  const v = BigInt(value);
  const half = (k: number) => Number((v >> BigInt(16 * k)) & 0xffffn);
  const L = [`movz ${reg}, #${hex(half(0))}`];
  for (let k = 1; k < 4; k++) if (half(k)) L.push(`movk ${reg}, #${hex(half(k))}, lsl #${16 * k}`);
  return L;
}

/** The width of a register by its name: x (8), q (16), d (8), s (4). */
const bytesOf = (reg: string) => (reg[0] === 'q' ? 16 : reg[0] === 's' ? 4 : 8);

/**
 * A load or store of `reg` at `base + off`: the unsigned scaled offset reaches 4095 units of the
 * register's width; beyond it x17 takes the address (never an argument or result register).
 */
function access(insn: 'ldr' | 'str', reg: string, base: string, off: number): string[] {
  const unit = bytesOf(reg);
  if (off % unit === 0 && off / unit <= 4095) return [`${insn} ${reg}, [${base}, #${hex(off)}]`];
  return [...movImm('x17', off), `add x17, ${base}, x17`, `${insn} ${reg}, [x17]`];
}

export const aarch64CallStub: CallStubGenerator = (image, sentinel, clobbered) => {
  const L: string[] = [];
  for (let i = 0; i <= 8; i++) L.push(...access('ldr', `x${i}`, 'x19', at(image, `x${i}`, 'arg')));
  for (let i = 0; i < 8; i++) L.push(...access('ldr', `q${i}`, 'x19', at(image, `q${i}`, 'arg')));
  // The registers the callee must preserve, as they are at the call (the host compares them after).
  for (const r of preserved(image)) L.push(...access('str', r, 'x19', at(image, r, 'saved')));
  L.push(...access('ldr', 'x16', 'x19', at(image, 'function', 'control')), 'blr x16');
  // Results are stored through x19 only if the callee preserved it.
  L.push(...access('ldr', 'x16', 'x19', at(image, 'x19', 'saved')), 'cmp x16, x19', 'b.ne clobbered');
  for (const r of ['x0', 'x1', 'q0', 'q1', 'q2', 'q3']) L.push(...access('str', r, 'x19', at(image, r, 'result')));
  for (const r of preserved(image)) L.push(...access('str', r, 'x19', at(image, r, 'saved-after')));
  L.push(...movImm('x16', sentinel), 'br x16');
  L.push('clobbered:', ...movImm('x16', clobbered), 'br x16');
  return { text: L.join('\n'), imageRegister: 'x19' };
};

/**
 * Exactly the plan's guest operations, addressed from sp (the frame base: AArch64 pops nothing).
 * A run of saves of one bank (x19-x29, or d8-d15) into consecutive slots becomes store pairs
 * from one base in x17, as a compiler's prologue writes them.
 */
export const aarch64CompileStub: StubCompiler = (plan, sentinel) => {
  const L: CodeLine[] = [];
  const emit = (asm: string[], ops: number[]) => asm.forEach((a) => L.push({ asm: a, ops }));
  const ops = plan.ops;
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i];
    switch (op.op) {
      case 'save': {
        const at = saveRun(ops, i);
        const run = at.map((k) => ops[k] as Extract<PlanOp, { op: 'save' }>);
        i = at[at.length - 1];
        if (run.length === 1) { emit(access('str', op.reg, 'sp', op.to), at); break; }
        emit([...movImm('x17', op.to), 'add x17, sp, x17'], []);
        for (let k = 0; k < run.length; k += 2) {
          const off = run[k].to - op.to;
          emit([k + 1 < run.length ? `stp ${run[k].reg}, ${run[k + 1].reg}, [x17, #${hex(off)}]` : `str ${run[k].reg}, [x17, #${hex(off)}]`], at.slice(k, k + 2));
        }
        break;
      }
      case 'load': emit(access('ldr', op.reg, 'sp', op.from), [i]); break;
      case 'call': emit([...access('ldr', 'x16', 'sp', op.from), 'blr x16'], [i]); break;
      case 'store': emit(access('str', op.reg, 'sp', op.to), [i]); break;
      default: break; // the host's (AAPCS64 has no special registers)
    }
  }
  emit([...movImm('x16', sentinel), 'br x16'], []);
  return L;
};

/** Bytes a call-back thunk takes off sp: the block, rounded to 16 (sp stays 16-aligned for nested call-outs). */
function thunkFrame(image: RegisterImage): number {
  return Math.ceil(image.blockSize / 16) * 16;
}

/** The generic thunk: every argument register and x8 into the block, every result register out of it. */
export const aarch64Thunk: ThunkGenerator = (image, trap) => {
  const frame = thunkFrame(image);
  const S = [`sub sp, sp, #${hex(frame)}`];
  for (let i = 0; i <= 8; i++) S.push(...access('str', `x${i}`, 'sp', at(image, `x${i}`, 'arg')));
  for (let i = 0; i < 8; i++) S.push(...access('str', `q${i}`, 'sp', at(image, `q${i}`, 'arg')));
  S.push(...access('str', 'x16', 'sp', at(image, 'function', 'control')), ...movImm('x16', trap), 'br x16');
  const R: string[] = [];
  for (const r of ['x0', 'x1', 'q0', 'q1', 'q2', 'q3']) R.push(...access('ldr', r, 'sp', at(image, r, 'result')));
  R.push(`add sp, sp, #${hex(frame)}`, 'ret');
  return { save: S.join('\n'), restore: R.join('\n'), entry: entryStub, block: (sp) => sp, entrySp: (sp) => sp + frame };
};

/** Entry stub: x16 = the call-back's id, then a PC-relative branch to the shared thunk. */
function entryStub(id: number, save: number): string {
  return [...movImm('x16', id), `b ${hex(save)}`].join('\n');
}

/**
 * Exactly the plan's thunk operations, in the generic thunk's frame: the argument registers
 * this signature uses (all, if variadic), the result registers it returns in.
 */
export const aarch64CompileThunk: ThunkCompiler = (plan, trap) => {
  const frame = thunkFrame(plan.image);
  const save: CodeLine[] = [{ asm: `sub sp, sp, #${hex(frame)}`, ops: [] }];
  const restore: CodeLine[] = [];
  const emit = (to: CodeLine[], asm: string[], ops: number[]) => asm.forEach((a) => to.push({ asm: a, ops }));
  plan.thunk.forEach((op, i) => {
    switch (op.op) {
      case 'receive': emit(save, access('str', op.reg, 'sp', op.to), [i]); break;
      case 'give': emit(restore, access('ldr', op.reg, 'sp', op.from), [i]); break;
      case 'return': emit(restore, [`add sp, sp, #${hex(frame)}`, 'ret'], [i]); break;
    }
  });
  emit(save, [...access('str', 'x16', 'sp', at(plan.image, 'function', 'control')), ...movImm('x16', trap), 'br x16'], []);
  return { save, restore };
};

export const AARCH64_BACKEND: ConventionBackend = {
  callStub: aarch64CallStub, thunk: aarch64Thunk, compileStub: aarch64CompileStub, compileThunk: aarch64CompileThunk,
};
