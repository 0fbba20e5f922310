// Where the committed GCC fixtures live, per convention (used by the demo and the tests).
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AbiName } from '../backends/registry.ts';

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'tests', 'fixtures');

/** Fixture build directory (tests/fixtures/obj/<dir>) for each convention; armhf also in ARM state. */
export const FIXTURE_DIRS: Record<AbiName, string[]> = {
  'i386-sysv': ['i386'],
  'x86_64-sysv': ['x86_64'],
  'arm-aapcs': ['armel'],
  'arm-aapcs-vfp': ['armhf', 'armhf-arm'],
  'ppc32-sysv': ['ppc32'],
  'x86_64-win64': ['win64'],
};

/** Every object of one fixture build except _start and the generated callers (whose rec_* symbols a test provides). */
export function fixtureObjects(dir: string): string[] {
  const d = join(FIXTURES, 'obj', dir);
  return readdirSync(d).filter((f) => f.endsWith('.o') && f !== 'start.o' && f !== 'gen_callers.o').sort().map((f) => join(d, f));
}

/** The C declarations of the fixtures' types (fixture.h, as manifest.json records it), for Sandbox.declare. */
export function fixtureTypes(): string {
  return (JSON.parse(readFileSync(join(FIXTURES, 'manifest.json'), 'utf8')) as { types: string }).types;
}
