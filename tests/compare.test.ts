// `abiscope compare` as a user runs it: the side-by-side table (known placements on each
// convention, in explain's notation), colours only for a terminal, --json (the plans
// themselves), errors, and the --html page opened in headless Chromium (tests/browser.ts):
// no console errors, no network, every convention's column and frame picture, each argument
// in the right region of each picture, highlighted everywhere on hover.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { run } from './cli-run.ts';
import { chromiumExecutable, CHROMIUM_PACKAGE, openPage, type OpenedPage } from './browser.ts';
import { explainJson, planFor, where } from '../cli/explain.ts';
import { el, escapeHtml } from '../cli/html.ts';
import { ABI_NAMES, type AbiName } from '../backends/registry.ts';
import type { ComparedConvention } from '../cli/compare.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'tests', 'out');
const SIG = 'double f(int a, struct V { float x, y; } v, double d)';
/** One convention of each family, the columns whose cells the table tests spell out. */
const FAMILIES: AbiName[] = ['i386-sysv', 'x86_64-sysv', 'arm-aapcs', 'arm-aapcs-vfp', 'ppc32-sysv', 'aarch64-aapcs64', 'x86_64-win64'];
/** The width of the rules' name column: the longest convention name. */
const NAME_WIDTH = Math.max(...ABI_NAMES.map((a) => a.length));

/**
 * The table of the text output: cells cut at the columns' header positions; a row's
 * continuation lines (blank name column) add lines to its cells.
 */
function parseTable(stdout: string): { head: string[]; rows: Map<string, string[][]> } {
  const lines = stdout.split('\n');
  const h = lines.findIndex((l) => l.startsWith('argument'));
  expect(h).toBeGreaterThan(0);
  const head = lines[h].trim().split(/\s+/);
  const starts = head.map((name) => lines[h].indexOf(name));
  const rows = new Map<string, string[][]>();
  let current: string[][] | undefined;
  for (const line of lines.slice(h + 1)) {
    if (line.trim() === '') continue;
    if (line.startsWith('[sp+N]')) break;
    const cells = starts.map((s, k) => line.slice(s, starts[k + 1] ?? line.length).trim());
    if (cells[0] !== '') {
      current = cells.map((c) => (c ? [c] : []));
      rows.set(cells[0], current);
    } else {
      expect(current, `a continuation line before any row: ${line}`).toBeDefined();
      cells.forEach((c, k) => { if (c) current![k].push(c); });
    }
  }
  return { head, rows };
}

/** A row's cells per convention, each cell's lines joined by spaces. */
const cellsOf = (rows: Map<string, string[][]>, name: string) => {
  const row = rows.get(name);
  expect(row, `row ${name}`).toBeDefined();
  return row!.slice(2).map((lines) => lines.join(' '));
};

