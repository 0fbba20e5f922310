// What a callee must preserve, checked after every call-out: GCC-compiled callees that break
// the rule on purpose (tests/fixtures/src/violations.c, top-level assembly) on every convention.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sandbox, CalleeSavedViolation } from '../index.ts';
import { HAND_FIXTURE_DIRS, HAND_FIXTURE_ABIS, fixtureObjects } from '../sandbox/fixtures.ts';

const CASES = HAND_FIXTURE_ABIS.flatMap((abi) => HAND_FIXTURE_DIRS[abi].map((dir) => [abi, dir] as const));
/** The register the call stub keeps its image in, and the other one abi_clobber_image overwrites. */
const IMAGE: Record<string, [string, string]> = {
  'i386-sysv': ['ebx', 'edi'], 'x86_64-sysv': ['r12', 'r15'], 'arm-aapcs': ['r4', 'r11'], 'arm-aapcs-vfp': ['r4', 'r11'], 'ppc32-sysv': ['r14', 'r31'], 'aarch64-aapcs64': ['x19', 'x28'],
  'x86_64-win64': ['r12', 'r15'],
};
const OTHER: Record<string, string[]> = {
  'i386-sysv': ['esi'], 'x86_64-sysv': ['rbx'], 'arm-aapcs': ['r5'], 'arm-aapcs-vfp': ['r5', 'd8'], 'ppc32-sysv': ['r20', 'f14', 'cr'], 'aarch64-aapcs64': ['x20', 'd8'],
  'x86_64-win64': ['rbx', 'xmm6'],
};

describe.each(CASES)('callee-saved registers on %s (%s)', (abi, dir) => {
  let sb: Sandbox;
  let lenient: Sandbox;
  beforeAll(async () => {
    sb = await Sandbox.open(abi, { poison: 0xa5 });
    sb.load(...fixtureObjects(dir));
    lenient = await Sandbox.open(abi, { calleeSaved: 'warn' });
    lenient.load(...fixtureObjects(dir));
  });
  afterAll(() => {
    sb.close();
    lenient.close();
  });
  const check = (s: Sandbox) => s.func('int weigh_int2(int, int)')(5, 7);

  it('a callee that keeps every register passes', () => {
    const { value, record } = sb.func('int abi_keep_all(void)').callWithRecord([]);
    expect(value).toBe(42);
    expect(record.warnings).toEqual([]);
  });

  it('a callee that overwrites the image register is reported, with both registers, and writes no result', () => {
    const heapBefore = sb.read('unsigned char[64]', sb.alloc(64));
    let e: unknown;
    try {
      sb.func('int abi_clobber_image(void)')();
    } catch (x) {
      e = x;
    }
    expect(e).toBeInstanceOf(CalleeSavedViolation);
    const v = e as CalleeSavedViolation;
    expect(v.callee).toMatch(/^abi_clobber_image/);
    const [image, other] = IMAGE[abi];
    expect(v.violations.map((x) => x.register).sort()).toEqual([image, other].sort());
    const img = v.violations.find((x) => x.register === image)!;
    expect(img.after).toBe(abi.startsWith('arm') ? 0x1200n : 0x1234n);
    expect(img.before).not.toBe(img.after);
    expect(v.message).toMatch(new RegExp(`${image} was 0x[0-9a-f]+ at the call, 0x[0-9a-f]+ at the return`));
    expect(check(sb)).toBe(31); // the sandbox goes on working
    expect(heapBefore).toHaveLength(64);
  });

  it('a callee that overwrites another callee-saved register: an error, or a warning with the result', () => {
    let e: unknown;
    try {
      sb.func('int abi_clobber_other(void)')();
    } catch (x) {
      e = x;
    }
    expect(e).toBeInstanceOf(CalleeSavedViolation);
    expect((e as CalleeSavedViolation).violations.map((x) => x.register).sort()).toEqual([...OTHER[abi]].sort());
    const { value, record } = lenient.func('int abi_clobber_other(void)').callWithRecord([]);
    expect(value).toBe(42);
    expect(record.warnings).toHaveLength(1);
    expect(record.warnings[0]).toMatch(/abi_clobber_other.* did not preserve/);
    expect(check(sb)).toBe(31);
    expect(check(lenient)).toBe(31);
  });

  it("calleeSaved 'off': the plan has no saves and no check, and the call returns", async () => {
    const off = await Sandbox.open(abi, { calleeSaved: 'off' });
    try {
      off.load(...fixtureObjects(dir));
      const f = off.func('int abi_clobber_other(void)');
      const ops = f.plan().ops.map((o) => o.op);
      expect(ops).not.toContain('save');
      expect(ops).not.toContain('check-preserved');
      expect(sb.func('int abi_clobber_other(void)').plan().ops.map((o) => o.op)).toContain('check-preserved');
      const { value, record } = f.callWithRecord([]);
      expect(value).toBe(42);
      expect(record.warnings).toEqual([]);
      expect(check(off)).toBe(31);
    } finally {
      off.close();
    }
  });
});
