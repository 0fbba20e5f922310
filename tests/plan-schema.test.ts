// `abiscope explain --json` follows docs/plan.schema.json (generated from the ExplainJson type
// by scripts/json-schemas.mjs, checked here to be current) for every generated signature on
// every convention, with and without --compiled; the schema refuses what is not a plan.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { ABI_NAMES } from '../backends/registry.ts';
import { compiledLines, explainJson } from '../cli/explain.ts';
import { PLAN_FORMAT, planCall } from '../abis/plan.ts';
import { convention } from '../backends/registry.ts';
import { parseDeclarations, parsePrototype, parseType } from '../ctypes/parse.ts';
import { fixtureTypes } from '../sandbox/fixtures.ts';
import { casesFor, loadGenCases } from './gen/cases.ts';
import { run } from './cli-run.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const schema = JSON.parse(readFileSync(join(ROOT, 'docs', 'plan.schema.json'), 'utf8')) as object;
const validate = new Ajv({ allErrors: true, strict: true }).compile(schema);
const GEN = loadGenCases();
const errors = () => JSON.stringify(validate.errors?.slice(0, 3));

describe('docs/plan.schema.json', () => {
  it('is what the types say (scripts/json-schemas.mjs --check plan)', () => {
    expect(() => execFileSync(process.execPath, [join(ROOT, 'scripts', 'json-schemas.mjs'), '--check', 'plan'], { stdio: 'pipe' })).not.toThrow();
  });

  it('names the current format', () => {
    expect(readFileSync(join(ROOT, 'docs', 'plan.schema.json'), 'utf8')).toContain(`"const": "${PLAN_FORMAT}"`);
    expect(readFileSync(join(ROOT, 'docs', 'plan-json.md'), 'utf8')).toContain(PLAN_FORMAT);
  });

  it.each(ABI_NAMES)('every generated signature on %s, with and without --compiled', (abi) => {
    const { scope } = parseDeclarations(fixtureTypes() + GEN.types);
    const cc = convention(abi);
    let n = 0;
    for (const [i, c] of casesFor(GEN, abi).entries()) {
      // What explainJson prints, without parsing the declarations again for every case.
      const plan = planCall(cc, parsePrototype(c.prototype, scope).signature, (c.variadicTypes ?? []).map((t) => parseType(t, scope)));
      const json = JSON.parse(JSON.stringify(i % 4 === 0 ? { ...plan, compiled: compiledLines(plan) } : plan));
      if (!validate(json)) expect.fail(`${c.prototype}: ${errors()}`);
      n++;
    }
    expect(n).toBe(casesFor(GEN, abi).length);
  });

  it('the command line prints what the schema describes', async () => {
    const r = await run('explain', '--abi', 'ppc32-sysv', '--json', '--compiled', 'int printf(const char *, ...)', '--varargs', 'double,int');
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout) as { compiled: unknown[] };
    expect(validate(json), errors()).toBe(true);
    expect(json.compiled.length).toBeGreaterThan(3);
  });

  it('refuses what is not a plan: an unknown operation, a missing field, an extra field, another format', () => {
    const good = JSON.parse(JSON.stringify(explainJson('x86_64-sysv', 'int f(int, double)'))) as Record<string, unknown> & { ops: Record<string, unknown>[] };
    expect(validate(good), errors()).toBe(true);
    const variants: unknown[] = [
      { ...good, ops: [...good.ops, { op: 'jump', to: 0 }] },
      (({ thunk: _t, ...rest }) => rest)(good),
      { ...good, moves: [] },
      { ...good, format: 'abiscope-plan/1' },
      { ...good, ops: good.ops.map((o) => (o.op === 'load' ? { ...o, from: 'rdi' } : o)) },
    ];
    for (const v of variants) expect(validate(v)).toBe(false);
  });
});
