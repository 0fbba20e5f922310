// ARM AAPCS back ends, soft-float (armel) and VFP (armhf), in ARM state. The generic call
// stub: r4 (callee-saved) holds the register image; sp is the frame base. `blx` to an odd
// address enters a Thumb callee, whose `bx lr` returns here in ARM state. The compiled stub
// addresses the frame from sp (r12, the intra-procedure scratch register, for offsets an
// instruction cannot encode).
import { at, hex, preserved, saveRun, type CallStubGenerator, type CodeLine, type ConventionBackend, type StubCompiler, type ThunkCompiler, type ThunkGenerator } from '../../backends/backend.ts';
import type { PlanOp } from '../../abis/plan.ts';
import type { RegisterImage } from '../../abis/register-image.ts';

/** Any 32-bit constant from byte-sized rotated immediates (Keystone's ARM mode has no movw/movt). */
function movImm(reg: string, value: number): string[] {
  const bytes = [24, 16, 8, 0].map((sh) => ((value >>> sh) & 0xff) << sh >>> 0);
  return [`mov ${reg}, #${hex(bytes[0])}`, ...bytes.slice(1).filter((b) => b).map((b) => `orr ${reg}, ${reg}, #${hex(b)}`)];
}

function armStub(vfp: boolean): CallStubGenerator {
  return (image, sentinel, clobbered) => {
    const L: string[] = [];
    for (const r of ['r0', 'r1', 'r2', 'r3']) L.push(`ldr ${r}, [r4, #${hex(at(image, r, 'arg'))}]`);
    if (vfp) for (let i = 0; i < 8; i++) L.push(`vldr d${i}, [r4, #${hex(at(image, `d${i}`, 'arg'))}]`);
    // The registers the callee must preserve, as they are at the call (their slots are consecutive).
    const saved = preserved(image);
    const core = saved.filter((r) => r.startsWith('r'));
    L.push(`add r12, r4, #${hex(at(image, core[0], 'saved'))}`, `stm r12, {${core.join(', ')}}`);
    const d = saved.filter((r) => r.startsWith('d'));
    if (d.length) L.push(`add r12, r4, #${hex(at(image, d[0], 'saved'))}`, `vstm r12, {${d[0]}-${d[d.length - 1]}}`);
    L.push(`ldr r12, [r4, #${hex(at(image, 'function', 'control'))}]`, 'blx r12');
    // Results are stored through r4 only if the callee preserved it.
    L.push(`ldr r12, [r4, #${hex(at(image, 'r4', 'saved'))}]`, 'cmp r12, r4', 'bne clobbered');
    L.push(`str r0, [r4, #${hex(at(image, 'r0', 'result'))}]`, `str r1, [r4, #${hex(at(image, 'r1', 'result'))}]`);
    if (vfp) for (let i = 0; i < 4; i++) L.push(`vstr d${i}, [r4, #${hex(at(image, `d${i}`, 'result'))}]`);
    L.push(`add r12, r4, #${hex(at(image, core[0], 'saved-after'))}`, `stm r12, {${core.join(', ')}}`);
    if (d.length) L.push(`add r12, r4, #${hex(at(image, d[0], 'saved-after'))}`, `vstm r12, {${d[0]}-${d[d.length - 1]}}`);
    L.push(...movImm('r12', sentinel), 'bx r12');
    L.push('clobbered:', ...movImm('r12', clobbered), 'bx r12');
    return { text: L.join('\n'), imageRegister: 'r4' };
  };
}

export const armAapcsCallStub = armStub(false);
export const armAapcsVfpCallStub = armStub(true);

/** Bytes a call-back thunk takes off sp: the block, rounded to 8 (AAPCS 6.2.1.2: sp is double-word aligned at a public interface). */
function thunkFrame(image: RegisterImage): number {
  return Math.ceil(image.blockSize / 8) * 8;
}

// Call-back thunks (ARM state; a Thumb caller's BLX to the even entry switches state,
// and `bx lr` returns to it). r12 carries the call-back id from the entry stub.
function armThunk(vfp: boolean): ThunkGenerator {
  return (image, trap) => {
    const frame = thunkFrame(image);
    const S = [`sub sp, sp, #${hex(frame)}`];
    for (const r of ['r0', 'r1', 'r2', 'r3']) S.push(`str ${r}, [sp, #${hex(at(image, r, 'arg'))}]`);
    if (vfp) for (let i = 0; i < 8; i++) S.push(`vstr d${i}, [sp, #${hex(at(image, `d${i}`, 'arg'))}]`);
    S.push(`str r12, [sp, #${hex(at(image, 'function', 'control'))}]`, ...movImm('r12', trap), 'bx r12');
    const R = [`ldr r0, [sp, #${hex(at(image, 'r0', 'result'))}]`, `ldr r1, [sp, #${hex(at(image, 'r1', 'result'))}]`];
    if (vfp) for (let i = 0; i < 4; i++) R.push(`vldr d${i}, [sp, #${hex(at(image, `d${i}`, 'result'))}]`);
    R.push(`add sp, sp, #${hex(frame)}`, 'bx lr');
    return {
      save: S.join('\n'),
      restore: R.join('\n'),
      entry: entryArm,
      block: (sp) => sp,
      entrySp: (sp) => sp + frame,
    };
  };
}

/** Entry stub: r12 = id, then a PC-relative branch to the shared thunk (assembled at its own address). */
function entryArm(id: number, save: number): string {
  return [...movImm('r12', id), `b ${hex(save)}`].join('\n');
}

