// sb.sizeof / sb.alignof / sb.offsetof and `abiscope layout`, checked against GCC's layouts
// (tests/layout-truth/, written by the cross compilers) on every convention, and their errors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { Sandbox } from '../sandbox/sandbox.ts';
import { ABI_NAMES, convention, type AbiName } from '../backends/registry.ts';
import { LayoutError } from '../layout/layout.ts';
import { LayoutQueryError, layoutTree, type LayoutNode, type LayoutProblem } from '../layout/query.ts';
import { parseType, SignatureError } from '../ctypes/parse.ts';
import { run } from './cli-run.ts';

interface Truth { types: Record<string, { size: number; align: number; fields?: Record<string, number> }> }

const dir = new URL('./layout-truth/', import.meta.url);
const header = readFileSync(new URL('types.h', dir), 'utf8');
const truthOf = (abi: AbiName): Truth => JSON.parse(readFileSync(new URL(`${convention(abi).dataModel.name}.json`, dir), 'utf8')) as Truth;

/** Structs with padding, long double, nested and anonymous members, arrays of structs. */
const CHECKED = ['struct size_ld', 'struct mix_lld', 'struct nested_double', 'struct anon_members', 'struct arr_of_structs', 'union u_ld', 'td_deep_anon'];

function thrown(f: () => unknown): LayoutQueryError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(LayoutQueryError);
    expect(e).toBeInstanceOf(LayoutError);
    return e as LayoutQueryError;
  }
  throw new Error('expected a LayoutQueryError');
}

describe.each(ABI_NAMES)('sb.sizeof/alignof/offsetof on %s', (abi) => {
  let sb: Sandbox;
  const truth = truthOf(abi);
  beforeAll(async () => {
    sb = await Sandbox.open(abi);
    sb.declare(header);
  });
  afterAll(() => sb.close());

  it('match GCC for structs and unions of types.h, every member', () => {
    for (const key of CHECKED) {
      const want = truth.types[key];
      expect({ key, size: sb.sizeof(key), align: sb.alignof(key) }).toEqual({ key, size: want.size, align: want.align });
      for (const [field, offset] of Object.entries(want.fields ?? {})) expect({ key, field, offset: sb.offsetof(key, field) }).toEqual({ key, field, offset });
    }
  });

  it('designators go into arrays and nested structs: arr_of_structs.pts[2].y', () => {
    const t = truth.types;
    const point = t['struct point'];
    expect(sb.offsetof('struct arr_of_structs', 'pts[2].y')).toBe(t['struct arr_of_structs'].fields!.pts + 2 * point.size + point.fields!.y);
    expect(sb.offsetof('struct arr_of_structs', ' pts [1] . x ')).toBe(t['struct arr_of_structs'].fields!.pts + point.size);
    // a CType works as well as text
    expect(sb.sizeof(parseType('struct { char c; long double d; }'))).toBe(t['struct size_ld'].fields!.d + sb.sizeof('long double'));
  });

  it('errors say which mistake it was', () => {
    const cases: [() => unknown, LayoutProblem, RegExp][] = [
      [() => sb.offsetof('struct point', 'z'), 'no-member', /^struct point: field 'z': struct point has no member named 'z': its members are 'x', 'y'$/],
      [() => sb.offsetof('struct rect', 'tl.q'), 'no-member', /'tl' \(struct point\) has no member named 'q'/],
      [() => sb.offsetof('int', 'x'), 'not-a-record', /^int: field 'x': offsetof needs a struct or union type, and int is not one$/],
      [() => sb.offsetof('struct point', 'x.y'), 'not-a-record', /'x' is int, not a struct or union: it has no member 'y'/],
      [() => sb.offsetof('struct point', 'x[1]'), 'not-an-array', /'x' is int, not an array/],
      [() => sb.offsetof('struct arr_of_structs', 'pts[3]'), 'index-out-of-range', /index 3 is out of range: 'pts' is struct point\[3\], indexes 0 to 2/],
      [() => sb.offsetof('struct point', 'x..y'), 'invalid-designator', /invalid member designator/],
      [() => sb.offsetof('struct point', '[0]'), 'invalid-designator', /starts with a subscript/],
      [() => sb.sizeof('struct never_defined'), 'incomplete', /^struct never_defined: incomplete type: struct never_defined is declared but never defined/],
      [() => sb.offsetof('struct never_defined', 'a'), 'incomplete', /incomplete type/],
      [() => sb.alignof('void'), 'no-size', /void has no size/],
      [() => sb.sizeof('int (int)'), 'no-size', /a function type has no size/],
    ];
    for (const [f, problem, message] of cases) {
      const e = thrown(f);
      expect({ problem: e.problem, name: e.name }).toEqual({ problem, name: 'LayoutQueryError' });
      expect(e.message).toMatch(message);
    }
    expect(thrown(() => sb.offsetof('struct point', 'z'))).toMatchObject({ typeName: 'struct point', field: 'z' });
    // a type that does not parse is the parser's error
    expect(() => sb.sizeof('struct point point point')).toThrow(SignatureError);
  });
});

