// `abiscope demo`: a few calls on every convention into demo/src/demo.c (built with each
// compiler's default flags, like a user's code; demo/obj ships with the package), with where
// each argument went, a GCC-compiled caller calling back into JS, and printf's output.
import { UsageError } from '../errors.ts';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pc } from './colors.js';
import { where as explainWhere } from './explain.ts';
import { Sandbox } from '../sandbox/sandbox.ts';
import type { CallbackContext } from '../sandbox/callback.ts';
import { ABI_NAMES, convention } from '../backends/registry.ts';
import { toJson } from '../layout/json.ts';

const TYPES = 'struct point { float x, y; }; struct triple { double a, b, c; }; struct mixed { int i; float f; double d; };';
const CALLS: { proto: string; args: unknown[] }[] = [
  { proto: 'double int_double_float(int i, double d, float f)', args: [7, 2.5, 0.25] },
  { proto: 'long long sum12(long long a, long long b, long long c, long long d, long long e, long long f, long long g, long long h, long long i, long long j, long long k, long long l)', args: [1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n, 9n, 10n, 11n, 12n] },
  { proto: 'float dot(struct point p, struct point q)', args: [{ x: 1, y: 2 }, { x: 3, y: 4 }] },
  { proto: 'struct triple make_triple(double a, double b, double c)', args: [1.5, -2, 1e100] },
  { proto: 'int count_char(const char *s, char c)', args: ['abracadabra', 'a'] },
];

/** demo/obj of the package (from cli/ in a clone, dist/cli/ when installed). */
function demoObjects(): string {
  for (let d = dirname(fileURLToPath(import.meta.url)), i = 0; i < 4; i++, d = dirname(d)) {
    if (existsSync(join(d, 'demo', 'obj'))) return join(d, 'demo', 'obj');
  }
  throw new UsageError('demo/obj is missing from this installation of abiscope');
}

export async function runDemo(): Promise<void> {
  const objects = demoObjects();
  const out = (s: string): boolean => process.stdout.write(s);
  for (const abi of ABI_NAMES) {
    const { toolchain } = convention(abi);
    // A convention without a demo build (an installation without demo/obj/<dir>) is named, not run.
    if (!existsSync(join(objects, toolchain.runtimeDir, 'demo.o'))) {
      out(`\n${pc.bold(pc.green(abi))}  ${pc.dim(`(no demo build: demo/obj/${toolchain.runtimeDir} is not shipped yet)`)}\n`);
      continue;
    }
    const printed: string[] = [];
    const sb = await Sandbox.open(abi, { onOutput: (_fd, text) => printed.push(text) });
    try {
      sb.declare(TYPES);
      // A variant (i386 stdcall, fastcall, ...) has its own build of demo.c, under its name.
      sb.load(join(objects, toolchain.selectedBy ? abi : toolchain.runtimeDir, 'demo.o'));
      out(`\n${pc.bold(pc.green(abi))}  (demo.o: ${toolchain.gcc} -O2${toolchain.selectedBy ? ` ${toolchain.selectedBy}` : ''} -c demo.c)\n`);
      out(pc.dim(`      ${'arg'.padEnd(6)} ${'type'.padEnd(18)}    ${'where'.padEnd(22)} guest address\n`));
      for (const c of CALLS) {
        const f = sb.func(c.proto);
        const { value, record, plan } = f.callWithRecord(c.args);
        out(`  ${pc.bold(f.signature.name ?? '')}(${c.args.map((a) => JSON.stringify(toJson(a as never))).join(', ')}) = ${pc.yellow(JSON.stringify(toJson(value)))}\n`);
        for (const [i, a] of record.args.entries()) {
          // A by-reference argument (PowerPC structs): the register holds a pointer to the copy at the address shown.
          const where = a.pieces.map((p) => p.where).join(' + ') + (plan.args[i]?.passing === 'reference' ? ' -> copy' : '');
          out(`      ${a.name.padEnd(6)} ${a.type.padEnd(18)} -> ${where.padEnd(22)} ${pc.dim(`0x${a.address.toString(16)}`)}\n`);
        }
        if (record.resultAddress !== undefined && plan.result.kind === 'memory') {
          // The hidden struct-result pointer: where it is passed, and the temporary it points at.
          const res = plan.result;
          const where = `${explainWhere(res.pointer)} = &result`;
          out(`      ${'result'.padEnd(6)} ${'(hidden pointer)'.padEnd(18)} -> ${where.padEnd(22)} ${pc.dim(`0x${record.resultAddress.toString(16)}`)}\n`);
        }
      }
      // A GCC-compiled caller calling back into JS: where its arguments arrived.
      let seen: CallbackContext | undefined;
      const back = sb.func('double call_back(double (*f)(int, double, float, long long, struct mixed), int i, double d, float fl, long long ll, struct mixed m)');
      const r = back(function (this: CallbackContext, ...xs: unknown[]) { seen = this; return (xs[1] as number) * 2; }, -7, 2.5, 0.75, 1n << 40n, { i: 1, f: 0.5, d: 4 });
      out(`  call_back(f, ...) calls f(-7, 2.5, 0.75, 2^40, {i:1, f:0.5, d:4}) in JS = ${pc.yellow(String(r))}\n`);
      for (const a of seen?.args ?? []) out(`      ${a.name.padEnd(6)} ${a.type.padEnd(18)} <- ${a.from.join(' + ')}\n`);
      // printf and strlen from abiscope's runtime; the guest's output is captured.
      if (sb.machine.symbols.has('report')) {
        const rep = sb.func('int report(const char *name, double value)').callWithRecord(['abiscope', Math.PI]);
        out(`  report("abiscope", pi) = ${pc.yellow(String(rep.value))}, printed: ${pc.cyan(JSON.stringify(rep.record.output.stdout))}\n`);
      } else {
        out(`  ${pc.dim('report(): not built here (demo.c -DDEMO_NO_LIBC: abiscope has no C library for this target yet)')}\n`);
      }
    } finally {
      sb.close();
    }
  }
}