describe('abiscope compare: the table', () => {
  it('has a column per convention, each cell where explain places the value', async () => {
    const r = await run('compare', '--sig', SIG, '--abi', FAMILIES.join(','));
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    const { head, rows } = parseTable(r.stdout);
    expect(head).toEqual(['argument', 'type', ...FAMILIES]);
    expect([...rows.keys()]).toEqual(['a', 'v', 'd', '(result)']);
    expect(rows.get('v')![1]).toEqual(['struct V']);
    // Placements known from the ABI documents (and GCC, tests/conformance.test.ts):
    // i386 all on the stack; x86-64 rdi and SSE registers; soft-float ARM core registers then the
    // stack (the double wants an even pair); VFP ARM s and d registers; PowerPC the struct by reference;
    // AArch64 x0, the HFA in s0 and s1 (v0, v1), so the double in d2; Windows x64: one slot per
    // argument, the 8-byte struct as an integer in the second slot's rdx.
    expect(cellsOf(rows, 'a')).toEqual(['[sp+0]', 'rdi', 'r0', 'r0', 'r3', 'x0', 'rcx']);
    const ppcCopy = planFor('ppc32-sysv', SIG).args[1].pointsTo.frameOffset;
    expect(cellsOf(rows, 'v')).toEqual(['[sp+4]', 'xmm0', 'r1 + r2', 's0 + s1', `by reference: copy in region 1 at [sp+${ppcCopy}], pointer in r4`, 's0 + s1', 'rdx']);
    expect(cellsOf(rows, 'd')).toEqual(['[sp+12]', 'xmm1', '[sp+0]', 'd1', 'f1', 'd2', 'xmm2']);
    expect(cellsOf(rows, '(result)')).toEqual(['st0', 'xmm0', 'r0 + r1', 'd0', 'f1', 'd0', 'xmm0']);
    // The wrapped PowerPC cell keeps its phrases whole, one line each.
    expect(rows.get('v')![6]).toEqual(['by reference:', 'copy in region 1', `at [sp+${ppcCopy}],`, 'pointer in r4']);
  });

  it('uses the notation of explain: every by-value cell is explain\'s location for that argument', async () => {
    const { rows } = parseTable((await run('compare', '--sig', SIG)).stdout);
    for (const [k, abi] of ABI_NAMES.entries()) {
      const ex = (await run('explain', '--abi', abi, SIG)).stdout.split('\n');
      for (const name of ['a', 'v', 'd']) {
        const line = ex.find((l) => l.startsWith(`${name} `));
        expect(line, `explain --abi ${abi}: row ${name}`).toBeDefined();
        const cell = cellsOf(rows, name)[k];
        if (cell.startsWith('by reference')) expect(line).toContain(`${cell.split('pointer in ')[1]} (pointer to copy)`);
        // explain also names the struct members each piece carries, e.g. `r1 (x) + r2 (y)`: the places are the same
        else expect(line!.replace(/ \([^)]*\)/g, '')).toContain(`  ${cell}  `);
      }
    }
  });

  it('--abi picks conventions in its order; a variadic call shows the promoted types and the special registers', async () => {
    const r = await run('compare', '--sig', 'int printf(const char *fmt, ...)', '--varargs', 'float,int', '--abi', 'ppc32-sysv,x86_64-sysv');
    expect(r.code).toBe(0);
    const { head, rows } = parseTable(r.stdout);
    expect(head).toEqual(['argument', 'type', 'ppc32-sysv', 'x86_64-sysv']);
    expect(rows.get('arg1')![1]).toEqual(['double (...)']); // float promoted, as explain does
    expect(cellsOf(rows, 'fmt')).toEqual(['r3', 'rdi']);
    expect(cellsOf(rows, 'arg1')).toEqual(['f1', 'xmm0']);
    expect(cellsOf(rows, 'arg2')).toEqual(['r4', 'rsi']);
    expect(cellsOf(rows, '(also sets)')).toEqual(['cr6 = 1', 'al = 1']);
  });

  it('shows a struct result in memory: the hidden pointer, the temporary, who returns and pops it', async () => {
    const sig = 'struct Big { int a[5]; } g(int a)';
    const { rows } = parseTable((await run('compare', '--sig', sig, '--abi', 'i386-sysv,x86_64-sysv,ppc32-sysv')).stdout);
    const temp = (abi: string) => {
      const res = planFor(abi, sig).result;
      return res.kind === 'memory' ? res.temp : NaN;
    };
    expect(cellsOf(rows, '(result)')).toEqual([
      `in memory: hidden ptr in [sp+0], temporary [sp+${temp('i386-sysv')}], returned in eax, callee pops 4`,
      `in memory: hidden ptr in rdi, temporary [sp+${temp('x86_64-sysv')}], returned in rax`,
      `in memory: hidden ptr in r3, temporary [sp+${temp('ppc32-sysv')}]`,
    ]);
    // the hidden pointer takes the first slot: a moves up (i386) or over (x86-64 rsi, PowerPC r4)
    expect(cellsOf(rows, 'a')).toEqual(['[sp+4]', 'rsi', 'r4']);
  });

  it('--rules prints the rule of each convention for each value', async () => {
    const r = await run('compare', '--sig', SIG, '--rules');
    const text = r.stdout.slice(r.stdout.indexOf('rules ('));
    expect(text.length).toBeGreaterThan(100);
    for (const abi of ABI_NAMES) {
      const plan = planFor(abi, SIG);
      for (const a of plan.args) expect(text).toContain(`  ${abi.padEnd(NAME_WIDTH)}  ${a.rule}\n`);
      if (plan.result.kind !== 'void') expect(text).toContain(`  ${abi.padEnd(NAME_WIDTH)}  ${plan.result.rule}\n`);
    }
    // without --rules, none of them
    expect((await run('compare', '--sig', SIG)).stdout).not.toContain(planFor('x86_64-sysv', SIG).args[0].rule);
  });

  it('takes declarations before the prototype, as explain does', async () => {
    const r = await run('compare', '--sig', 'struct P { int x, y; }; typedef struct P P; long f(P p, ...)', '--varargs', 'P', '--abi', 'x86_64-sysv');
    expect(r.code).toBe(0);
    expect(cellsOf(parseTable(r.stdout).rows, 'p')).toEqual(['rdi']);
    expect(cellsOf(parseTable(r.stdout).rows, 'arg1')).toEqual(['rsi']);
  });
});

