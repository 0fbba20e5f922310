// The second Windows x64 check: the generated callees compiled by the host's gcc with every
// function __attribute__((ms_abi)) (-mabi=ms; ELF objects in tests/fixtures/obj/win64-msabi),
// called through the x86_64-win64 convention with registers and stack poisoned. That build is
// LP64 (long is 8 bytes there, 4 in LLP64), so only the cases whose types lay out the same in
// both data models run; long double is left out too (mingw's by-reference rule is GCC's for
// Windows targets, not necessarily for ms_abi on Linux).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { Sandbox } from '../sandbox/sandbox.ts';
import { FIXTURES } from '../sandbox/fixtures.ts';
import { BACKENDS } from '../backends/compiled.ts';
import { parseDeclarations } from '../ctypes/parse.ts';
import { flattenScalars, sizeOf } from '../layout/layout.ts';
import { DATA_MODELS } from '../layout/datamodel.ts';
import type { CType } from '../ctypes/ctypes.ts';
import { casesFor, diffValues, loadGenCases, type GenCase } from './gen/cases.ts';

const POISON = 0xa5;
const GEN = loadGenCases();
const { scope } = parseDeclarations(GEN.types);
const DIR = join(FIXTURES, 'obj', 'win64-msabi');

/** The same bytes at the same offsets in LP64 and LLP64, and no long double. */
function sameLayout(t: CType): boolean {
  const lp = DATA_MODELS.x86_64, llp = DATA_MODELS.llp64;
  if (t.kind === 'void') return true;
  const a = flattenScalars(t, lp), b = flattenScalars(t, llp);
  if (sizeOf(t, lp) !== sizeOf(t, llp) || a.length !== b.length) return false;
  return a.every((x, i) => x.offset === b[i].offset && x.size === b[i].size && !(x.type.kind === 'scalar' && x.type.name === 'long double'));
}

function portable(c: GenCase): boolean {
  const sig = parseDeclarations(`${c.prototype};`, scope).signature;
  if (!sig) return false;
  const variadic = (c.variadicTypes ?? []).map((v) => parseDeclarations(`void f(${v});`, scope).signature!.params[0].type);
  return [sig.result, ...sig.params.map((p) => p.type), ...variadic].every(sameLayout);
}

const CASES = casesFor(GEN, 'x86_64-win64').filter(portable);

describe.each(BACKENDS)('ms_abi ELF callees (host gcc -mabi=ms) through x86_64-win64, %s', (backend) => {
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await Sandbox.open('x86_64-win64', { poison: POISON, backend });
    sb.declare(GEN.types);
    sb.load(join(DIR, 'gen_callees.o'), join(DIR, 'runtime.o'));
  });
  afterAll(() => sb?.close());

  it('most cases are portable between the two data models (the filter is not everything)', () => {
    expect(CASES.length).toBeGreaterThan(50); // 73 of 251 with gen.mjs's default set
    expect(CASES.length).toBeLessThan(GEN.cases.length); // some use long: those are left out
  });

  it.each(CASES.map((c) => [c.callee, c] as const))('%s', (_name, c) => {
    const m = sb.machine;
    m.poisonRegisters(POISON);
    m.poisonMemory(m.mainStack.top, 64 * 1024, POISON);
    const mask = sb.func(c.prototype).callWithRecord(c.args, c.variadicTypes).value;
    expect(mask, `${c.prototype}: wrong arguments (mask)`).toBe(0);
    if (c.result) {
      const fixed = c.args.slice(0, c.args.length - (c.variadicTypes?.length ?? 0));
      const got = sb.func(c.result.prototype)(...fixed);
      expect(diffValues(c.result.expected, got, 'result')).toEqual([]);
    }
  });
});
