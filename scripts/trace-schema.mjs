// Writes docs/trace.schema.json, the JSON Schema of a trace (the Trace type of
// sandbox/trace-format.ts: what f.trace() returns and `abiscope call --trace-out` writes),
// generated from the TypeScript types by ts-json-schema-generator so that the two cannot drift.
//   node scripts/trace-schema.mjs           writes the file
//   node scripts/trace-schema.mjs --check   exits 1 if the committed file is not what the types say
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createGenerator } from 'ts-json-schema-generator';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'docs', 'trace.schema.json');

function traceSchema() {
  const schema = createGenerator({
    path: join(ROOT, 'sandbox', 'trace-format.ts'),
    type: 'Trace',
    tsconfig: join(ROOT, 'tsconfig.json'),
    skipTypeCheck: true,
    additionalProperties: false,
  }).createSchema('Trace');
  return {
    $schema: schema.$schema,
    $id: 'https://github.com/abiscope/abiscope/docs/trace.schema.json',
    title: 'abiscope trace (abiscope-trace/1)',
    $ref: schema.$ref,
    definitions: schema.definitions,
  };
}

const text = `${JSON.stringify(traceSchema(), null, 2)}\n`;
if (process.argv.includes('--check')) {
  if (readFileSync(OUT, 'utf8') !== text) {
    process.stderr.write('docs/trace.schema.json is not what the types say: run node scripts/trace-schema.mjs\n');
    process.exit(1);
  }
} else {
  writeFileSync(OUT, text);
}
