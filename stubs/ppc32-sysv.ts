// PPC32 SysV generic call stub. r14 (non-volatile) holds the register image;
// r1 is the frame base (back chain at 0, LR save word at 4, parameters from 8).
import { at, has, preserved, type CallStubGenerator, type ThunkGenerator } from './stub.ts';

export const ppc32CallStub: CallStubGenerator = (image, sentinel, clobbered) => {
  const L: string[] = [];
  for (let r = 3; r <= 10; r++) L.push(`lwz ${r}, ${at(image, `r${r}`, 'arg')}(14)`);
  for (let f = 1; f <= 8; f++) L.push(`lfd ${f}, ${at(image, `f${f}`, 'arg')}(14)`);
  // CR bit 6 tells a variadic callee whether FP arguments are in FPRs (SysV ABI 3-18).
  if (has(image, 'cr6', 'special')) {
    L.push(`lwz 0, ${at(image, 'cr6', 'special')}(14)`, 'cmpwi 0, 0', 'beq clear6', 'creqv 6, 6, 6', 'b set6', 'clear6:', 'crxor 6, 6, 6', 'set6:');
  }
  // The registers the callee must preserve, as they are at the call: r14-r31 in one stmw
  // (their slots are consecutive), the FPRs, r2, r13, and cr (whose fields 2-4 are kept).
  for (const r of preserved(image)) {
    if (r === 'r14') L.push(`stmw 14, ${at(image, 'r14', 'saved')}(14)`);
    else if (/^r(1[5-9]|2\d|3[01])$/.test(r)) continue;
    else if (r.startsWith('f')) L.push(`stfd ${r.slice(1)}, ${at(image, r, 'saved')}(14)`);
    else if (r === 'cr') L.push('mfcr 0', `stw 0, ${at(image, 'cr', 'saved')}(14)`);
    else L.push(`stw ${r.slice(1)}, ${at(image, r, 'saved')}(14)`);
  }
  L.push(`lwz 0, ${at(image, 'function', 'control')}(14)`, 'mtctr 0', 'bctrl');
  // Results are stored through r14 only if the callee preserved it.
  L.push(`lwz 0, ${at(image, 'r14', 'saved')}(14)`, 'cmpw 0, 14', 'bne clobbered');
  L.push(`stw 3, ${at(image, 'r3', 'result')}(14)`, `stw 4, ${at(image, 'r4', 'result')}(14)`);
  L.push(`stfd 1, ${at(image, 'f1', 'result')}(14)`, `stfd 2, ${at(image, 'f2', 'result')}(14)`);
  L.push(`lis 0, ${(sentinel >>> 16) & 0xffff}`, `ori 0, 0, ${sentinel & 0xffff}`, 'mtctr 0', 'bctr');
  L.push('clobbered:', `lis 0, ${(clobbered >>> 16) & 0xffff}`, `ori 0, 0, ${clobbered & 0xffff}`, 'mtctr 0', 'bctr');
  return { text: L.join('\n'), imageRegister: 'r14' };
};

// Call-back thunk: a real frame (back chain via stwu, LR saved in the caller's LR save
// word); the block sits above the 8-byte frame header. r11 carries the call-back id.
export const ppc32Thunk: ThunkGenerator = (image, trap) => {
  const frame = Math.ceil((image.size + 8) / 16) * 16;
  const o = (reg: string, role: 'arg' | 'result' | 'control') => at(image, reg, role) + 8;
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
    block: (sp) => sp + 8,
    entrySp: (sp) => sp + frame,
  };
};
