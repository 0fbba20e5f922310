// `abiscope call --record`: where each argument went (callWithRecord's placement, in explain's
// notation: registers by name, [sp+N] from sp at the call), the hidden result pointer, sp at
// the call, and what the callee left in the non-const buffers it was given.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { run } from './cli-run.ts';
import { FIXTURES } from '../sandbox/fixtures.ts';
import { planFor, where } from '../cli/explain.ts';
import type { AbiName } from '../backends/registry.ts';

interface Piece { where: string; size: number; address?: string }
interface RecordedArg { name: string; type: string; pieces: Piece[]; after?: unknown }
interface Recorded { result: unknown; record?: { sp: string; args: RecordedArg[]; result?: { pointer: string; address: string; size: number } } }

/** The JSON of a call that must succeed. */
async function call(abi: AbiName, dir: string, object: string, ...rest: string[]): Promise<Recorded> {
  const r = await run('call', '--abi', abi, '--elf', join(FIXTURES, 'obj', dir, object), ...rest);
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
  return JSON.parse(r.stdout) as Recorded;
}

const FILL = 'void fill_ints(int *v, int n, int start)';
const S48 = 'struct S48 { int a[12]; }; struct S48 make_s48(int base, int step)';

describe.each<{ abi: AbiName; dir: string; regs: string[]; hidden: string; shifts?: false }>([
  { abi: 'x86_64-sysv', dir: 'x86_64', regs: ['rdi', 'rsi', 'rdx'], hidden: 'rdi' },
  { abi: 'ppc32-sysv', dir: 'ppc32', regs: ['r3', 'r4', 'r5'], hidden: 'r3' },
  { abi: 'i386-sysv', dir: 'i386', regs: ['[sp+0]', '[sp+4]', '[sp+8]'], hidden: '[sp+0]' },
  // AAPCS64: the hidden pointer has a register of its own (x8); the arguments stay where they were.
  { abi: 'aarch64-aapcs64', dir: 'aarch64', regs: ['x0', 'x1', 'x2'], hidden: 'x8', shifts: false },
])('abiscope call --record on $abi', ({ abi, dir, regs, hidden, shifts }) => {
  it('fill_ints: each argument where the plan puts it, and the ints the callee wrote into the array', async () => {
    const out = await call(abi, dir, 'strings.o', '--sig', FILL, '--args', '[[0, 0, 0, 0], 4, 10]', '--record');
    expect(out.result).toBeNull();
    const rec = out.record!;
    expect(rec.sp).toMatch(/^0x[0-9a-f]+$/);
    expect(rec.args.map((a) => [a.name, a.type, a.pieces.map((p) => p.where)])).toEqual([['v', 'int *', [regs[0]]], ['n', 'int', [regs[1]]], ['start', 'int', [regs[2]]]]);
    // the same locations as explain prints for the plan
    expect(rec.args.flatMap((a) => a.pieces.map((p) => p.where))).toEqual(planFor(abi, FILL).args.flatMap((a) => a.pieces.map(where)));
    // v[k] = start + k * k, copied back from the guest; n and start are not pointers: nothing after
    expect(rec.args.map((a) => a.after)).toEqual([[10, 11, 14, 19], undefined, undefined]);
    // a stack slot is also given as an absolute address: sp + N
    for (const p of rec.args.flatMap((a) => a.pieces)) {
      const n = /^\[sp\+(\d+)\]$/.exec(p.where);
      expect(p.address).toBe(n ? `0x${(Number.parseInt(rec.sp, 16) + Number(n[1])).toString(16)}` : undefined);
    }
  });

  it('reverse_in_place: a string for a non-const char * is shown as the callee left it', async () => {
    const out = await call(abi, dir, 'strings.o', '--sig', 'int reverse_in_place(char *s)', '--args', '["abcd"]', '--record');
    expect(out.result).toBe(4);
    expect(out.record!.args[0].after).toEqual({ string: 'dcba', bytes: [100, 99, 98, 97, 0] });
  });

  it('a const buffer has no contents after the call', async () => {
    const out = await call(abi, dir, 'strings.o', '--sig', 'int sum_bytes(const unsigned char *p, int n)', '--args', '[[1, 2, 3], 3]', '--record');
    expect(out.result).toBe(1 + 4 + 9);
    expect(out.record!.args[0]).not.toHaveProperty('after');
  });

  it('make_s48: the hidden result pointer, where it was passed and where the callee wrote the struct', async () => {
    const out = await call(abi, dir, 'structs.o', '--sig', S48, '--args', '[1, 2]', '--record');
    expect(out.result).toEqual({ a: Array.from({ length: 12 }, (_, k) => 1 + 2 * k) });
    const res = out.record!.result!;
    expect(res).toMatchObject({ pointer: hidden, size: 48 });
    expect(Number.parseInt(res.address, 16)).toBeGreaterThan(Number.parseInt(out.record!.sp, 16)); // in the frame, above sp
    // the arguments move one place along (AArch64: they do not)
    expect(out.record!.args.map((a) => a.pieces[0].where)).toEqual(shifts === false ? regs.slice(0, 2) : regs.slice(1));
  });

  it('without --record, only the result', async () => {
    const out = await call(abi, dir, 'strings.o', '--sig', FILL, '--args', '[[0, 0], 2, 1]');
    expect(out).not.toHaveProperty('record');
  });
});
