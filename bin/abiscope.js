#!/usr/bin/env node
// abiscope command line. TypeScript sources run through tsx's loader.
import { register } from 'tsx/esm/api';

register();
// `abiscope ... | head` closes the pipe early: that is not an error.
process.stdout.on('error', (e) => { if (e.code === 'EPIPE') process.exit(0); throw e; });
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
