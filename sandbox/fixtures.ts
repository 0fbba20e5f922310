// Where the committed GCC fixtures live, per convention (used by the demo and the tests).
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AbiName } from '../backends/registry.ts';

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'tests', 'fixtures');

/**
 * The conventions whose fixture builds hold the hand-written fixtures (tests/fixtures/src:
 * scalars.o, structs.o, callbacks.o ...) as well as the generated ones; armhf also in ARM state.
 * The hand-written sources are plain C: they follow each target's default convention only.
 */
export const HAND_FIXTURE_DIRS = {
  'i386-sysv': ['i386'],
  'x86_64-sysv': ['x86_64'],
  'arm-aapcs': ['armel'],
  'arm-aapcs-vfp': ['armhf', 'armhf-arm'],
  'ppc32-sysv': ['ppc32'],
  'aarch64-aapcs64': ['aarch64'],
  'x86_64-win64': ['win64'],
} as const satisfies Partial<Record<AbiName, readonly string[]>>;

/** A convention with hand-written fixtures. */
export type HandFixtureAbi = keyof typeof HAND_FIXTURE_DIRS;
export const HAND_FIXTURE_ABIS = Object.keys(HAND_FIXTURE_DIRS) as HandFixtureAbi[];

export function hasHandFixtures(abi: AbiName): abi is HandFixtureAbi {
  return Object.hasOwn(HAND_FIXTURE_DIRS, abi);
}

/**
 * Fixture build directory (tests/fixtures/obj/<dir>) for each convention. The i386 attribute
 * variants' builds hold the generated fixtures only (tests/gen, compiled with the variant's
 * attribute or flag by tests/fixtures/build.sh).
 */
export const FIXTURE_DIRS: Record<AbiName, readonly string[]> = {
  ...HAND_FIXTURE_DIRS,
  'i386-stdcall': ['i386-stdcall'],
  'i386-fastcall': ['i386-fastcall'],
  'i386-thiscall': ['i386-thiscall'],
  'i386-regparm3': ['i386-regparm3'],
  'i386-sysv-regstruct': ['i386-sysv-regstruct'],
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
