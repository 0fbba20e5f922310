// Writes the JSON Schemas of abiscope's JSON formats into docs/, generated from the TypeScript
// types by ts-json-schema-generator so that a format and its schema cannot drift apart:
//   plan   docs/plan.schema.json   `abiscope explain --json` (ExplainJson, cli/explain.ts)
//   trace  docs/trace.schema.json  a trace (Trace, sandbox/trace-format.ts)
//
//   node scripts/json-schemas.mjs [plan|trace ...]           writes the files (default: all)
//   node scripts/json-schemas.mjs --check [plan|trace ...]   exits 1 if a committed file is not what the types say
// tests/plan-schema.test.ts and tests/trace.test.ts run the check; so does .ci/run.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createGenerator } from 'ts-json-schema-generator';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

const SCHEMAS = {
  plan: { source: 'cli/explain.ts', type: 'ExplainJson', out: 'docs/plan.schema.json', title: 'abiscope frame plan (abiscope-plan/2): the output of abiscope explain --json' },
  trace: { source: 'sandbox/trace-format.ts', type: 'Trace', out: 'docs/trace.schema.json', title: 'abiscope trace (abiscope-trace/1)' },
};

function schemaText({ source, type, out, title }) {
  const schema = createGenerator({
    path: join(ROOT, source),
    type,
    tsconfig: join(ROOT, 'tsconfig.json'),
    skipTypeCheck: true,
    additionalProperties: false,
  }).createSchema(type);
  const doc = {
    $schema: schema.$schema,
    $id: `https://github.com/abiscope/abiscope/${out}`,
    title,
    $ref: schema.$ref,
    definitions: schema.definitions,
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

const args = process.argv.slice(2);
const check = args.includes('--check');
const names = args.filter((a) => a !== '--check');
for (const n of names) {
  if (!(n in SCHEMAS)) {
    process.stderr.write(`json-schemas.mjs: unknown schema ${n} (one of ${Object.keys(SCHEMAS).join(', ')})\n`);
    process.exit(64);
  }
}
let stale = false;
for (const name of names.length ? names : Object.keys(SCHEMAS)) {
  const s = SCHEMAS[name];
  const text = schemaText(s);
  const file = join(ROOT, s.out);
  if (!check) writeFileSync(file, text);
  else if (readFileSync(file, 'utf8') !== text) {
    process.stderr.write(`${s.out} is not what the types say: run node scripts/json-schemas.mjs ${name}\n`);
    stale = true;
  }
}
if (stale) process.exit(1);
