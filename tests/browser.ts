// Headless Chromium for the tests of abiscope's pages (compare --html, and the trace pages):
// Debian's chromium driven by playwright-core, which ships no browser of its own. A page is
// opened from its file:// URL, as a user opens it, and every console error, uncaught page
// error and attempt to load something over the network is collected, so a test can demand
// that there were none. Without chromium the tests fail, naming the package: a page test that
// skipped itself would let a broken page pass.
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

/** The Debian package that provides the browser (.ci/run installs it). */
export const CHROMIUM_PACKAGE = 'chromium';

/** Where Debian's package puts it; ABISCOPE_CHROMIUM names another executable. */
const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];

/** The Chromium to launch; an error naming the package to install when there is none. */
export function chromiumExecutable(env: NodeJS.ProcessEnv = process.env, candidates: readonly string[] = CANDIDATES): string {
  const wanted = env.ABISCOPE_CHROMIUM;
  if (wanted) {
    if (!existsSync(wanted)) throw new Error(`ABISCOPE_CHROMIUM=${wanted}: no such file`);
    return wanted;
  }
  const found = candidates.find((p) => existsSync(p));
  if (!found) {
    throw new Error(`the page tests need Chromium, not found at ${candidates.join(' or ')}: `
      + `install Debian's package with \`sudo apt-get install -y --no-install-recommends ${CHROMIUM_PACKAGE}\` `
      + '(or set ABISCOPE_CHROMIUM to a Chromium executable)');
  }
  return found;
}

export interface OpenedPage {
  browser: Browser;
  page: Page;
  /** Console messages of type error, uncaught exceptions, failed loads: each as one line. */
  errors: string[];
  /** Every URL the page requested other than its own file (a self-contained page requests none). */
  requests: string[];
  close(): Promise<void>;
}

/** Launches Chromium and opens `file` (a path) in a new page, collecting its errors and requests. */
export async function openPage(file: string, opts: { width?: number; height?: number } = {}): Promise<OpenedPage> {
  // --no-sandbox: the tests run as root in containers, where Chromium's sandbox cannot start.
  const browser = await chromium.launch({ executablePath: chromiumExecutable(), args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage({ viewport: { width: opts.width ?? 1400, height: opts.height ?? 900 } });
    const errors: string[] = [];
    const requests: string[] = [];
    const url = pathToFileURL(file).href;
    page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
    page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
    page.on('requestfailed', (r) => errors.push(`failed to load ${r.url()}: ${r.failure()?.errorText ?? 'unknown error'}`));
    page.on('request', (r) => { if (r.url() !== url) requests.push(r.url()); });
    await page.goto(url, { waitUntil: 'load' });
    return { browser, page, errors, requests, close: () => browser.close() };
  } catch (e) {
    await browser.close();
    throw e;
  }
}
