// Every ```ts example of README.md's "Library" and "Call-backs and reentrancy" sections runs
// as written: each block is written to its own .mts file (ESM, so top-level await works),
// with 'abiscope' replaced by this repository's index.ts, and run with `node --import tsx`
// from the repository root (the examples' fixture paths are relative to it).
import { afterAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SECTIONS = ['Library', 'Call-backs and reentrancy'];

/** The ```ts blocks of one `## title` section of the README, in order. */
function tsBlocks(markdown: string, title: string): string[] {
  const start = markdown.indexOf(`\n## ${title}\n`);
  if (start < 0) throw new Error(`README.md has no section '## ${title}'`);
  const next = markdown.indexOf('\n## ', start + 1);
  const section = markdown.slice(start, next < 0 ? undefined : next);
  return [...section.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
}

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const examples = SECTIONS.flatMap((title) => tsBlocks(readme, title).map((code, i) => ({ title, n: i + 1, code })));
const dir = mkdtempSync(join(tmpdir(), 'abiscope-readme-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs one example; resolves with its exit code and what it printed. */
function runExample(code: string, file: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const index = pathToFileURL(join(ROOT, 'index.ts')).href;
  writeFileSync(file, code.replace(/from 'abiscope'/g, `from '${index}'`));
  return new Promise((done) => {
    execFile(process.execPath, ['--import', 'tsx', file], { cwd: ROOT, timeout: 60_000 }, (err, stdout, stderr) => {
      done({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

describe('README examples', () => {
  it('the sections have examples to run', () => {
    expect(examples.map((e) => e.title)).toEqual(expect.arrayContaining(SECTIONS));
  });

  it.each(examples)('$title, example $n, runs as written', async ({ title, n, code }) => {
    const r = await runExample(code, join(dir, `${title.replace(/\W+/g, '-')}-${n}.mts`));
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
  });

  it('a failing example is reported (the check itself works)', async () => {
    const r = await runExample("import { Sandbox } from 'abiscope';\nawait Sandbox.open('no-such-abi');\n", join(dir, 'failing.mts'));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("unknown calling convention 'no-such-abi'");
  });
});
