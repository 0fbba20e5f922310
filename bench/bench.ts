// npm run bench, first part: work the other tables do not cover (a struct call-out, guest
// threads switching), then the command line's wall time. The others: bench/host.ts (call-out,
// call-back and nesting cost against a bare emulator run), bench/instructions.ts (emulated
// instructions per call against GCC's direct call and libffi), bench/memory.ts (a million
// calls). Each row is one kind of work; "per" is the unit the time is divided by. Medians over
// tinybench samples.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Bench, type Task } from 'tinybench';
import { Sandbox } from '../sandbox/sandbox.ts';
// The conventions with hand-written fixtures (and native builds): the i386 attribute variants have neither.
import { FIXTURE_DIRS, HAND_FIXTURE_ABIS, fixtureObjects, fixtureTypes } from '../sandbox/fixtures.ts';
import type { JsValue } from '../layout/values.ts';

const types = fixtureTypes();
const time = Number(process.env.BENCH_MS ?? 300);
const rows: Record<string, string | number>[] = [];

for (const abi of HAND_FIXTURE_ABIS) {
  const sb = await Sandbox.open(abi);
  sb.declare(types);
  sb.load(...fixtureObjects(FIXTURE_DIRS[abi][0]));
  const A = sb.thread('A');
  const B = sb.thread('B');
  const bump = sb.func('struct DblLong bump_dbllong(struct DblLong s)');
  const apply = sb.func('int apply_n(int (*f)(int), int n, int x)');
  const pingPong = async () => {
    const step = async (x: JsValue) => { await Promise.resolve(); return (x as number) + 1; };
    await Promise.all([apply.on(A).async(step, 50, 0), apply.on(B).async(step, 50, 0)]);
  };

  const bench = new Bench({ time, warmup: true });
  const per = new Map<string, [number, string]>();
  const task = (name: string, units: number, unit: string, fn: () => unknown) => {
    per.set(name, [units, unit]);
    bench.add(name, fn);
  };
  task('call-out struct {double; long} by value, returned', 1, 'call', () => bump({ d: 1.5, l: 7 }));
  task('two threads, async call-backs interleaved (2 x 50)', 100, 'switch', pingPong);
  await bench.run();
  for (const t of bench.tasks as Task[]) {
    const r = t.result;
    if (r.state !== 'completed') {
      rows.push({ convention: abi, work: t.name, 'µs per unit': r.state === 'errored' ? `error: ${r.error.message}` : r.state });
      continue;
    }
    const [units, unit] = per.get(t.name)!;
    rows.push({
      convention: abi,
      work: t.name,
      'µs per unit': Number((r.latency.p50 * 1000 / units).toFixed(1)),
      unit,
      samples: r.latency.samplesCount,
    });
  }
  sb.close();
}

console.table(rows);

// Command-line wall time: a whole `node bin/abiscope.js ...` process (the compiled CLI in
// dist/, which `npm run bench` builds first), against a bare `node -e 0` measured in the
// same rounds. Median of BENCH_CLI_RUNS runs (default 10), the commands interleaved.
const repo = fileURLToPath(new URL('..', import.meta.url));
const cli = join(repo, 'bin', 'abiscope.js');
const scalars = join(repo, 'tests', 'fixtures', 'obj', 'x86_64', 'scalars.o');
const commands: { name: string; args: string[]; expect: RegExp }[] = [
  { name: 'node -e 0', args: ['-e', '0'], expect: /^$/ },
  { name: "abiscope explain --abi x86_64-sysv 'int f(int, double)'", args: [cli, 'explain', '--abi', 'x86_64-sysv', 'int f(int, double)'], expect: /xmm0/ },
  {
    name: "abiscope call --abi x86_64-sysv --elf scalars.o --sig 'int weigh_int2(int, int)' --args '[5, 7]'",
    args: [cli, 'call', '--abi', 'x86_64-sysv', '--elf', scalars, '--sig', 'int weigh_int2(int, int)', '--args', '[5, 7]'],
    expect: /"result":31/,
  },
];
const runs = Number(process.env.BENCH_CLI_RUNS ?? 10);
const times = commands.map(() => [] as number[]);
const failures = commands.map(() => '');
for (let r = 0; r < runs; r++) {
  commands.forEach((c, i) => {
    const started = performance.now();
    const p = spawnSync(process.execPath, c.args, { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
    times[i].push(performance.now() - started);
    if (p.status !== 0 || !c.expect.test(p.stdout.trim())) failures[i] ||= `exit ${p.status}: ${(p.stderr || p.stdout).trim().split('\n')[0]}`;
  });
}
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const base = median(times[0]);
console.table(commands.map((c, i) => failures[i]
  ? { command: c.name, 'ms (median)': `error: ${failures[i]}` }
  : { command: c.name, 'ms (median)': Number(median(times[i]).toFixed(1)), 'x node -e 0': Number((median(times[i]) / base).toFixed(2)), runs }));
