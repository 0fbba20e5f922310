// PPC32 SysV generic call stub. r14 (non-volatile) holds the register image;
// r1 is the frame base (back chain at 0, LR save word at 4, parameters from 8).
import { at, has, type CallStubGenerator } from './stub.ts';

export const ppc32CallStub: CallStubGenerator = (image, sentinel) => {
  const L: string[] = [];
  for (let r = 3; r <= 10; r++) L.push(`lwz ${r}, ${at(image, `r${r}`, 'arg')}(14)`);
  for (let f = 1; f <= 8; f++) L.push(`lfd ${f}, ${at(image, `f${f}`, 'arg')}(14)`);
  // CR bit 6 tells a variadic callee whether FP arguments are in FPRs (SysV ABI 3-18).
  if (has(image, 'cr6', 'special')) {
    L.push(`lwz 0, ${at(image, 'cr6', 'special')}(14)`, 'cmpwi 0, 0', 'beq clear6', 'creqv 6, 6, 6', 'b set6', 'clear6:', 'crxor 6, 6, 6', 'set6:');
  }
  L.push(`lwz 0, ${at(image, 'function', 'control')}(14)`, 'mtctr 0', 'bctrl');
  L.push(`stw 3, ${at(image, 'r3', 'result')}(14)`, `stw 4, ${at(image, 'r4', 'result')}(14)`);
  L.push(`stfd 1, ${at(image, 'f1', 'result')}(14)`, `stfd 2, ${at(image, 'f2', 'result')}(14)`);
  L.push(`lis 0, ${(sentinel >>> 16) & 0xffff}`, `ori 0, 0, ${sentinel & 0xffff}`, 'mtctr 0', 'bctr');
  return { text: L.join('\n'), imageRegister: 'r14' };
};
