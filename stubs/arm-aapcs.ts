// ARM AAPCS generic call stubs (ARM state). r4 (callee-saved) holds the register
// image; sp is the frame base. `blx` to an odd address enters a Thumb callee, whose
// `bx lr` returns here in ARM state.
import { at, hex, preserved, type CallStubGenerator, type ThunkGenerator } from './stub.ts';

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
    L.push(...movImm('r12', sentinel), 'bx r12');
    L.push('clobbered:', ...movImm('r12', clobbered), 'bx r12');
    return { text: L.join('\n'), imageRegister: 'r4' };
  };
}

export const armAapcsCallStub = armStub(false);
export const armAapcsVfpCallStub = armStub(true);

// Call-back thunks (ARM state; a Thumb caller's BLX to the even entry switches state,
// and `bx lr` returns to it). r12 carries the call-back id from the entry stub.
function armThunk(vfp: boolean): ThunkGenerator {
  return (image, trap) => {
    const frame = Math.ceil(image.size / 8) * 8;
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
