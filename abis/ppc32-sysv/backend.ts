// PPC32 SysV back end. The generic call stub: r14 (non-volatile) holds the register image;
// r1 is the frame base (back chain at 0, LR save word at 4, parameters from 8). The compiled
// stub addresses the frame from r1 (16-bit displacements: frames up to 32 KiB).
import { at, has, preserved, type CallStubGenerator, type CodeLine, type ConventionBackend, type StubCompiler, type ThunkCompiler, type ThunkGenerator } from '../../backends/backend.ts';
import type { PlanOp } from '../../abis/plan.ts';
import type { RegisterImage } from '../../abis/register-image.ts';
import { AbiscopeError } from '../../errors.ts';

export const ppc32CallStub: CallStubGenerator = (image, sentinel, clobbered) => {
  const L: string[] = [];
  for (let r = 3; r <= 10; r++) L.push(`lwz ${r}, ${at(image, `r${r}`, 'arg')}(14)`);
  for (let f = 1; f <= 8; f++) L.push(`lfd ${f}, ${at(image, `f${f}`, 'arg')}(14)`);
  // CR bit 6 tells a variadic callee whether FP arguments are in FPRs (SysV ABI 3-18).
  if (has(image, 'cr6', 'special')) {
    L.push(`lwz 0, ${at(image, 'cr6', 'special')}(14)`, 'cmpwi 0, 0', 'beq clear6', 'creqv 6, 6, 6', 'b set6', 'clear6:', 'crxor 6, 6, 6', 'set6:');
  }
  // The registers the callee must preserve, before the call and after it: r14-r31 in one stmw
  // (their slots are consecutive), the FPRs, r2, r13, and cr (whose fields 2-4 are kept).
  const savePreserved = (role: 'saved' | 'saved-after') => {
    for (const r of preserved(image)) {
      if (r === 'r14') L.push(`stmw 14, ${at(image, 'r14', role)}(14)`);
      else if (/^r(1[5-9]|2\d|3[01])$/.test(r)) continue;
      else if (r.startsWith('f')) L.push(`stfd ${r.slice(1)}, ${at(image, r, role)}(14)`);
      else if (r === 'cr') L.push('mfcr 0', `stw 0, ${at(image, 'cr', role)}(14)`);
      else L.push(`stw ${r.slice(1)}, ${at(image, r, role)}(14)`);
    }
  };
  savePreserved('saved');
  L.push(`lwz 0, ${at(image, 'function', 'control')}(14)`, 'mtctr 0', 'bctrl');
  // Results are stored through r14 only if the callee preserved it.
  L.push(`lwz 0, ${at(image, 'r14', 'saved')}(14)`, 'cmpw 0, 14', 'bne clobbered');
  L.push(`stw 3, ${at(image, 'r3', 'result')}(14)`, `stw 4, ${at(image, 'r4', 'result')}(14)`);
  L.push(`stfd 1, ${at(image, 'f1', 'result')}(14)`, `stfd 2, ${at(image, 'f2', 'result')}(14)`);
  savePreserved('saved-after');
  L.push(`lis 0, ${(sentinel >>> 16) & 0xffff}`, `ori 0, 0, ${sentinel & 0xffff}`, 'mtctr 0', 'bctr');
  L.push('clobbered:', `lis 0, ${(clobbered >>> 16) & 0xffff}`, `ori 0, 0, ${clobbered & 0xffff}`, 'mtctr 0', 'bctr');
  return { text: L.join('\n'), imageRegister: 'r14' };
};

/** The thunk frame's header below the block: the back chain word and the LR save word of a callee's frame. */
const HEADER = 8;

/** Bytes of a call-back thunk's frame: header and block, rounded to 16 (SysV PPC ABI "The Stack Frame": r1 stays 16-aligned). */
function thunkFrame(image: RegisterImage): number {
  return Math.ceil((image.blockSize + HEADER) / 16) * 16;
}

// Call-back thunk: a real frame (back chain via stwu, LR saved in the caller's LR save
// word); the block sits above the 8-byte frame header. r11 carries the call-back id.
export const ppc32Thunk: ThunkGenerator = (image, trap) => {
  const frame = thunkFrame(image);
  const o = (reg: string, role: 'arg' | 'result' | 'control') => at(image, reg, role) + HEADER;
  const S = [`stwu 1, -${frame}(1)`, 'mflr 0', `stw 0, ${frame + 4}(1)`];
  for (let r = 3; r <= 10; r++) S.push(`stw ${r}, ${o(`r${r}`, 'arg')}(1)`);
  for (let f = 1; f <= 8; f++) S.push(`stfd ${f}, ${o(`f${f}`, 'arg')}(1)`);
  S.push(`stw 11, ${o('function', 'control')}(1)`, `lis 0, ${(trap >>> 16) & 0xffff}`, `ori 0, 0, ${trap & 0xffff}`, 'mtctr 0', 'bctr');
  const R = [
    `lwz 3, ${o('r3', 'result')}(1)`, `lwz 4, ${o('r4', 'result')}(1)`,
    `lfd 1, ${o('f1', 'result')}(1)`, `lfd 2, ${o('f2', 'result')}(1)`,
    `lwz 0, ${frame + 4}(1)`, 'mtlr 0', `addi 1, 1, ${frame}`, 'blr',
  ];
  return {
    save: S.join('\n'),
    restore: R.join('\n'),
    entry: (id, save) => [`lis 11, ${(id >>> 16) & 0xffff}`, `ori 11, 11, ${id & 0xffff}`, `lis 12, ${(save >>> 16) & 0xffff}`, `ori 12, 12, ${save & 0xffff}`, 'mtctr 12', 'bctr'].join('\n'),
    block: (sp) => sp + HEADER,
    entrySp: (sp) => sp + frame,
  };
};