export const armAapcsThunk = armThunk(false);
export const armAapcsVfpThunk = armThunk(true);

/** Whether `v` is an ARM data-processing immediate: 8 bits rotated right by an even amount. */
function armImmediate(v: number): boolean {
  for (let r = 0; r < 32; r += 2) if ((((v << r) | (v >>> (32 - r))) >>> 0) <= 0xff) return true;
  return false;
}

/**
 * `scratch = sp + off` (for stm/vstm/vldr bases and offsets beyond an instruction's reach).
 * `scratch` null: no register is free (a thunk's save, where r12 still holds the id).
 */
function frameAddress(off: number, scratch: string | null = 'r12'): string[] {
  if (scratch === null) throw new Error(`internal: sp + ${off} is beyond the instruction's reach and no scratch register is free`);
  return armImmediate(off) ? [`add ${scratch}, sp, #${hex(off)}`] : [...movImm(scratch, off), `add ${scratch}, sp, ${scratch}`];
}

/** A load or store of a core register at sp + off (ldr/str reach 4095 bytes). */
function core(insn: 'ldr' | 'str', reg: string, off: number, scratch: string | null = 'r12'): string[] {
  return off <= 4095 ? [`${insn} ${reg}, [sp, #${hex(off)}]`] : [...frameAddress(off, scratch), `${insn} ${reg}, [${scratch}]`];
}

/** A load or store of a VFP register at sp + off (vldr/vstr reach 1020 bytes, in words). */
function vfp(insn: 'vldr' | 'vstr', reg: string, off: number, scratch: string | null = 'r12'): string[] {
  return off <= 1020 ? [`${insn} ${reg}, [sp, #${hex(off)}]`] : [...frameAddress(off, scratch), `${insn} ${reg}, [${scratch}]`];
}

/** A VFP register (s or d), else a core one. */
const isVfp = (reg: string) => /^[sd]\d/.test(reg);

/**
 * Exactly the plan's guest operations. Saves of registers with consecutive slots become one
 * stm (r4-r11) or vstm (d8-d15), as a compiler would write them.
 */
export const armCompileStub: StubCompiler = (plan, sentinel) => {
  const L: CodeLine[] = [];
  const emit = (asm: string[], ops: number[]) => asm.forEach((a) => L.push({ asm: a, ops }));
  const ops = plan.ops;
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i];
    switch (op.op) {
      case 'save': {
        // A run of saves of one bank (core r, or VFP d) with consecutive slots: one store-multiple.
        const bank = op.reg.startsWith('d') ? 'd' : 'r';
        const run = saveRun(ops, i);
        i = run[run.length - 1];
        const regs = run.map((k) => (ops[k] as Extract<PlanOp, { op: 'save' }>).reg);
        const list = bank === 'd' ? `${regs[0]}-${regs[regs.length - 1]}` : regs.join(', ');
        emit([...frameAddress(op.to), `${bank === 'd' ? 'vstm' : 'stm'} r12, {${list}}`], run);
        break;
      }
      case 'load': emit(isVfp(op.reg) ? vfp('vldr', op.reg, op.from) : core('ldr', op.reg, op.from), [i]); break;
      case 'call': emit([...core('ldr', 'r12', op.from), 'blx r12'], [i]); break;
      case 'store': emit(isVfp(op.reg) ? vfp('vstr', op.reg, op.to) : core('str', op.reg, op.to), [i]); break;
      default: break; // the host's (AAPCS has no special registers)
    }
  }
  emit([...movImm('r12', sentinel), 'bx r12'], []);
  return L;
};

/**
 * Exactly the plan's thunk operations, in the generic thunk's frame: the core and (armhf) VFP
 * argument registers this signature uses (all of them if variadic), the result registers it
 * returns in. One compiler serves armel and armhf: d registers appear in an armhf plan only.
 * The block is the image's first slots, within every instruction's reach of sp: the save
 * needs no scratch register (it has none: r12 holds the id until it is stored).
 */
export const armCompileThunk: ThunkCompiler = (plan, trap) => {
  const frame = thunkFrame(plan.image);
  const save: CodeLine[] = [{ asm: `sub sp, sp, #${hex(frame)}`, ops: [] }];
  const restore: CodeLine[] = [];
  const emit = (to: CodeLine[], asm: string[], ops: number[]) => asm.forEach((a) => to.push({ asm: a, ops }));
  plan.thunk.forEach((op, i) => {
    switch (op.op) {
      case 'receive': emit(save, isVfp(op.reg) ? vfp('vstr', op.reg, op.to, null) : core('str', op.reg, op.to, null), [i]); break;
      // r12 may be used: the caller expects nothing of it after a call (AAPCS 6.1.1).
      case 'give': emit(restore, isVfp(op.reg) ? vfp('vldr', op.reg, op.from) : core('ldr', op.reg, op.from), [i]); break;
      case 'return': emit(restore, [`add sp, sp, #${hex(frame)}`, 'bx lr'], [i]); break;
    }
  });
  emit(save, [`str r12, [sp, #${hex(at(plan.image, 'function', 'control'))}]`, ...movImm('r12', trap), 'bx r12'], []);
  return { save, restore };
};

export const ARM_AAPCS_BACKEND: ConventionBackend = { callStub: armAapcsCallStub, thunk: armAapcsThunk, compileStub: armCompileStub, compileThunk: armCompileThunk };
export const ARM_AAPCS_VFP_BACKEND: ConventionBackend = { callStub: armAapcsVfpCallStub, thunk: armAapcsVfpThunk, compileStub: armCompileStub, compileThunk: armCompileThunk };
