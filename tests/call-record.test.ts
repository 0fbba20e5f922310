// callWithRecord's addresses: each register piece's address is its register-image slot in the
// frame, and the argument's bytes are there after the call. Checked where a piece names a view
// of a wider register (ARM VFP s2 lives in d1's slot; AArch64 s1 and d0 in q1's and q0's), the
// case an address taken from the wrong slot gets wrong.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { Sandbox } from '../sandbox/sandbox.ts';
import { FIXTURES } from '../sandbox/fixtures.ts';
import { imageSlot } from '../abis/register-image.ts';
import type { AbiName } from '../backends/registry.ts';

const DEMO = join(FIXTURES, '..', '..', 'demo', 'obj');

describe.each<[AbiName, string, string[]]>([
  ['arm-aapcs-vfp', 'armhf', ['r0', 'd0', 's2']],
  ['aarch64-aapcs64', 'aarch64', ['x0', 'd0', 's1']],
  ['x86_64-sysv', 'x86_64', ['rdi', 'xmm0', 'xmm1']],
])('call records on %s', (abi, dir, regs) => {
  it('int_double_float(7, 2.5, 0.25): each piece at its image slot, holding the argument', async () => {
    const sb = await Sandbox.open(abi);
    try {
      sb.load(join(DEMO, dir, 'demo.o'));
      const { value, record, plan } = sb.func('double int_double_float(int i, double d, float f)').callWithRecord([7, 2.5, 0.25]);
      expect(value).toBe(9.75);
      expect(record.args.map((a) => a.pieces.map((p) => p.where))).toEqual(regs.map((r) => [r]));
      const image = record.frameBase + plan.imageArea.offset;
      const slots = new Set<number>();
      for (const [k, a] of record.args.entries()) {
        const p = a.pieces[0];
        expect(p.address).toBe(image + imageSlot(plan.image, regs[k], 'arg').offset);
        slots.add(p.address);
      }
      expect(slots.size).toBe(3); // three different slots
      const dv = (address: number, n: number) => new DataView(sb.machine.read(address, n).slice().buffer);
      expect(dv(record.args[0].pieces[0].address, 4).getInt32(0, true)).toBe(7);
      expect(dv(record.args[1].pieces[0].address, 8).getFloat64(0, true)).toBe(2.5);
      expect(dv(record.args[2].pieces[0].address, 4).getFloat32(0, true)).toBe(0.25);
    } finally {
      sb.close();
    }
  });
});
