// The npm package as a user gets it: `npm pack`, the tarball's file list, an install into
// a scratch project, then plain `node` (no TypeScript loader) importing `abiscope`, the
// installed CLI, and a strict NodeNext TypeScript consumer type-checked against dist's .d.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ABI_NAMES } from '../backends/registry.ts';

const repo = fileURLToPath(new URL('..', import.meta.url));
const fixture = (dir: string, name: string) => join(repo, 'tests', 'fixtures', 'obj', dir, name);

// No loader may leak into the child processes (plain node is the point).
const env = { ...process.env, NODE_OPTIONS: '' };
const run = (cmd: string, args: string[], cwd: string) =>
  execFileSync(cmd, args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });

describe('npm package', () => {
  let work: string;
  let files: string[];
  let project: string;

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'abiscope-pack-'));
    // `npm pack` in a clone-like copy of the repository (no dist, node_modules linked back):
    // its `prepare` script builds dist there, and no build running in the repository at the
    // same time (which deletes dist first) can change what is packed.
    const stage = join(work, 'stage');
    cpSync(repo, stage, { recursive: true, filter: (src) => !/^(node_modules|dist|\.git|tmp)$/.test(relative(repo, src)) });
    symlinkSync(join(repo, 'node_modules'), join(stage, 'node_modules'), 'dir');
    const [packed] = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', work], stage)) as
      { filename: string; files: { path: string }[] }[];
    files = packed.files.map((f) => f.path);

    const tarball = join(work, packed.filename);
    project = join(work, 'project');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({
      name: 'abiscope-consumer', version: '1.0.0', private: true, type: 'module',
      // No install script is needed: koffi's prebuilt binary comes in an optional dependency, and
      // abiscope's `prepare` (the build) never runs for a tarball (npm 11 lists it all the same).
      allowScripts: { koffi: false, [tarball]: false },
    }, null, 2));
    run('npm', ['install', tarball, '--prefer-offline', '--no-audit', '--no-fund'], project);
  }, 180_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('ships dist, bin and the run-time data, no tests and no TypeScript sources', () => {
    for (const f of ['package.json', 'README.md', 'LICENSE', 'bin/abiscope.js', 'dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js', 'dist/emu/asm.js']) {
      expect(files).toContain(f);
    }
    for (const dir of ['runtime/lib', 'demo/obj']) {
      if (existsSync(join(repo, dir)) && readdirSync(join(repo, dir)).length) {
        expect(files.some((f) => f.startsWith(`${dir}/`)), `${dir} is shipped`).toBe(true);
      }
    }
    expect(files.filter((f) => /^(tests|bench|scripts)\//.test(f))).toEqual([]);
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
  });

  it('imports from plain node: calls a GCC-compiled function and reports a fault with its instruction', () => {
    writeFileSync(join(project, 'check.mjs'), `
      import { Sandbox, MemoryFault } from 'abiscope';
      const [scalars, faults] = process.argv.slice(2);
      const sb = await Sandbox.open('x86_64-sysv');
      sb.load(scalars, faults);
      const result = sb.func('int weigh_int2(int, int)')(5, 7);
      let fault;
      try { sb.func('int chain_a(int *p)')(0x10); } catch (e) { fault = e; }
      const after = sb.func('int weigh_int2(int, int)')(1, 1);
      sb.close();
      console.log(JSON.stringify({ result, after, memoryFault: fault instanceof MemoryFault, instruction: fault?.instruction, chain: fault?.callChain }));
    `);
    const out = JSON.parse(run(process.execPath, ['check.mjs', fixture('x86_64', 'scalars.o'), fixture('x86_64', 'faults.o')], project));
    expect(out.result).toBe(2 * 5 + 3 * 7);
    expect(out.after).toBe(5);
    expect(out.memoryFault).toBe(true);
    expect(out.instruction).toMatch(/^mov/); // Capstone, loaded on demand from the installed package
    expect(out.chain[0]).toMatch(/^chain_c/);
    expect(out.chain.join(' ')).toMatch(/chain_b/);
  });

  it("links a user's default-flags library against the shipped runtime, and runs the shipped demo", () => {
    writeFileSync(join(project, 'user.mjs'), `
      import { Sandbox } from 'abiscope';
      const sb = await Sandbox.open('arm-aapcs');
      sb.load(process.argv[2]);
      const { value, record } = sb.func('int greet(const char *who, int times)').callWithRecord(['tarball', 2]);
      const ratio = sb.func('long long ratio(long long a, long long b)')(-(2n ** 40n), 3n);
      console.log(JSON.stringify({ value, stdout: record.output.stdout, ratio: String(ratio) }));
      sb.close();
    `);
    const out = JSON.parse(run(process.execPath, ['user.mjs', fixture('armel', 'user/libmylib.so')], project));
    expect(out).toEqual({ value: 'hello, tarball x2 (0.67)\n'.length, stdout: 'hello, tarball x2 (0.67)\n', ratio: String(-(2n ** 40n) / 3n) });
    const demo = run(join(project, 'node_modules', '.bin', 'abiscope'), ['demo'], project);
    for (const abi of ABI_NAMES) expect(demo).toContain(abi);
    expect(demo).toContain('abiscope has 8 letters and the value 3.14');
  });

  it('runs the installed CLI', () => {
    const bin = join(project, 'node_modules', '.bin', 'abiscope');
    const explained = run(bin, ['explain', '--abi', 'x86_64-sysv', 'int f(int, double)'], project);
    expect(explained).toMatch(/arg0\s+int\s+rdi/);
    expect(explained).toMatch(/arg1\s+double\s+xmm0/);
    const called = run(bin, ['call', '--abi', 'x86_64-sysv', '--elf', fixture('x86_64', 'scalars.o'), '--sig', 'int weigh_int2(int, int)', '--args', '[5, 7]'], project);
    expect((JSON.parse(called) as { result: unknown }).result).toBe(2 * 5 + 3 * 7);
  });

  it('type-checks a strict NodeNext TypeScript consumer against the shipped declarations', () => {
    writeFileSync(join(project, 'consumer.ts'), `
      import { Sandbox, GuestFault, ValueError, planCall, convention, type ForeignFunction, type FramePlan, type JsValue } from 'abiscope';
      import type { AbiName } from 'abiscope';
      const abi: AbiName = 'arm-aapcs-vfp';
      const sb: Sandbox = await Sandbox.open(abi, { checkFrames: 'all' });
      const f: ForeignFunction = sb.func('double int_double_float(int i, double d, float f)');
      const value: JsValue = f(7, 2.5, 0.25);
      const plan: FramePlan = f.plan();
      const cb = sb.callback('int (int)', (x) => (x as number) + 1);
      const address: number = cb.address;
      const isFault = (e: unknown): e is GuestFault => e instanceof GuestFault || e instanceof ValueError;
      void [value, plan, address, isFault, planCall, convention];
      sb.close();
    `);
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({
      compilerOptions: {
        target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true,
        skipLibCheck: false, types: ['node'], typeRoots: [join(repo, 'node_modules', '@types')],
      },
      files: ['consumer.ts'],
    }, null, 2));
    const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
    let out = '';
    try {
      out = run(process.execPath, [tsc, '-p', 'tsconfig.json', '--pretty', 'false'], project);
    } catch (e) {
      out = String((e as { stdout?: string }).stdout ?? e);
    }
    expect(out.trim()).toBe('');
  });
});
