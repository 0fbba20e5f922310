// Writes docs/img/trace-terminal.png: what `abiscope trace` prints in a colour terminal, for the
// README. The view is rendered with colours forced, its escape codes turned into styled spans
// of a <pre>, and the page photographed in headless Chromium (Debian's chromium, as the page
// tests use).   node --import tsx scripts/terminal-picture.ts
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { createColors } from 'picocolors';
import { Sandbox } from '../sandbox/sandbox.ts';
import { FIXTURE_DIRS, fixtureObjects, fixtureTypes } from '../sandbox/fixtures.ts';
import { traceView } from '../cli/trace-view.ts';
import { chromiumExecutable } from '../tests/browser.ts';

const SGR: Record<number, string> = {
  1: 'font-weight:bold', 2: 'opacity:0.6', 31: 'color:#e06c75', 32: 'color:#98c379', 33: 'color:#e5c07b',
  34: 'color:#61afef', 35: 'color:#c678dd', 36: 'color:#56b6c2', 90: 'color:#7f848e',
};

/** Escape codes to spans: each code opens a span, 0/22/39 close them all (picocolors nests little). */
function ansiToHtml(text: string): string {
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  let open = 0;
  let out = '';
  for (const part of text.split(/(\x1b\[[0-9;]*m)/)) {
    const m = /^\x1b\[([0-9;]*)m$/.exec(part);
    if (!m) { out += esc(part); continue; }
    for (const code of m[1].split(';').map(Number)) {
      if (code === 0 || code === 22 || code === 39) { out += '</span>'.repeat(open); open = 0; }
      else if (SGR[code]) { out += `<span style="${SGR[code]}">`; open++; }
    }
  }
  return out + '</span>'.repeat(open);
}

const abi = 'x86_64-sysv';
const sb = await Sandbox.open(abi);
sb.declare(fixtureTypes());
sb.load(...fixtureObjects(FIXTURE_DIRS[abi][0]));
const { trace } = sb.func('int weigh_int2(int a, int b)').trace([5, 7]);
sb.close();
const view = traceView(trace, createColors(true));
const dir = mkdtempSync(join(tmpdir(), 'abiscope-terminal-'));
const file = join(dir, 'terminal.html');
writeFileSync(file, `<!doctype html><meta charset="utf-8"><body style="margin:0;background:#282c34"><pre style="margin:0;padding:16px;color:#dcdfe4;font:13px/1.35 'DejaVu Sans Mono',monospace;display:inline-block">${ansiToHtml(view)}</pre>`);
const browser = await chromium.launch({ executablePath: chromiumExecutable(), args: ['--no-sandbox'] });
try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 800 } });
  await page.goto(pathToFileURL(file).href);
  await page.locator('pre').screenshot({ path: join(import.meta.dirname, '..', 'docs', 'img', 'trace-terminal.png') });
} finally {
  await browser.close();
}
