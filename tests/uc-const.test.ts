// Every Unicorn number abiscope uses must equal the installed headers' value.
import { describe, expect, it } from 'vitest';
// @ts-expect-error: plain .mjs helper shared with the generator
import { headersPresent, readUnicornConstants } from '../scripts/uc-headers.mjs';
import { UC } from '../emu/unicorn.ts';

describe('Unicorn constants', () => {
  it('the Unicorn headers are installed (libunicorn-dev), so the check below is real', () => {
    expect(headersPresent(), 'install libunicorn-dev to verify constants against the headers').toBe(true);
  });
  it('match the installed headers exactly', () => {
    const fromHeaders = readUnicornConstants() as Record<string, Record<string, number>>;
    for (const [group, table] of Object.entries(UC as unknown as Record<string, Record<string, number>>)) {
      expect(Object.keys(table).length, group).toBeGreaterThan(0);
      expect(table, group).toEqual(fromHeaders[group]);
    }
  });
});