describe('abiscope layout', () => {
  /** `--json` of one type on every convention. */
  const json = async (type: string) => {
    const r = await run('layout', '--abi', 'all', '--json', type);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    return JSON.parse(r.stdout) as { type: string; layouts: (LayoutNode & { abi: AbiName })[] };
  };

  it('--abi all --json: GCC\'s sizes, alignments and offsets on every convention', async () => {
    for (const key of ['struct size_ld', 'struct anon_members', 'struct nested_double']) {
      const out = await json(`${header}\n${key}`);
      expect(out.type).toBe(key);
      expect(out.layouts.map((l) => l.abi)).toEqual(ABI_NAMES);
      for (const l of out.layouts) {
        const want = truthOf(l.abi).types[key];
        expect({ key, abi: l.abi, size: l.size, align: l.align }).toEqual({ key, abi: l.abi, size: want.size, align: want.align });
        // every member offsetof names, at any depth: anonymous members' members by their own names
        const byPath = new Map<string, number>();
        const walk = (n: LayoutNode) => n.fields?.forEach((f) => { if (f.path) byPath.set(f.path, f.offset); walk(f); });
        walk(l);
        for (const [field, offset] of Object.entries(want.fields ?? {})) expect({ key, abi: l.abi, field, offset: byPath.get(field) }).toEqual({ key, abi: l.abi, field, offset });
      }
    }
  });

  it('one convention: a row per member with offset, size and alignment, padding, nested members indented', async () => {
    const r = await run('layout', '--abi', 'i386-sysv', 'struct S { char c; double d; struct { short s; } in; long long q[2]; }');
    expect(r).toEqual({ code: 0, stderr: '', stdout: [
      'struct S on i386-sysv: size 32, align 4',
      '',
      'offset  size  align  member     type',
      '     0     1      1  c          char',
      '     1     3         (padding)',
      '     4     8      4  d          double',
      '    12     2      2  in         struct {...}',
      '    12     2      2    in.s     short',
      '    14     2         (padding)',
      '    16    16      4  q          long long[2]  (2 x 8)',
      '',
    ].join('\n') });
    const x64 = await run('layout', '--abi', 'x86_64-sysv', 'struct S { char c; double d; }');
    expect(x64.stdout).toContain('struct S on x86_64-sysv: size 16, align 8');
    expect(x64.stdout).toMatch(/\n {5}8 {5}8 {6}8 {2}d {10}double\n/);
  });

  it('--abi all: conventions side by side, rows that differ marked', async () => {
    const r = await run('layout', '--abi', 'all', 'struct P { short x; long long y; }; struct P');
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0].split(/\s{2,}/)).toEqual(['struct P', ...ABI_NAMES]);
    expect(lines[1].split(/\s{2,}/)).toEqual(['size, align', '12, 4', '16, 8', '16, 8', '16, 8', '16, 8', '16, 8', '*']);
    expect(lines[2].split(/\s{2,}/)).toEqual(['x', 'short', '0', '2/2', '0', '2/2', '0', '2/2', '0', '2/2', '0', '2/2', '0', '2/2']);
    expect(lines[3].split(/\s{2,}/)).toEqual(['y', 'long long', '4', '8/4', '8', '8/8', '8', '8/8', '8', '8/8', '8', '8/8', '8', '8/8', '*']);
  });

  it('declarations alone lay out the last struct; arrays of structs show the first element\'s members', async () => {
    const r = await run('layout', '--abi', 'arm-aapcs', '--json', 'struct A { int a; }; struct B { char c; struct A as[2]; };');
    const b = JSON.parse(r.stdout) as LayoutNode & { abi: string };
    expect(b).toMatchObject({ abi: 'arm-aapcs', name: 'struct B', size: 12, align: 4 });
    expect(b.fields![1]).toMatchObject({ path: 'as', offset: 4, size: 8, array: { length: 2, elementSize: 4 }, fields: [{ path: 'as[0].a', offset: 4 }] });
    expect(b.padding).toEqual([{ offset: 1, size: 3 }]);
  });

  it('errors: an unknown convention, an incomplete type, no type at all', async () => {
    const bad = await run('layout', '--abi', 'x86', 'int');
    expect(bad).toMatchObject({ code: 1, stdout: '' });
    expect(bad.stderr).toMatch(/UsageError: --abi "x86": expected 'all' or one or more of i386-sysv, x86_64-sysv/);
    const inc = await run('layout', '--abi', 'ppc32-sysv', 'struct S;');
    expect(inc.stderr).toMatch(/LayoutQueryError: struct S: incomplete type/);
    expect((await run('layout', '--abi', 'ppc32-sysv', 'enum E { A };')).stderr).toMatch(/define no struct, union or typedef/);
  });
});

describe('layoutTree', () => {
  it('anonymous members: their members are designated as the parent\'s', () => {
    const t = layoutTree(parseType('struct { char c; union { int i; float f; }; }'), convention('x86_64-sysv').dataModel);
    expect(t.fields!.map((f) => [f.name, f.path, f.offset])).toEqual([['c', 'c', 0], ['', '', 4]]);
    expect(t.fields![1].fields!.map((f) => [f.path, f.offset])).toEqual([['i', 4], ['f', 4]]);
  });
});
