// After `tsc -p tsconfig.build.json`: the emitted .d.ts files keep the sources' relative
// `./x.ts` import specifiers (tsc rewrites them to `.js` in JavaScript only, TypeScript issue
// 61037). Point them at the `.js` files that sit beside each declaration, as a package's
// declarations normally do, so that every consumer's resolver finds them.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dist = new URL('../dist/', import.meta.url).pathname;
let files = 0;
for (const entry of readdirSync(dist, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || !entry.name.endsWith('.d.ts')) continue;
  const path = join(entry.parentPath ?? entry.path, entry.name);
  const text = readFileSync(path, 'utf8');
  const fixed = text.replace(/((?:from|import)\s*\(?\s*['"])(\.{1,2}\/[^'"]*?)\.ts(['"])/g, '$1$2.js$3');
  if (fixed !== text) {
    writeFileSync(path, fixed);
    files++;
  }
}
// Quiet on success: `npm pack --json` runs this in prepare and its stdout must stay JSON.
if (files === 0) process.stderr.write("dts-extensions: no declaration file needed rewriting: is dist/ built?\n");
