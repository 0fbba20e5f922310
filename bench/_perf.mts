import { Sandbox } from '../sandbox/sandbox.ts';
import { FIXTURE_DIRS, fixtureObjects, fixtureTypes } from '../sandbox/fixtures.ts';
import { ABI_NAMES } from '../backends/registry.ts';
for (const abi of (process.argv[2] ? [process.argv[2]] : ABI_NAMES) as any[]) {
  for (const backend of ['compiled', 'interpreted'] as const) {
    const sb = await Sandbox.open(abi, { backend });
    sb.declare(fixtureTypes());
    sb.load(...fixtureObjects(FIXTURE_DIRS[abi][0]));
    const add = sb.func('int weigh_int2(int, int)');
    const inc = sb.callback('int (int)', (x) => (x as number) + 1);
    const apply = sb.func('int apply_n(int (*f)(int), int n, int x)');
    for (let i = 0; i < 20000; i++) add(2, 3);
    let t = performance.now();
    const N = 50000;
    for (let i = 0; i < N; i++) add(2, 3);
    const callout = (performance.now() - t) * 1000 / N;
    for (let i = 0; i < 100; i++) apply(inc, 100, 0);
    t = performance.now();
    for (let i = 0; i < 200; i++) apply(inc, 100, 0);
    const cb = (performance.now() - t) * 1000 / 20000;
    // bare: run the callee from a hook-stopped start: pc = stub address, using machine.run directly
    const m = sb.machine;
    console.log(abi, backend, 'call-out µs', callout.toFixed(2), 'call-back µs', cb.toFixed(2));
    sb.close();
  }
}
