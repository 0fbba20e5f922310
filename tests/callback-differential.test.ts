// Call-backs against GCC callers, for every generated signature (tests/gen): call_<id>
// calls rec_<id> with literal arguments and returns its unsigned result; callm_<id>
// returns rec_make_<id>'s struct. Here rec_* are linked to abiscope call-backs, so the
// whole path runs: the GCC caller, the entry stub, the thunk saving registers, the
// callee-side decoding (variadic arguments through VarArgs), the result written back
// through registers or the caller's hidden pointer, the caller returning it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { Sandbox } from '../sandbox/sandbox.ts';
import { FIXTURE_DIRS, FIXTURES, fixtureObjects, fixtureTypes } from '../sandbox/fixtures.ts';
import type { AbiName } from '../backends/registry.ts';
import { BACKENDS } from '../backends/compiled.ts';
import type { VarArgs } from '../sandbox/callback.ts';
import type { JsValue } from '../layout/values.ts';
import { casesFor, diffValues, loadGenCases, show, type GenCase } from './gen/cases.ts';

const GEN = loadGenCases();
const FIXTURE_TYPES = fixtureTypes();
/** Every convention and fixture build, with both back ends' thunks. */
const TARGETS = (Object.keys(FIXTURE_DIRS) as AbiName[]).flatMap((abi) => FIXTURE_DIRS[abi].flatMap((dir) => BACKENDS.map((backend) => ({ abi, dir, backend }))));

/** C's default argument promotions: what va_arg must read. */
const promoted = (t: string) => (t === 'float' ? 'double' : /^(signed |unsigned )?(char|short)$|^_Bool$/.test(t) ? 'int' : t);

/** A distinct 32-bit result per case, with every byte non-zero. */
const resultOf = (id: string) => (0x81000000 + Number(id) * 0x10203 + 0x0101) >>> 0;

describe.each(TARGETS)('call-backs called by GCC callers on $abi ($dir, $backend)', ({ abi, dir, backend }) => {
  let sb: Sandbox;
  const received = new Map<string, JsValue[]>();

  /** The JS body of rec_<id> / rec_make_<id>: records what arrived, returns `result`. */
  const recorder = (key: string, c: GenCase, result: unknown) => (...args: (JsValue | VarArgs)[]) => {
    const fixed = c.args.length - (c.variadicTypes?.length ?? 0);
    const got = args.slice(0, key.startsWith('make') ? args.length : fixed) as JsValue[];
    if (!key.startsWith('make') && c.variadicTypes) {
      const va = args[fixed] as VarArgs;
      for (const t of c.variadicTypes) got.push(va.next(promoted(t)));
    }
    received.set(key, got);
    return result;
  };

  beforeAll(async () => {
    sb = await Sandbox.open(abi, { poison: 0xa5, backend });
    sb.declare(FIXTURE_TYPES + GEN.types);
    for (const c of casesFor(GEN, abi)) {
      sb.provide(`rec_${c.id}`, sb.callback(c.recorder, recorder(c.id, c, resultOf(c.id))));
      if (c.result) sb.provide(`rec_make_${c.id}`, sb.callback(c.result.recorder, recorder(`make${c.id}`, c, c.result.expected)));
    }
    sb.load(...fixtureObjects(dir), join(FIXTURES, 'obj', dir, 'gen_callers.o'));
  });
  afterAll(() => sb.close());

  const poison = () => {
    sb.machine.poisonRegisters(0x5a);
    sb.machine.poisonMemory(sb.mainThread.stack.top, 64 * 1024, 0x5a);
  };

  it.each(casesFor(GEN, abi).map((c) => [c.recorder, c] as const))('%s', (_name, c) => {
    poison();
    received.delete(c.id);
    const r = sb.func(`unsigned ${c.caller}(void)`)();
    const problems = diffValues(c.args, received.get(c.id), 'arguments');
    if (problems.length) expect.fail(`${c.recorder}${c.variadicTypes ? ` ... (${c.variadicTypes.join(', ')})` : ''}\nexpected ${show(c.args)}\n${problems.join('\n')}`);
    expect(r).toBe(resultOf(c.id));
    expect(sb.mainThread.idle).toBe(true);
    expect(sb.machine.sp).toBe(sb.mainThread.stack.top);
  });

  it.each(casesFor(GEN, abi).filter((c) => c.result).map((c) => [c.result!.recorder, c] as const))('%s returns its struct to the C caller', (_name, c) => {
    poison();
    const key = `make${c.id}`;
    received.delete(key);
    const r = sb.func(`struct R${c.id} ${c.result!.caller}(void)`)();
    const fixed = c.args.length - (c.variadicTypes?.length ?? 0);
    const problems = [...diffValues(c.args.slice(0, fixed), received.get(key), 'arguments'), ...diffValues(c.result!.expected, r, 'result')];
    if (problems.length) expect.fail(`${c.result!.recorder}\n${problems.join('\n')}`);
  });
});
