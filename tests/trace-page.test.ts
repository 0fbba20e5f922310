// The trace page (cli/trace-page.ts) in headless Chromium (tests/browser.ts), for traces of GCC
// fixtures on every convention: a two-int function, a 48-byte struct by value (on the stack,
// split over registers and stack, or by reference into region 1) and apply_n with a JS
// call-back (nested calls for the timeline). The page must load nothing and log no error; its
// frame picture names every argument and has one region-2 arrow per argument, to where the
// snapshot says the pointer points; the stepper moves by buttons and keys and shows the
// registers the trace recorded; the jumps back to a register's or an address's previous write
// land where the trace says; the timeline has a bar per call, nested as the calls were.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openPage, type OpenedPage } from './browser.ts';
import { Sandbox } from '../sandbox/sandbox.ts';
// The hand-written fixtures' conventions: the i386 attribute variants have generated fixtures only.
import { FIXTURE_DIRS, HAND_FIXTURE_ABIS as ABI_NAMES, fixtureObjects, fixtureTypes, type HandFixtureAbi as AbiName } from '../sandbox/fixtures.ts';
import { tracePage } from '../cli/trace-page.ts';
import { registersBefore } from '../cli/trace-page-data.ts';
import type { FramePlan } from '../abis/plan.ts';
import type { InstructionEvent, Trace } from '../sandbox/trace-format.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'tests', 'out');

interface Case { abi: AbiName; key: 'int2' | 's48' | 'apply'; trace: Trace; plan: FramePlan; file: string }

const S48 = { a: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12] };

async function traces(abi: AbiName): Promise<Case[]> {
  const sb = await Sandbox.open(abi);
  sb.declare(fixtureTypes());
  sb.load(...fixtureObjects(FIXTURE_DIRS[abi][0]));
  const made: Case[] = [];
  const add = (key: Case['key'], proto: string, args: unknown[]) => {
    const f = sb.func(proto);
    const { trace } = f.trace(args);
    const file = join(OUT, `trace-${abi}-${key}.html`);
    writeFileSync(file, tracePage(trace, { 0: f.plan() }));
    made.push({ abi, key, trace, plan: f.plan(), file });
  };
  add('int2', 'int weigh_int2(int a, int b)', [5, 7]);
  add('s48', 'int sum_s48(struct S48 s)', [S48]);
  add('apply', 'int apply_n(int (*f)(int), int n, int x)', [(x: number) => x + 1, 2, 0]);
  return made;
}

const instructions = (t: Trace) => t.events.filter((e): e is InstructionEvent => e.kind === 'instruction');
/** Where each region-2 arrow of a case should end: the region of the argument's first byte. */
const ARROW_REGION: Record<AbiName, Record<Case['key'], string[]>> = {
  'i386-sysv': { int2: ['stack arguments', 'stack arguments'], s48: ['stack arguments'], apply: ['stack arguments', 'stack arguments', 'stack arguments'] },
  'x86_64-sysv': { int2: ['register image', 'register image'], s48: ['stack arguments'], apply: ['register image', 'register image', 'register image'] },
  'arm-aapcs': { int2: ['register image', 'register image'], s48: ['register image'], apply: ['register image', 'register image', 'register image'] },
  'arm-aapcs-vfp': { int2: ['register image', 'register image'], s48: ['register image'], apply: ['register image', 'register image', 'register image'] },
  'ppc32-sysv': { int2: ['register image', 'register image'], s48: ['region 1'], apply: ['register image', 'register image', 'register image'] },
  'aarch64-aapcs64': { int2: ['register image', 'register image'], s48: ['region 1'], apply: ['register image', 'register image', 'register image'] },
  'x86_64-win64': { int2: ['register image', 'register image'], s48: ['region 1'], apply: ['register image', 'register image', 'register image'] },
};
/** The register the first argument of weigh_int2 goes in (i386: the stack). */
const FIRST_REG: Record<AbiName, string | null> = { 'i386-sysv': null, 'x86_64-sysv': 'rdi', 'arm-aapcs': 'r0', 'arm-aapcs-vfp': 'r0', 'ppc32-sysv': 'r3', 'aarch64-aapcs64': 'x0', 'x86_64-win64': 'rcx' };

