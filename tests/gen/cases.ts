// Reads tests/gen/cases.json (written by tests/gen/gen.mjs) for the conformance
// and differential tests: JSON values back to JS (64-bit integers as BigInt).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { JsValue } from '../../layout/values.ts';
import { convention } from '../../backends/registry.ts';

export interface GenCase {
  id: string;
  note?: string;
  prototype: string;
  callee: string;
  caller: string;
  recorder: string;
  args: unknown[];
  variadicTypes?: string[];
  /** Uses __int128: compiled only where abiscope models it (gen_*.c: #ifdef GEN_INT128). */
  int128?: boolean;
  result?: { prototype: string; callee: string; caller: string; recorder: string; expected: unknown };
}

export interface GenCases { types: string; hand: number; random: number; cases: GenCase[] }

/** The cases a convention's fixture build has: those with __int128 only where its data model has it. */
export function casesFor(gen: GenCases, abi: string): GenCase[] {
  const int128 = convention(abi).dataModel.int128;
  return gen.cases.filter((c) => !c.int128 || int128);
}

/** {"$bigint": "-12"} -> -12n, recursively. */
export function revive(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(revive);
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (typeof o.$bigint === 'string' && Object.keys(o).length === 1) return BigInt(o.$bigint);
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, revive(x)]));
  }
  return v;
}

export function loadGenCases(): GenCases {
  const file = join(dirname(fileURLToPath(import.meta.url)), 'cases.json');
  const raw = JSON.parse(readFileSync(file, 'utf8')) as GenCases;
  return { ...raw, cases: raw.cases.map((c) => ({ ...c, args: revive(c.args) as unknown[], result: c.result && { ...c.result, expected: revive(c.result.expected) } })) };
}

/**
 * Compares a decoded value with the expected one, guided by the expected value:
 * integers by value whatever their JS type (long is a BigInt on LP64), floats with
 * Object.is, unions only on the member the expectation names. Returns the paths that differ.
 */
export function diffValues(expected: unknown, got: JsValue | unknown, path = ''): string[] {
  if (Array.isArray(expected)) {
    if (!Array.isArray(got) || got.length !== expected.length) return [`${path}: expected ${show(expected)}, got ${show(got)}`];
    return expected.flatMap((e, i) => diffValues(e, got[i], `${path}[${i}]`));
  }
  if (expected && typeof expected === 'object') {
    if (!got || typeof got !== 'object') return [`${path}: expected ${show(expected)}, got ${show(got)}`];
    return Object.entries(expected).flatMap(([k, e]) => diffValues(e, (got as Record<string, unknown>)[k], `${path}.${k}`));
  }
  if (typeof expected === 'boolean') return got === expected || got === (expected ? 1 : 0) ? [] : [`${path}: expected ${expected}, got ${show(got)}`];
  if (typeof expected === 'bigint' || (typeof expected === 'number' && Number.isInteger(expected) && (typeof got === 'bigint'))) {
    return (typeof got === 'bigint' || typeof got === 'number') && BigInt(got) === BigInt(expected) ? [] : [`${path}: expected ${show(expected)}, got ${show(got)}`];
  }
  return Object.is(got, expected) ? [] : [`${path}: expected ${show(expected)}, got ${show(got)}`];
}

export function show(v: unknown): string {
  return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}n` : x));
}
