// The frame plan is the program: plain data that both back ends run.
// - A plan survives JSON (no functions, no classes, nothing lost) for every generated signature
//   on every convention, and the compiled stub of the JSON copy is the stub of the original.
// - The compiled stub runs the plan's guest operations and nothing else: with one register
//   load (or, on i386, which loads none, the result store) taken out of the plan, GCC's callee
//   sees a wrong argument (or the call returns a wrong result).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sandbox } from '../sandbox/sandbox.ts';
import { ABI_NAMES, convention, conventionBackend } from '../backends/registry.ts';
import { compileStub, guestOps } from '../backends/compiled.ts';
import { planCall, type FramePlan } from '../abis/plan.ts';
import { parsePrototype, parseDeclarations, parseType } from '../ctypes/parse.ts';
import { HAND_FIXTURE_DIRS, HAND_FIXTURE_ABIS, fixtureObjects, fixtureTypes } from '../sandbox/fixtures.ts';
import { casesFor, loadGenCases } from './gen/cases.ts';

const GEN = loadGenCases();

/** Every value reachable from `v` that JSON would not keep as it is. */
function nonJson(v: unknown, path = 'plan'): string[] {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return [];
  if (typeof v === 'number') return Number.isFinite(v) ? [] : [`${path}: ${v}`];
  if (Array.isArray(v)) return v.flatMap((x, i) => nonJson(x, `${path}[${i}]`));
  if (typeof v === 'object') {
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) return [`${path}: an instance of ${proto?.constructor?.name}`];
    return Object.entries(v).flatMap(([k, x]) => (x === undefined ? [`${path}.${k}: undefined`] : nonJson(x, `${path}.${k}`)));
  }
  return [`${path}: a ${typeof v}`];
}

describe.each(ABI_NAMES)('plans of %s are plain data', (abi) => {
  const cc = convention(abi);
  const scope = parseDeclarations(fixtureTypes() + GEN.types).scope;
  const plans: FramePlan[] = casesFor(GEN, abi).map((c) => {
    const { signature } = parsePrototype(c.prototype, scope);
    const variadic = (c.variadicTypes ?? []).map((t) => parseType(t, scope));
    return planCall(cc, signature, variadic);
  });

  it(`${casesFor(GEN, abi).length} generated signatures: JSON round-trips, nothing but JSON values inside`, () => {
    expect(plans.length).toBeGreaterThan(100);
    for (const plan of plans) {
      expect(nonJson(plan), plan.signature).toEqual([]);
      expect(JSON.parse(JSON.stringify(plan)), plan.signature).toEqual(plan);
    }
  });

  it('the compiled stub of a JSON copy is the stub of the plan', () => {
    const backend = conventionBackend(abi);
    for (const plan of plans.slice(0, 60)) {
      const copy = JSON.parse(JSON.stringify(plan)) as FramePlan;
      expect(compileStub(backend, copy, 0x1000), plan.signature).toEqual(compileStub(backend, plan, 0x1000));
    }
  });
});

describe.each(HAND_FIXTURE_ABIS.map((abi) => ({ abi, dir: HAND_FIXTURE_DIRS[abi][0] })))('a compiled stub runs its plan and nothing else ($abi)', ({ abi, dir }) => {
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await Sandbox.open(abi, { poison: 0xa5, backend: 'compiled' });
    sb.declare(fixtureTypes());
    sb.load(...fixtureObjects(dir));
  });
  afterAll(() => sb.close());

  it('with one load (i386: the result store) dropped from the plan, the call goes wrong', () => {
    const prototype = 'int weigh_int2(int a, int b)';
    const good = sb.func(prototype);
    sb.machine.poisonRegisters(0x5a);
    expect(good(1000, 7)).toBe(2 * 1000 + 3 * 7);

    const broken = sb.func(prototype);
    const plan = broken.plan();
    const guest = guestOps(plan).map((g) => g.op.op);
    const victim = abi === 'i386-sysv' ? 'store' : 'load';
    expect(guest, 'the plan has the operation to drop').toContain(victim);
    if (abi === 'i386-sysv') expect(guest).not.toContain('load'); // every i386 argument is on the stack
    // The last op of that kind: b's load, or the result's store.
    const at = plan.ops.map((o) => o.op).lastIndexOf(victim);
    plan.ops.splice(at, 1);
    sb.machine.poisonRegisters(0x5a);
    const got = broken(1000, 7);
    expect(got).not.toBe(2 * 1000 + 3 * 7);
    // The dropped load leaves b as the poisoned register; the dropped store leaves the poisoned frame slot.
    if (abi !== 'i386-sysv') expect(got).toBe((2 * 1000 + Math.imul(3, 0x5a5a5a5a)) | 0);
    expect(good(1000, 7), 'the intact stub still works').toBe(2 * 1000 + 3 * 7);
  });
});
