// sb.load refuses to load an object twice, or a second object defining a global symbol an
// earlier load defined, naming the symbol and both files; archives may be given again, and
// COMDAT copies, weak and runtime definitions are not duplicates. Checked before anything of
// the refused load is linked or mapped.
import { afterEach, describe, expect, it } from 'vitest';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { Sandbox } from '../sandbox/sandbox.ts';
import { HAND_FIXTURE_DIRS, HAND_FIXTURE_ABIS, FIXTURES, fixtureObjects } from '../sandbox/fixtures.ts';
import { DuplicateLoadError, DuplicateSymbolError } from '../sandbox/load-registry.ts';
import { ElfError } from '../emu/elf.ts';

const obj = (dir: string, file: string) => join(FIXTURES, 'obj', dir, file);

function thrown<E extends Error>(f: () => unknown, type: new (...a: never[]) => E): E {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(type);
    expect(e).toBeInstanceOf(ElfError);
    return e as E;
  }
  throw new Error(`expected a ${type.name}`);
}

describe.each(HAND_FIXTURE_ABIS.map((abi) => ({ abi, dir: HAND_FIXTURE_DIRS[abi][0] })))('loading twice on $abi', ({ abi, dir }) => {
  let sb: Sandbox | undefined;
  let tmp: string | undefined;
  afterEach(() => {
    sb?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
    sb = tmp = undefined;
  });

  it('the same object again, in a later load or in the same one, under any spelling of its path', async () => {
    sb = await Sandbox.open(abi);
    const scalars = obj(dir, 'scalars.o');
    sb.load(scalars);
    const regions = sb.machine.regions.length;
    const again = thrown(() => sb!.load(scalars), DuplicateLoadError);
    expect(again).toMatchObject({ name: 'DuplicateLoadError', file: scalars, earlier: scalars, sameLoad: false });
    expect(again.message).toBe(`${scalars}: loaded already by an earlier sb.load: loading it again would define its symbols twice`);
    const rel = relative(process.cwd(), scalars);
    expect(thrown(() => sb!.load(rel), DuplicateLoadError).message).toBe(`${rel}: loaded already by an earlier sb.load (as '${scalars}'): loading it again would define its symbols twice`);
    const structs = obj(dir, 'structs.o');
    expect(thrown(() => sb!.load(structs, `${dirname(structs)}/./structs.o`), DuplicateLoadError).message)
      .toMatch(/given twice in one sb\.load/);
    // nothing of the refused loads was mapped, and the first definition is the one called
    expect(sb.machine.regions.length).toBe(regions);
    expect(sb.func('int weigh_int2(int a, int b)')(5, 7)).toBe(31);
    // structs.o was not loaded by the refused load: it loads now
    sb.load(structs);
  });

  it('another object defining the same global symbol: the symbol and both files', async () => {
    sb = await Sandbox.open(abi);
    tmp = mkdtempSync(join(tmpdir(), 'abiscope-dup-'));
    const copy = join(tmp, 'copy-of-scalars.o');
    copyFileSync(obj(dir, 'scalars.o'), copy);
    const scalars = obj(dir, 'scalars.o');
    sb.load(scalars);
    const e = thrown(() => sb!.load(copy), DuplicateSymbolError);
    expect(e.name).toBe('DuplicateSymbolError');
    expect(e.files).toEqual([scalars, copy]);
    expect(e.symbols).toEqual(expect.arrayContaining(['id_int', 'weigh_int2']));
    expect(e.message).toMatch(new RegExp(`^\`${e.symbol}\` \\(and ${e.symbols.length - 1} more: .*\\) is defined by ${scalars.replace(/[.]/g, '\\.')}, loaded earlier, and again by ${copy.replace(/[.]/g, '\\.')}: `));
    // the same bytes given as bytes: no path, but the same symbols
    expect(thrown(() => sb!.load(new Uint8Array(readFileSync(copy))), DuplicateSymbolError).files).toEqual([scalars, '<bytes 0>']);
  });

  it('what is not a duplicate: archives again, objects in several loads (COMDAT helpers), the runtime\'s definitions', async () => {
    sb = await Sandbox.open(abi);
    const objects = fixtureObjects(dir);
    const half = Math.ceil(objects.length / 2);
    sb.load(...objects.slice(0, half));
    sb.load(...objects.slice(half).filter((f) => !f.endsWith('runtime.o')));
    // Windows x64 has no user library build (mylib.c needs mingw's C library): the loads above only.
    if (!existsSync(obj(dir, 'user/mylib.o'))) return;
    // two position-independent objects in two loads (on i386 both define __x86.get_pc_thunk.bx, in COMDAT groups)
    const pic = await Sandbox.open(abi);
    try {
      pic.load(join(FIXTURES, '..', '..', 'demo', 'obj', dir, 'demo.o'));
      pic.load(obj(dir, 'user/mylib.o'));
      expect(Number(pic.func('size_t name_length(const char *s)')('pic'))).toBe(3);
    } finally {
      pic.close();
    }
    const lib = obj(dir, 'user/libmylib.a');
    sb.load(lib);
    sb.load(lib);
    expect(Number(sb.func('size_t name_length(const char *s)')('hello'))).toBe(5);
    // memcpy came from abiscope's runtime (libabiscope.a) for libmylib; a user's own memcpy may still be loaded
    sb.load(obj(dir, 'runtime.o'));
  });
});