describe('abiscope compare: colours', () => {
  /** The CLI in a child process whose standard output is a pipe, as in `abiscope compare ... | less`. */
  const piped = (env: NodeJS.ProcessEnv) => {
    const script = `const { main } = await import(${JSON.stringify(pathToFileURL(join(ROOT, 'cli', 'main.ts')).href)});`
      + `process.exitCode = await main(${JSON.stringify(['compare', '--sig', SIG])});`;
    return execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, env, encoding: 'utf8' });
  };
  const clean = { ...process.env };
  delete clean.FORCE_COLOR;
  delete clean.NO_COLOR;

  it('none in a pipe (even under CI), some when FORCE_COLOR asks', () => {
    const plain = piped({ ...clean, CI: 'true' });
    expect(plain).toContain('xmm0');
    expect(plain).not.toMatch(/\x1b/);
    // the same run with colours forced has them, so the check above can fail
    const colored = piped({ ...clean, FORCE_COLOR: '1' });
    expect(colored).toMatch(/\x1b\[33m\[sp\+0\]\x1b\[39m/); // stack slots yellow
    expect(colored).toMatch(/\x1b\[32mxmm0\x1b\[39m/); // registers green
    expect(colored.replace(/\x1b\[\d+m/g, '')).toBe(plain); // and nothing else differs: padding ignores the escape codes
  });
});

describe('abiscope compare --json', () => {
  it('is one entry per convention: placements in explain\'s notation, and the plan explain --json prints', async () => {
    const r = await run('compare', '--sig', SIG, '--json');
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    const cols = JSON.parse(r.stdout) as ComparedConvention[];
    expect(cols.map((c) => c.abi)).toEqual(ABI_NAMES);
    for (const c of cols) {
      const plan = explainJson(c.abi, SIG);
      expect(c.plan).toEqual(plan);
      expect(c.signature).toBe(SIG);
      expect(c.args.map((a) => [a.name, a.type])).toEqual([['a', 'int'], ['v', 'struct V'], ['d', 'double']]);
      c.args.forEach((a, i) => expect(a.where).toEqual(plan.args[i].pieces.map(where)));
    }
    const [i386, x64, , vfp, ppc] = cols;
    expect(i386.args.map((a) => a.where)).toEqual([['[sp+0]'], ['[sp+4]'], ['[sp+12]']]);
    expect(x64.args[0]).toMatchObject({ where: ['rdi'], passing: 'value', copy: null, variadic: false });
    expect(vfp.args[1].where).toEqual(['s0', 's1']);
    expect(ppc.args[1]).toMatchObject({ passing: 'reference', where: ['r4'], copy: `[sp+${ppc.plan.args[1].pointsTo.frameOffset}]` });
    expect(x64.result).toEqual({ kind: 'registers', type: 'double', where: ['xmm0'], rule: x64.plan.result.kind === 'registers' ? x64.plan.result.rule : '' });
    expect(i386.result).toMatchObject({ kind: 'registers', where: ['st0'] });
  });

  it('a memory result: the hidden pointer\'s place, the temporary, the register returning it, the bytes popped', async () => {
    const cols = JSON.parse((await run('compare', '--sig', 'struct Big { int a[5]; } g(void)', '--json', '--abi', 'i386-sysv,arm-aapcs')).stdout) as ComparedConvention[];
    expect(cols.map((c) => c.result)).toEqual([
      expect.objectContaining({ kind: 'memory', type: 'struct Big', where: ['[sp+0]'], returnedIn: 'eax', calleePops: 4, temporary: expect.stringMatching(/^\[sp\+\d+\]$/) }),
      expect.objectContaining({ kind: 'memory', where: ['r0'], returnedIn: null, calleePops: 0 }),
    ]);
    expect(cols[0].args).toEqual([]);
  });
});

describe('abiscope compare: errors', () => {
  const failed = async (...argv: string[]) => {
    const r = await run('compare', ...argv);
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 1, stdout: '' });
    return r.stderr;
  };

  it('a bad --abi is a UsageError naming the conventions', async () => {
    expect(await failed('--sig', SIG, '--abi', 'x86_64-sysv,vax')).toBe(`abiscope: UsageError: unknown calling convention 'vax': expected one of ${ABI_NAMES.join(', ')}\n`);
    expect(await failed('--sig', SIG, '--abi', 'i386-sysv,')).toMatch(/^abiscope: UsageError: --abi 'i386-sysv,': expected comma-separated convention names/);
    expect(await failed('--sig', SIG, '--abi', 'i386-sysv,i386-sysv')).toBe('abiscope: UsageError: --abi names i386-sysv twice\n');
  });

  it('a bad prototype or variadic type is the parser\'s typed error', async () => {
    expect(await failed('--sig', 'double f(int a')).toMatch(/^abiscope: SignatureError: expected ',' or '\)' in the parameter list/);
    expect(await failed('--sig', 'int f(int, ...)', '--varargs', 'integer')).toMatch(/^abiscope: \w+Error: .*integer/);
  });

  it('no --sig: commander\'s message, non-zero', async () => {
    const r = await run('compare');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("required option '--sig <prototype>' not specified");
  });
});

describe('html helpers', () => {
  it('escape text and attributes; leave out absent attributes', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&#60;a href=&#34;x&#34;&#62;&#39;&#38;&#39;&#60;/a&#62;');
    expect(el('td', { title: 'a "b" <c>', hidden: true, 'data-x': null, 'data-y': false }, '<script>', el('b', {}, 1)).html)
      .toBe('<td title="a &#34;b&#34; &#60;c&#62;" hidden>&#60;script&#62;<b>1</b></td>');
  });
});