for (const abi of ABI_NAMES) {
  describe(`the trace page on ${abi}`, () => {
    let cases: Case[] = [];
    const pages = new Map<Case['key'], OpenedPage>();
    const get = (key: Case['key']) => ({ c: cases.find((c) => c.key === key)!, o: pages.get(key)! });

    beforeAll(async () => {
      mkdirSync(OUT, { recursive: true });
      cases = await traces(abi);
      for (const c of cases) pages.set(c.key, await openPage(c.file, { width: 1400, height: 1000 }));
    }, 60_000);
    afterAll(async () => { for (const o of pages.values()) await o.close(); });

    it('renders with no console or page errors and loads nothing', async () => {
      for (const c of cases) {
        const o = pages.get(c.key)!;
        expect(o.errors, c.key).toEqual([]);
        expect(o.requests, c.key).toEqual([]);
        const html = readFileSync(c.file, 'utf8');
        expect(html).not.toMatch(/<link|<img|\ssrc=|\shref=|@import/i);
        expect(await o.page.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content')).toContain("default-src 'none'");
      }
    });

    it('draws the frame: every argument named, one region-2 arrow per argument to where its pointer points', async () => {
      for (const c of cases) {
        const { page } = pages.get(c.key)!;
        const frame = c.trace.calls[0].frame!;
        const svg = page.locator('svg.frame[data-call="0"]');
        await expect(svg.isVisible()).resolves.toBe(true);
        for (const a of c.plan.args) {
          const named = await svg.locator(`text[data-arg="${a.name}"]`).allTextContents();
          expect(named.length, `${c.key}: ${a.name}`).toBeGreaterThan(0);
          for (const t of named) expect(t).toContain(a.name);
          // its pointer in region 2, and its bytes somewhere outside it
          expect(await svg.locator(`[data-region="region 2"][data-arg="${a.name}"]`).count(), `${c.key}: &${a.name}`).toBe(1);
        }
        const arrows = await svg.locator('path[data-arrow]').evaluateAll((ps) => ps.map((p) => ({
          arg: p.getAttribute('data-arrow'), from: Number(p.getAttribute('data-from')), to: Number(p.getAttribute('data-to')), region: p.getAttribute('data-to-region'),
        })));
        expect(arrows).toEqual(frame.args.map((a, i) => ({ arg: a.name, from: a.pointer.at, to: a.pointer.to, region: ARROW_REGION[abi][c.key][i] })));
        // The arrow ends at the row holding the argument's first byte: that row's address range contains pointer.to.
        for (const a of frame.args) {
          const hits = await svg.locator(`g[data-arg="${a.name}"][data-region="${ARROW_REGION[abi][c.key][frame.args.indexOf(a)]}"]`)
            .evaluateAll((gs, to) => gs.filter((g) => Number(g.getAttribute('data-addr')) <= to && to < Number(g.getAttribute('data-end'))).length, a.pointer.to);
          expect(hits, `${c.key}: ${a.name}`).toBe(1);
        }
        // The stack grows down: rows are drawn from the highest address to the lowest.
        const addrs = await svg.locator('g[data-addr]').evaluateAll((gs) => gs.map((g) => Number(g.getAttribute('data-addr'))));
        expect(addrs).toEqual([...addrs].sort((x, y) => y - x));
        expect(await svg.locator('[data-region="canary"]').count()).toBe(1);
      }
    });

    it('lists each argument register with its value at the callee\'s entry', async () => {
      const { c, o } = get('int2');
      const reg = FIRST_REG[abi];
      const rows = await o.page.locator('.callout-frame[data-call="0"] table.entry tr[data-arg]').evaluateAll((rs) => rs.map((r) => `${r.getAttribute('data-arg')} ${r.getAttribute('data-loc')} ${r.getAttribute('data-entry-value') ?? '-'}`));
      const locs = c.trace.calls[0].frame!.args.map((a) => a.locations[0]);
      if (reg) expect(rows).toEqual([`a ${reg} 0x5`, `b ${locs[1]} 0x7`]);
      else expect(rows).toEqual(['a [sp+0] -', 'b [sp+4] -']);
    });

    it('steps by buttons and keys, host writes first, then every instruction', async () => {
      const { c, o } = get('int2');
      const { page } = o;
      const at = async () => Number(await page.locator('#stepper').getAttribute('data-step'));
      const hostWrites = c.trace.events.filter((e) => e.kind === 'host-write');
      // The host-write rows come before the first instruction, one per event, named as the trace names them.
      const kinds = await page.locator('#step-list [data-step]').evaluateAll((rs) => rs.map((r) => r.getAttribute('data-kind')));
      expect(kinds.slice(0, hostWrites.length)).toEqual(hostWrites.map(() => 'host-write'));
      expect(kinds[hostWrites.length]).toBe('instruction');
      expect(await page.locator('#step-list [data-kind="host-write"]').first().textContent()).toContain('host wrote argument a (int) to');
      expect(await at()).toBe(0);
      await page.click('#step-next');
      await page.click('#step-next');
      expect(await at()).toBe(2);
      await page.click('#step-prev');
      expect(await at()).toBe(1);
      for (const [key, want] of [['j', 2], ['ArrowDown', 3], ['n', 4], ['k', 3], ['ArrowUp', 2], ['p', 1]] as const) {
        await page.keyboard.press(key);
        expect(await at(), key).toBe(want);
      }
      await page.click('#step-prev');
      await page.click('#step-prev');
      expect(await at()).toBe(0); // stops at the first step
      // Guest code and abiscope's own are told apart.
      const owners = await page.locator('#step-list [data-kind="instruction"]').evaluateAll((rs) => rs.map((r) => r.getAttribute('data-owner-kind')));
      expect(owners).toContain('abiscope');
      expect(owners).toContain('guest');
    });

    it('shows the registers as the trace says at every step, the current instruction\'s changes highlighted', async () => {
      const { c, o } = get('int2');
      const { page } = o;
      const steps = c.trace.events.filter((e) => e.kind === 'instruction' || e.kind === 'host-write');
      await page.click('#step-list [data-step="0"]');
      for (let i = 0; i < steps.length; i++) {
        if (i) await page.keyboard.press('n');
        const e = steps[i];
        const next = steps[i + 1]?.seq ?? Infinity;
        const want = registersBefore(c.trace, next); // after step i
        const shown = await page.locator('#reg-panel [data-reg]').evaluateAll((rs) => rs.map((r) => [r.getAttribute('data-reg'), r.getAttribute('data-value'), r.classList.contains('changed')] as const));
        expect(Object.fromEntries(shown.map(([r, v]) => [r, v])), `step ${i}`).toEqual(Object.fromEntries([...want].filter(([r]) => shown.some((s) => s[0] === r))));
        expect(new Set(shown.map((s) => s[0]))).toEqual(new Set(want.keys()));
        const changed = e.kind === 'instruction' ? e.changes.map((ch) => ch.reg).sort() : [];
        expect(shown.filter((s) => s[2]).map((s) => s[0]).sort(), `step ${i}`).toEqual(changed);
      }
      // Concretely: after the stub's load of the first argument register, it shows 5.
      const reg = FIRST_REG[abi];
      if (reg) {
        const load = instructions(c.trace).find((e) => e.abiscope && e.changes.some((ch) => ch.reg === reg && ch.new === '0x5'))!;
        expect(load).toBeDefined();
        await page.click(`#step-list [data-seq="${load.seq}"]`);
        const cell = page.locator(`#reg-panel [data-reg="${reg}"]`);
        expect(await cell.getAttribute('data-value')).toBe('0x5');
        expect(await cell.getAttribute('class')).toContain('changed');
        expect(await cell.textContent()).toBe(`${reg} 0x5`);
      }
    });

    it('jumps back to the last instruction that changed a register, and to the previous write of an address', async () => {
      const { c, o } = get('int2');
      const { page } = o;
      const ins = instructions(c.trace);
      const callee = ins.find((e) => !e.abiscope)!;
      const reg = FIRST_REG[abi] ?? (abi === 'i386-sysv' ? 'esp' : '');
      const lastWrite = [...ins].reverse().find((e) => e.seq < callee.seq && e.changes.some((ch) => ch.reg === reg));
      await page.click(`#step-list [data-seq="${callee.seq}"]`);
      expect(await page.locator('#stepper').getAttribute('data-seq')).toBe(String(callee.seq));
      await page.click(`#reg-panel [data-reg="${reg}"]`);
      expect(lastWrite, reg).toBeDefined();
      expect(await page.locator('#stepper').getAttribute('data-seq')).toBe(String(lastWrite!.seq));
      expect(await page.locator('#step-list .current').getAttribute('data-seq')).toBe(String(lastWrite!.seq));

      // A read of argument a's bytes by the stub (x86-64 and ARM load it, i386 has the callee read it): back to the host's write of them.
      const read = c.trace.events.find((e) => e.kind === 'memory' && e.access === 'read' && e.touched.includes('argument a'));
      expect(read).toBeDefined();
      if (read?.kind !== 'memory') return;
      await page.click(`#step-list [data-seq="${read.by}"]`);
      await page.click(`#mem-panel [data-mem-seq="${read.seq}"]`);
      const landed = Number(await page.locator('#stepper').getAttribute('data-seq'));
      const hw = c.trace.events.find((e) => e.seq === landed);
      expect(hw?.kind).toBe('host-write');
      if (hw?.kind === 'host-write') {
        expect(hw.what).toMatch(/^argument a \(int\)/);
        expect(hw.address <= read.address && read.address < hw.address + hw.size).toBe(true);
      }
    });

    it('has a timeline bar per call, nested as the calls were; a bar jumps to its first instruction', async () => {
      const { c, o } = get('apply');
      const { page } = o;
      expect(c.trace.calls.map((k) => k.kind)).toEqual(['call-out', 'call-back', 'call-back']);
      const bars = await page.locator('#timeline .bar').evaluateAll((bs) => bs.map((b) => {
        const r = b.querySelector('rect')!.getBoundingClientRect();
        return { call: Number(b.getAttribute('data-call')), parent: b.getAttribute('data-parent'), depth: Number(b.getAttribute('data-depth')), left: r.left, right: r.right, top: r.top, label: b.textContent };
      }));
      expect(bars.map((b) => [b.call, b.parent, b.depth])).toEqual([[0, '', 0], [1, '0', 1], [2, '0', 1]]);
      const [out, cb1, cb2] = bars;
      for (const cb of [cb1, cb2]) {
        expect(cb.left).toBeGreaterThanOrEqual(out.left);
        expect(cb.right).toBeLessThanOrEqual(out.right);
        expect(cb.top).toBeGreaterThan(out.top); // a lane below its parent's
      }
      expect(cb1.right).toBeLessThanOrEqual(cb2.left); // one after the other
      expect(out.label).toContain('apply_n');
      const enter = c.trace.events.find((e) => e.kind === 'enter' && e.call === 2)!;
      const first = c.trace.events.find((e) => e.seq > enter.seq && e.kind === 'instruction')!;
      await page.click('#timeline .bar[data-call="2"]');
      expect(await page.locator('#stepper').getAttribute('data-seq')).toBe(String(first.seq));
      await page.click('#timeline .bar[data-call="0"]');
      const first0 = c.trace.events.find((e) => e.kind === 'instruction')!;
      expect(await page.locator('#stepper').getAttribute('data-seq')).toBe(String(first0.seq));
      expect(o.errors).toEqual([]);
    });

    if (abi === 'x86_64-sysv') {
      it('saves a screenshot (tests/out/trace.png, copied to docs/img/trace.png)', async () => {
        const { o } = get('apply');
        const png = join(OUT, 'trace.png');
        rmSync(png, { force: true });
        await o.page.click('#timeline .bar[data-call="1"]');
        await o.page.screenshot({ path: png, fullPage: true });
        const bytes = readFileSync(png);
        expect(bytes.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
        expect(bytes.readUInt32BE(16)).toBe(1400);
        mkdirSync(join(ROOT, 'docs', 'img'), { recursive: true });
        copyFileSync(png, join(ROOT, 'docs', 'img', 'trace.png'));
      });
    }
  });
}
