// `abiscope disasm`: the target comes from the ELF header (--target only overrides, and a
// different one is an error), calls are shown with the name of their target as the loader
// linked it, and --stub / --thunk list abiscope's own compiled code for a prototype.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { run } from './cli-run.ts';
import { FIXTURES } from '../sandbox/fixtures.ts';
import { planFor, opText } from '../cli/explain.ts';
import { ABI_NAMES, type AbiName } from '../backends/registry.ts';

// eslint-disable-next-line no-control-regex
const plain = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '');
const faults = (dir: string) => join(FIXTURES, 'obj', dir, 'faults.o');

/** Each fixture directory, its ELF machine and the call instruction its compiler emits for chain_a -> chain_b. */
const DIRS = [
  { dir: 'i386', machine: 'x86', call: /^call 0x[0-9a-f]+ <chain_b>$/ },
  { dir: 'x86_64', machine: 'x86_64', call: /^call 0x[0-9a-f]+ <chain_b>$/ },
  { dir: 'armel', machine: 'arm', call: /^bl #0x[0-9a-f]+ <chain_b>$/ },
  { dir: 'armhf', machine: 'arm', call: /^bl #0x[0-9a-f]+ <chain_b>$/ }, // Thumb code
  { dir: 'ppc32', machine: 'ppc32', call: /^bl 0x[0-9a-f]+ <chain_b>$/ },
];

/** The instruction texts of a listing (after address and bytes). */
const texts = (out: string) => plain(out).split('\n').slice(1).filter(Boolean).map((l) => l.replace(/^\s+0x[0-9a-f]{8}\s+((?:[0-9a-f]{2} )+)\s*/, ''));

describe.each(DIRS)('abiscope disasm on $dir, without --target', ({ dir, machine, call }) => {
  it('reads the target from the ELF file and names the callee of a call', async () => {
    const r = await run('disasm', faults(dir), 'chain_a');
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    const lines = texts(r.stdout);
    expect(plain(r.stdout).split('\n')[0]).toBe(dir === 'armhf' ? 'chain_a (thumb):' : 'chain_a:');
    // exactly one call, to chain_b, with the address the loader linked it at
    expect(lines.filter((l) => call.test(l))).toHaveLength(1);
    // the named address is chain_b's: chain_b's own listing starts there
    const target = /0x([0-9a-f]+) <chain_b>/.exec(lines.find((l) => call.test(l))!)![1];
    const b = plain((await run('disasm', faults(dir), 'chain_b')).stdout).split('\n')[1];
    expect(b).toMatch(new RegExp(`^\\s+0x0*${target}\\s`));
  });

  it('takes a matching --target, and reports a different one naming both', async () => {
    expect((await run('disasm', '--target', machine, faults(dir), 'chain_a')).code).toBe(0);
    const other = machine === 'x86' ? 'ppc32' : 'x86';
    const r = await run('disasm', '--target', other, faults(dir), 'chain_a');
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 1, stdout: '' });
    expect(r.stderr).toContain(`--target ${other} does not match ${faults(dir)}, which is ${machine} code`);
  });
});

describe('abiscope disasm, other inputs', () => {
  it('an AArch64 object (no convention to link it in): from the file, the call named by its relocation', async () => {
    const r = await run('disasm', faults('aarch64'), 'chain_a');
    expect(r.code).toBe(0);
    const lines = texts(r.stdout);
    // unlinked, the operand is the placeholder (the instruction's own offset); the R_AARCH64_CALL26 there names chain_b
    expect(lines.filter((l) => /^bl #0x[0-9a-f]+ <chain_b>$/.test(l))).toHaveLength(1);
    expect(lines.filter((l) => l.includes('<'))).toHaveLength(1); // nothing else is annotated
    expect(lines).toContain('ret');
  });

  it('an unknown symbol and a missing file argument are usage errors', async () => {
    expect((await run('disasm', faults('x86_64'), 'no_such_function')).stderr).toContain("no defined symbol 'no_such_function'");
    expect((await run('disasm')).stderr).toContain('disasm needs <file> and <symbol>');
    expect((await run('disasm', '--stub', 'int f(int)')).stderr).toContain('--stub and --thunk need --abi');
  });
});

describe('abiscope disasm --stub / --thunk', () => {
  const SIG = 'int f(int, double)';
  it.each<AbiName>(ABI_NAMES)('%s: the stub performs every load and the call of the plan, named as explain names them', async (abi) => {
    const r = await run('disasm', '--abi', abi, '--stub', SIG);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    const out = plain(r.stdout);
    expect(out).toContain(`${abi} call stub for ${SIG}`);
    const plan = planFor(abi, SIG);
    const guest = plan.ops.map((op, i) => ({ op, i })).filter(({ op }) => op.op === 'load' || op.op === 'call');
    expect(guest.length).toBeGreaterThan(0);
    for (const { op, i } of guest) expect(out).toContain(`op ${i}: ${opText(plan, op)}`);
  });

  it('x86_64: the thunk stores the argument registers (rdi, xmm0) and loads the result into rax', async () => {
    const out = plain((await run('disasm', '--abi', 'x86_64-sysv', '--thunk', SIG)).stdout);
    expect(out).toMatch(/mov qword ptr \[rsp \+ 0x0\], rdi\s+; op \d+: store rdi to \[sp\+0\]/);
    expect(out).toMatch(/movups xmmword ptr \[rsp \+ 0x[0-9a-f]+\], xmm0\s+; op \d+: store xmm0/);
    expect(out).toMatch(/mov rax, qword ptr \[rsp \+ 0x[0-9a-f]+\]\s+; op \d+: load rax from/);
    expect(out).not.toContain('call stub');
  });
});
