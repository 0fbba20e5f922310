#!/usr/bin/env node
// abiscope command line: runs the compiled CLI in dist/ (npm run build), no TypeScript loader.
import { existsSync } from 'node:fs';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('abiscope: dist/ is missing: run `npm run build` (or `npm ci`) in the abiscope directory first\n');
  process.exit(2);
}
// `abiscope ... | head` closes the pipe early: that is not an error.
process.stdout.on('error', (e) => { if (e.code === 'EPIPE') process.exit(0); throw e; });
const cli = await import(main.href);
process.exitCode = await cli.main(process.argv.slice(2));