/** A frame offset as a displacement from r1. */
function disp(off: number): string {
  if (off > 0x7fff) throw new AbiscopeError(`the call frame is too large for a compiled PowerPC stub (offset ${off} is beyond a 16-bit displacement): use the interpreted back end`);
  return `${off}(1)`;
}

/**
 * Exactly the plan's guest operations. A run of GPR saves that ends with r31 becomes one
 * stmw; cr is moved through r0 (volatile).
 */
export const ppc32CompileStub: StubCompiler = (plan, sentinel) => {
  const L: CodeLine[] = [];
  const emit = (asm: string[], ops: number[]) => asm.forEach((a) => L.push({ asm: a, ops }));
  const ops = plan.ops;
  const n = (reg: string) => reg.slice(1);
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i];
    switch (op.op) {
      case 'save': {
        if (/^r\d+$/.test(op.reg)) {
          // r_k .. r31 in consecutive slots: stmw k.
          const run: number[] = [i];
          while (i + 1 < ops.length) {
            const next = ops[i + 1], last = ops[run[run.length - 1]] as Extract<PlanOp, { op: 'save' }>;
            if (next.op !== 'save' || next.when !== op.when || next.reg !== `r${Number(n(last.reg)) + 1}` || next.to !== last.to + 4) break;
            run.push(++i);
          }
          const lastReg = (ops[run[run.length - 1]] as Extract<PlanOp, { op: 'save' }>).reg;
          if (run.length > 1 && lastReg === 'r31') emit([`stmw ${n(op.reg)}, ${disp(op.to)}`], run);
          else for (const k of run) { const s = ops[k] as Extract<PlanOp, { op: 'save' }>; emit([`stw ${n(s.reg)}, ${disp(s.to)}`], [k]); }
        } else if (op.reg.startsWith('f')) emit([`stfd ${n(op.reg)}, ${disp(op.to)}`], [i]);
        else emit(['mfcr 0', `stw 0, ${disp(op.to)}`], [i]); // cr
        break;
      }
      case 'load': emit([op.reg.startsWith('f') ? `lfd ${n(op.reg)}, ${disp(op.from)}` : `lwz ${n(op.reg)}, ${disp(op.from)}`], [i]); break;
      // CR bit 6 tells a variadic callee whether FP arguments are in FPRs (SysV ABI 3-18).
      case 'set': emit([op.value ? 'creqv 6, 6, 6' : 'crxor 6, 6, 6'], [i]); break;
      case 'call': emit([`lwz 0, ${disp(op.from)}`, 'mtctr 0', 'bctrl'], [i]); break;
      case 'store': emit([op.reg.startsWith('f') ? `stfd ${n(op.reg)}, ${disp(op.to)}` : `stw ${n(op.reg)}, ${disp(op.to)}`], [i]); break;
      default: break; // the host's
    }
  }
  emit([`lis 0, ${(sentinel >>> 16) & 0xffff}`, `ori 0, 0, ${sentinel & 0xffff}`, 'mtctr 0', 'bctr'], []);
  return L;
};

/**
 * Exactly the plan's thunk operations, in the generic thunk's frame: the GPRs and FPRs this
 * signature's arguments use (all of r3-r10 and f1-f8 if variadic: va_arg may read any), the
 * result registers it returns in. The frame set-up and the return are the generic thunk's
 * (stwu; LR saved in the caller's LR save word and restored from it).
 */
export const ppc32CompileThunk: ThunkCompiler = (plan, trap) => {
  const frame = thunkFrame(plan.image);
  const save: CodeLine[] = [{ asm: `stwu 1, -${frame}(1)`, ops: [] }, { asm: 'mflr 0', ops: [] }, { asm: `stw 0, ${frame + 4}(1)`, ops: [] }];
  const restore: CodeLine[] = [];
  const n = (reg: string) => reg.slice(1);
  plan.thunk.forEach((op, i) => {
    switch (op.op) {
      case 'receive': save.push({ asm: `${op.reg.startsWith('f') ? 'stfd' : 'stw'} ${n(op.reg)}, ${disp(op.to + HEADER)}`, ops: [i] }); break;
      case 'give': restore.push({ asm: `${op.reg.startsWith('f') ? 'lfd' : 'lwz'} ${n(op.reg)}, ${disp(op.from + HEADER)}`, ops: [i] }); break;
      case 'return':
        for (const asm of [`lwz 0, ${frame + 4}(1)`, 'mtlr 0', `addi 1, 1, ${frame}`, 'blr']) restore.push({ asm, ops: [i] });
        break;
    }
  });
  // r11: the id the entry stub left (no argument arrives in it); r0 takes the trap's address.
  save.push(
    { asm: `stw 11, ${disp(at(plan.image, 'function', 'control') + HEADER)}`, ops: [] },
    ...[`lis 0, ${(trap >>> 16) & 0xffff}`, `ori 0, 0, ${trap & 0xffff}`, 'mtctr 0', 'bctr'].map((asm) => ({ asm, ops: [] })),
  );
  return { save, restore };
};

export const PPC32_BACKEND: ConventionBackend = { callStub: ppc32CallStub, thunk: ppc32Thunk, compileStub: ppc32CompileStub, compileThunk: ppc32CompileThunk };
