// Writes docs/plan.schema.json, the JSON Schema of `abiscope explain --json` (the ExplainJson
// type of cli/explain.ts: the frame plan, plus the compiled stub with --compiled), generated
// from the TypeScript types by ts-json-schema-generator so that the two cannot drift apart.
//   node scripts/plan-schema.mjs           writes the file
//   node scripts/plan-schema.mjs --check   exits 1 if the committed file is not what the types say
// tests/plan-schema.test.ts runs the check and validates explain's output against the schema.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createGenerator } from 'ts-json-schema-generator';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'docs', 'plan.schema.json');

export function planSchema() {
  const schema = createGenerator({
    path: join(ROOT, 'cli', 'explain.ts'),
    type: 'ExplainJson',
    tsconfig: join(ROOT, 'tsconfig.json'),
    skipTypeCheck: true,
    additionalProperties: false,
  }).createSchema('ExplainJson');
  return {
    $schema: schema.$schema,
    $id: 'https://github.com/abiscope/abiscope/docs/plan.schema.json',
    title: 'abiscope frame plan (abiscope-plan/2): the output of abiscope explain --json',
    $ref: schema.$ref,
    definitions: schema.definitions,
  };
}

export const schemaText = () => `${JSON.stringify(planSchema(), null, 2)}\n`;

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const text = schemaText();
  if (process.argv.includes('--check')) {
    const committed = readFileSync(OUT, 'utf8');
    if (committed !== text) {
      process.stderr.write('docs/plan.schema.json is not what the types say: run node scripts/plan-schema.mjs\n');
      process.exit(1);
    }
  } else {
    writeFileSync(OUT, text);
  }
}
