// `abiscope demo`: a few fixture calls on every convention, with where each argument went.
import pc from 'picocolors';
import { Sandbox } from '../marshal/sandbox.ts';
import type { CallbackContext } from '../marshal/callback.ts';
import { ABI_NAMES } from '../abis/index.ts';
import { FIXTURE_DIRS, fixtureObjects, fixtureTypes } from '../marshal/fixtures.ts';
import { toJson } from './json.ts';

const CALLS: { proto: string; args: unknown[] }[] = [
  { proto: 'double int_double_float(int i, double d, float f)', args: [7, 2.5, 0.25] },
  { proto: 'long long sum_llong12(long long a, long long b, long long c, long long d, long long e, long long f, long long g, long long h, long long i, long long j, long long k, long long l)', args: [1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n, 9n, 10n, 11n, 12n] },
  { proto: 'float dot_floatpair(struct FloatPair p, struct FloatPair q)', args: [{ x: 1, y: 2 }, { x: 3, y: 4 }] },
  { proto: 'struct Double3 make_double3(double a, double b, double c)', args: [1.5, -2, 1e100] },
  { proto: 'int count_chars(const char *s, char c)', args: ['abracadabra', 'a'] },
];

export async function runDemo(): Promise<void> {
  const types = fixtureTypes();
  for (const abi of ABI_NAMES) {
    const sb = await Sandbox.open(abi);
    try {
      sb.declare(types);
      sb.load(...fixtureObjects(FIXTURE_DIRS[abi][0]));
      process.stdout.write(`\n${pc.bold(pc.green(abi))}  (${FIXTURE_DIRS[abi][0]} objects compiled by GCC 12)\n`);
      for (const c of CALLS) {
        const f = sb.func(c.proto);
        const { value, record } = f.callWithRecord(c.args);
        process.stdout.write(`  ${pc.bold(f.signature.name ?? '')}(${c.args.map((a) => JSON.stringify(toJson(a as never))).join(', ')}) = ${pc.yellow(JSON.stringify(toJson(value)))}\n`);
        for (const a of record.args) {
          const where = a.pieces.map((p) => p.where).join(' + ');
          process.stdout.write(`      ${a.name.padEnd(6)} ${a.type.padEnd(18)} -> ${where.padEnd(22)} ${pc.dim(`@0x${a.address.toString(16)}`)}\n`);
        }
      }
      // A GCC-compiled caller calling back into JS: where its arguments arrived.
      let seen: CallbackContext | undefined;
      const mixed = sb.func('double call_mixed(double (*f)(int, double, float, long long, struct Mixed), int i, double d, float fl, long long ll, struct Mixed m)');
      const r = mixed(function (this: CallbackContext, ...xs: unknown[]) { seen = this; return (xs[1] as number) * 2; }, -7, 2.5, 0.75, 1n << 40n, { i: 1, f: 0.5, d: 4 });
      process.stdout.write(`  call_mixed(f, ...) calls back f(-7, 2.5, 0.75, 2^40, {i:1, f:0.5, d:4}) = ${pc.yellow(String(r))}\n`);
      for (const a of seen?.args ?? []) process.stdout.write(`      ${a.name.padEnd(6)} ${a.type.padEnd(18)} <- ${a.from.join(' + ')}\n`);
    } finally {
      sb.close();
    }
  }
}
