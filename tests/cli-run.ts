// Runs the command line as a user would, in this process: main(argv) from cli/main.ts with
// stdout and stderr captured (independent of how bin/abiscope.js starts it).
import { expect } from 'vitest';
import { main } from '../cli/main.ts';

export interface Run { code: number; stdout: string; stderr: string }

/** Runs the command line with `argv`, capturing what it writes. */
export async function run(...argv: string[]): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const text = (chunk: string | Uint8Array) => (typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
  const stdout = process.stdout.write;
  const stderr = process.stderr.write;
  process.stdout.write = ((chunk: string | Uint8Array) => { out.push(text(chunk)); return true; }) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => { err.push(text(chunk)); return true; }) as typeof process.stderr.write;
  let code: number;
  try {
    code = await main(argv);
  } finally {
    process.stdout.write = stdout;
    process.stderr.write = stderr;
  }
  return { code, stdout: out.join(''), stderr: err.join('') };
}

/** The {"result": ...} of a call that must succeed. */
export function resultOf(r: Run): unknown {
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
  return (JSON.parse(r.stdout) as { result: unknown }).result;
}

/** The JSON error of a call that must fail: nothing on stdout, exit 1. */
export function errorOf(r: Run): { type: string; message: string } {
  expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 1, stdout: '' });
  return (JSON.parse(r.stderr) as { error: { type: string; message: string } }).error;
}
