// JSON for results: 64-bit integers as decimal strings; NaN, Infinity and -0 kept exactly.
import type { JsValue } from './values.ts';

export type Json = string | number | boolean | null | Json[] | { [k: string]: Json };

export function toJson(v: JsValue): Json {
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return 'NaN';
    if (v === Infinity) return 'Infinity';
    if (v === -Infinity) return '-Infinity';
    if (Object.is(v, -0)) return '-0';
    return v;
  }
  if (Array.isArray(v)) return v.map(toJson);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toJson(x)]));
  return v;
}

/** Arguments from JSON: "NaN", "Infinity", "-Infinity", "-0" become numbers where a number is wanted. */
export function fromJsonArg(v: unknown): unknown {
  if (v === 'NaN') return NaN;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  if (v === '-0') return -0;
  if (Array.isArray(v)) return v.map(fromJsonArg);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fromJsonArg(x)]));
  return v;
}