describe('the page tests\' browser', () => {
  it('without Chromium, an error that names the package to install', () => {
    expect(() => chromiumExecutable({}, ['/nonexistent/chromium'])).toThrow(
      `the page tests need Chromium, not found at /nonexistent/chromium: install Debian's package with \`sudo apt-get install -y --no-install-recommends ${CHROMIUM_PACKAGE}\``);
    expect(() => chromiumExecutable({ ABISCOPE_CHROMIUM: '/nonexistent/chrome' })).toThrow('ABISCOPE_CHROMIUM=/nonexistent/chrome: no such file');
  });
});

describe('abiscope compare --html in headless Chromium', () => {
  const file = join(OUT, 'compare.html');
  const sig = 'struct Big { int a[5]; } g(const char *s, struct Big b, long long x, float f, ...)';
  const ARGS = ['s', 'b', 'x', 'f', 'arg4'];
  let html = '';
  let stdout = '';
  let opened: OpenedPage;

  beforeAll(async () => {
    mkdirSync(OUT, { recursive: true });
    rmSync(file, { force: true });
    const r = await run('compare', '--sig', sig, '--varargs', 'double', '--html', file);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: `abiscope: wrote ${file}\n` });
    stdout = r.stdout;
    html = readFileSync(file, 'utf8');
    opened = await openPage(file);
  });
  afterAll(async () => { await opened?.close(); });

  it('is self-contained: nothing to load, no console errors', () => {
    expect(stdout).toMatch(/^argument +type +i386-sysv +x86_64-sysv/m); // the table is still printed
    expect(html).not.toMatch(/<link|<img|\ssrc=|\shref=|@import|url\(/i);
    expect(html.replaceAll('xmlns="http://www.w3.org/2000/svg"', '')).not.toMatch(/https?:/);
    expect(opened.errors).toEqual([]);
    expect(opened.requests).toEqual([]);
  });

  it('forbids loading anything: its policy blocks an image a script would add', async () => {
    const { page } = opened;
    expect(await page.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content')).toContain("default-src 'none'");
    const blocked = await page.evaluate(() => new Promise<string>((resolve) => {
      const img = document.createElement('img');
      document.addEventListener('securitypolicyviolation', (e) => { img.remove(); resolve(e.effectiveDirective); }, { once: true });
      img.src = 'file:///nonexistent.png';
      document.body.append(img);
    }));
    expect(blocked).toBe('img-src');
    // and the collector sees the attempt, so the check of the test before can fail
    expect(opened.requests).toEqual(['file:///nonexistent.png']);
  });

  it('shows every convention as a column, its cells and its frame picture', async () => {
    const { page } = opened;
    expect(await page.locator('#compare thead th[data-abi]').allTextContents()).toEqual(ABI_NAMES);
    for (const abi of ABI_NAMES) {
      await expect(page.locator(`svg[data-abi="${abi}"]`).isVisible()).resolves.toBe(true);
      expect(await page.locator(`#compare td[data-abi="${abi}"][data-arg]`).count()).toBe(ARGS.length + 1);
    }
    expect(await page.locator('td[data-abi="x86_64-sysv"][data-arg="s"]').textContent()).toBe('rsi');
    expect(await page.locator('td[data-abi="i386-sysv"][data-arg="s"]').textContent()).toBe('[sp+4]');
    expect(await page.locator('td[data-abi="ppc32-sysv"][data-arg="b"] div').allTextContents())
      .toEqual(['by reference:', 'copy in region 1', `at [sp+${planFor('ppc32-sysv', sig, ['double']).args[1].pointsTo.frameOffset}],`, 'pointer in r5']);
    expect(await page.locator('td[data-abi="x86_64-sysv"][data-arg="(result)"] div').allTextContents()).toEqual(
      ['in memory:', 'hidden ptr in rdi,', expect.stringMatching(/^temporary \[sp\+\d+\],$/), 'returned in rax']);
  });

  it('each picture names every argument, in the region its bytes go to', async () => {
    const { page } = opened;
    const regionsOf = (abi: string, arg: string) => page.locator(`svg[data-abi="${abi}"] text[data-arg="${arg}"]`)
      .evaluateAll((ts) => ts.map((t) => `${t.closest('[data-region]')?.getAttribute('data-region')}: ${t.textContent}`));
    for (const abi of ABI_NAMES) {
      for (const arg of ARGS) {
        const found = await regionsOf(abi, arg);
        expect(found.length, `${abi}: ${arg}`).toBeGreaterThan(0);
        for (const f of found) expect(f).toContain(arg);
      }
    }
    expect(await regionsOf('i386-sysv', 'x')).toEqual(['stack: x']);
    expect(await regionsOf('x86_64-sysv', 'x')).toEqual(['image: x']);
    expect(await regionsOf('x86_64-sysv', 'b')).toEqual(['stack: b']); // MEMORY class: a copy on the stack
    expect(await regionsOf('arm-aapcs', 'b')).toEqual(['image: b', 'stack: b']); // split: r2, r3 and the stack
    expect(await regionsOf('ppc32-sysv', 'b')).toEqual(['region1: copy of b', 'image: b']); // by reference
    expect(await regionsOf('ppc32-sysv', 's')).toEqual(['region1: string of s', 'image: s']);
    expect(await regionsOf('i386-sysv', '(result)')).toEqual(['region1: result temporary', 'stack: result pointer']);
    // The stack grows down: a lower offset is drawn lower (the stack pointer at the bottom).
    const y = (abi: string, arg: string) => page.locator(`svg[data-abi="${abi}"] [data-region="stack"] text[data-arg="${arg}"]`).getAttribute('y').then(Number);
    expect(await y('i386-sysv', 's')).toBeGreaterThan(await y('i386-sysv', 'x')); // [sp+4] below [sp+28]
    expect(await y('i386-sysv', '(result)')).toBeGreaterThan(await y('i386-sysv', 's')); // [sp+0] lowest
  });

  it('gives each argument one colour in every column and picture; hovering one highlights it everywhere', async () => {
    const { page } = opened;
    for (const arg of ARGS) {
      const fills = await page.locator(`svg [data-arg="${arg}"] > rect`).evaluateAll((rs) => rs.map((r) => r.getAttribute('stroke')));
      const row = await page.locator(`#compare tr[data-arg="${arg}"] .swatch`).evaluate((s) => getComputedStyle(s).backgroundColor);
      expect(fills.length).toBeGreaterThanOrEqual(ABI_NAMES.length);
      expect(new Set(fills).size, `${arg}: ${fills.join(' ')}`).toBe(1);
      const hex = fills[0]!;
      expect(row).toBe(`rgb(${[1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)).join(', ')})`);
    }
    const strokes = await Promise.all(ARGS.map((a) => page.locator(`svg [data-arg="${a}"] > rect`).first().getAttribute('stroke')));
    expect(new Set(strokes).size).toBe(ARGS.length); // distinct colours

    await page.hover('#compare tr[data-arg="b"] th');
    const lit = await page.locator('.hl').evaluateAll((es) => es.map((e) => `${e.closest('[data-abi]')?.getAttribute('data-abi') ?? '-'} ${e.getAttribute('data-arg')}`));
    expect(new Set(lit.map((l) => l.split(' ')[1]))).toEqual(new Set(['b']));
    for (const abi of ABI_NAMES) expect(lit.filter((l) => l.startsWith(`${abi} `)).length, abi).toBeGreaterThanOrEqual(3); // cell, picture rows, pointer
    await page.hover('#compare tr[data-arg="x"] th');
    expect(new Set(await page.locator('.hl').evaluateAll((es) => es.map((e) => e.getAttribute('data-arg'))))).toEqual(new Set(['x']));
    await page.mouse.move(0, 0);
  });

  it('saves a screenshot (tests/out/compare.png)', async () => {
    const png = join(OUT, 'compare.png');
    rmSync(png, { force: true });
    await opened.page.screenshot({ path: png, fullPage: true });
    const bytes = readFileSync(png);
    expect(bytes.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    // the whole table, however many conventions: the page's full width (at least the 1400-pixel viewport)
    const width = await opened.page.evaluate(() => document.documentElement.scrollWidth);
    expect(bytes.readUInt32BE(16)).toBe(Math.max(1400, width));
    expect(bytes.readUInt32BE(20)).toBeGreaterThan(600);
  });
});
