// Files a careless or hostile user loads: real objects, archives and shared objects with
// random bytes changed. Every outcome is a loaded image or an AbiscopeError (a load may
// also run guest code: a shared object's constructors), never anything else, and the
// sandbox works after each. Fixed seeds: the same cases every run.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AbiscopeError, Sandbox, type AbiName } from '../index.ts';
import { FIXTURES } from '../sandbox/fixtures.ts';

const file = (dir: string, ...path: string[]): Uint8Array => new Uint8Array(readFileSync(join(FIXTURES, 'obj', dir, ...path)));

/** Changes at random places, biased towards the headers where one byte changes the most. */
const mutations = (size: number) => fc.array(
  fc.tuple(fc.oneof(fc.nat(Math.min(size, 256) - 1), fc.nat(size - 1)), fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0, 0xff, 0x7f, 0x80))),
  { minLength: 1, maxLength: 6 },
);

const INPUTS: [string, AbiName, string, string[]][] = [
  ['objects', 'x86_64-sysv', 'x86_64', ['user', 'mylib.o']],
  ['objects', 'arm-aapcs-vfp', 'armhf', ['user', 'mylib.o']],
  ['objects', 'ppc32-sysv', 'ppc32', ['scalars.o']],
  ['archives', 'i386-sysv', 'i386', ['user', 'libmylib.a']],
  ['archives', 'arm-aapcs', 'armel', ['user', 'libmylib.a']],
  ['archives', 'aarch64-aapcs64', 'aarch64', ['user', 'libmylib.a']],
  ['shared objects', 'x86_64-sysv', 'x86_64', ['user', 'libmylib.so']],
  ['shared objects', 'ppc32-sysv', 'ppc32', ['user', 'libmylib.so']],
];

const CHUNKS = 6;
const RUNS_PER_CHUNK = 140; // 7 inputs x 6 x 140 = 5,880 cases

describe('fuzz: mutated files', () => {
  it.each(INPUTS)('%s (%s, %s %j): a result or an AbiscopeError, and a working sandbox after each', async (_, abi, dir, path) => {
    const good = file(dir, ...path);
    const outcomes = { loaded: 0, refused: 0 };
    // A fresh sandbox per chunk: what loaded stays mapped, and a machine has a region limit.
    for (let chunk = 0; chunk < CHUNKS; chunk++) {
      const sb = await Sandbox.open(abi, { budget: 200_000, timeoutMs: 2000 });
      try {
        sb.load(file(dir, 'scalars.o'));
        const control = sb.func('int weigh_int2(int, int)');
        fc.assert(fc.property(mutations(good.length), (edits) => {
          const bytes = good.slice();
          for (const [at, v] of edits) bytes[at] = v;
          try {
            sb.load(bytes);
            outcomes.loaded++;
          } catch (e) {
            if (!(e instanceof AbiscopeError)) throw e;
            outcomes.refused++;
          }
          expect(control(5, 7)).toBe(31);
        }), { numRuns: RUNS_PER_CHUNK, seed: 1000 * chunk + good.length });
      } finally {
        sb.close();
      }
    }
    expect(outcomes.loaded + outcomes.refused).toBe(CHUNKS * RUNS_PER_CHUNK);
    expect(outcomes.refused).toBeGreaterThan(0);
  });
});
