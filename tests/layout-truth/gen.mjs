#!/usr/bin/env node
// Layout ground truth from the real cross compilers.
//
// For each target, compile a C file that stores sizeof/_Alignof/offsetof of
// every type and member of types.h (plus the scalars and the signedness of
// char and wchar_t) into a `const unsigned long long layout_table[]`, pull the
// table out of the object file with objcopy, decode it in the target's byte
// order and write <target>.json. tests/layout.test.ts compares those files
// with layout/layout.ts, so the tests need no compiler.
//
//   node tests/layout-truth/gen.mjs           regenerate the JSON files
//   node tests/layout-truth/gen.mjs --check   regenerate in memory, diff against the committed files
//
// types.h is read here with a deliberately small scanner, independent of
// ctypes/parse.ts, so a parser bug cannot hide itself in the ground truth.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** name -> compilers; the first one is the reference, the others must agree with it exactly. */
const TARGETS = {
  i386: ['i686-linux-gnu-gcc'],
  x86_64: ['gcc'],
  arm: ['arm-linux-gnueabihf-gcc', 'arm-linux-gnueabi-gcc'], // armhf and armel: same layout
  ppc32: ['powerpc-linux-gnu-gcc'],
  aarch64: ['aarch64-linux-gnu-gcc'],
  llp64: ['x86_64-w64-mingw32-gcc'], // Windows x64 (COFF object: objcopy of its binutils reads it)
};

/** C spelling -> the ScalarName (or 'pointer') it must match in abis/datamodel.ts. */
const SCALARS = [
  ['_Bool', '_Bool'], ['char', 'char'], ['signed char', 'signed char'], ['unsigned char', 'unsigned char'],
  ['short', 'short'], ['unsigned short', 'unsigned short'], ['int', 'int'], ['unsigned int', 'unsigned int'],
  ['long', 'long'], ['unsigned long', 'unsigned long'], ['long long', 'long long'],
  ['unsigned long long', 'unsigned long long'], ['float', 'float'], ['double', 'double'],
  ['long double', 'long double'], ['wchar_t', 'wchar_t'], ['void *', 'pointer'], ['void (*)(void)', 'pointer'],
];

const PRELUDE = `#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
/* glibc's ssize_t: int on the 32-bit targets, long on the 64-bit ones, like ptrdiff_t. */
typedef __PTRDIFF_TYPE__ ssize_t;
`;

const MAGIC = 0x0102030405060708n;

// ---------------------------------------------------------------------------
// Scanning types.h

/** Remove comments and __attribute__((...)) groups: neither names members. */
function clean(src) {
  src = src.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/\/\/.*$/gm, ' ');
  let out = '';
  for (let i = 0; i < src.length;) {
    const m = /^__attribute(__)?\s*\(/.exec(src.slice(i));
    if (m) {
      let depth = 0;
      let j = i + m[0].length - 1;
      do {
        if (src[j] === '(') depth++;
        else if (src[j] === ')') depth--;
        j++;
      } while (depth > 0 && j < src.length);
      i = j;
      out += ' ';
    } else out += src[i++];
  }
  return out;
}

/** Split on `sep` where no (), [] or {} is open. */
function splitTop(s, sep) {
  const parts = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if ('([{'.includes(ch)) depth++;
    if (')]}'.includes(ch)) depth--;
    if (ch === sep && depth === 0) { parts.push(cur); cur = ''; } else cur += ch;
  }
  parts.push(cur);
  return parts.map((p) => p.trim()).filter(Boolean);
}

/** The text between the first '{' and its matching '}', and what follows. */
function body(s) {
  const open = s.indexOf('{');
  if (open < 0) return undefined;
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    if (s[i] === '{') depth++;
    if (s[i] === '}' && --depth === 0) return { head: s.slice(0, open), inner: s.slice(open + 1, i), tail: s.slice(i + 1) };
  }
  throw new Error(`unbalanced braces in: ${s}`);
}

const NOT_NAMES = new Set(['const', 'volatile', 'restrict', 'struct', 'union', 'enum', 'unsigned', 'signed',
  'char', 'short', 'int', 'long', 'float', 'double', 'void', '_Bool']);

/** The declared name in one declarator: `*p`, `a[3][4]`, `(*fp[3])(int)`, `x`. */
function declaratorName(d) {
  const group = /\(\s*\*+\s*([A-Za-z_]\w*)/.exec(d); // function pointers and pointers to arrays
  if (group) return group[1];
  const ids = d.replace(/\[.*$/s, '').match(/[A-Za-z_]\w*/g) ?? [];
  const name = ids.at(-1);
  if (!name || NOT_NAMES.has(name)) throw new Error(`no member name in '${d}'`);
  return name;
}

/** Member names usable in offsetof: named members, and the members of anonymous struct/union members. */
function memberNames(inner) {
  const names = [];
  for (const decl of splitTop(inner, ';')) {
    const b = body(decl);
    if (b && /^\s*(struct|union)\b[^{]*$/.test(b.head) && !/\w/.test(b.tail)) {
      // A struct/union definition with no declarator: an anonymous member if it has no tag.
      if (/^\s*(struct|union)\s*$/.test(b.head)) names.push(...memberNames(b.inner));
      continue;
    }
    // `struct T { ... } a, b` keeps only the declarators.
    const rest = b ? b.tail : decl;
    // The first declarator still carries the type specifiers (`unsigned long x`): declaratorName copes.
    for (const d of splitTop(rest, ',')) names.push(declaratorName(d));
  }
  return names;
}

/** The checked types of types.h: [{ key: 'struct point' | 'td_char' | 'enum color', fields: [...] }]. */
function scanTypes(src) {
  const types = [];
  for (const decl of splitTop(clean(src), ';')) {
    const b = body(decl);
    if (!b) continue; // typedefs of scalars, forward declarations
    const head = b.head.trim().replace(/\s+/g, ' ');
    let m;
    if ((m = /^typedef (struct|union)( \w+)?$/.exec(head))) {
      const name = b.tail.trim();
      if (!/^[A-Za-z_]\w*$/.test(name)) throw new Error(`unexpected typedef declarator '${name}'`);
      types.push({ key: name, fields: memberNames(b.inner) });
    } else if ((m = /^(struct|union) (\w+)$/.exec(head))) {
      if (b.tail.trim()) throw new Error(`declarators after ${head} are not expected in types.h`);
      types.push({ key: `${m[1]} ${m[2]}`, fields: memberNames(b.inner) });
    } else if ((m = /^enum (\w+)$/.exec(head))) {
      types.push({ key: `enum ${m[1]}`, fields: [] });
    } else {
      throw new Error(`types.h: unexpected declaration '${head} {...}'`);
    }
  }
  return types;
}

// ---------------------------------------------------------------------------
// Generating, compiling and decoding

function cSource(types) {
  const v = [];
  const c = (expr) => v.push(`(unsigned long long)(${expr})`);
  c('0x0102030405060708ULL');
  for (const [spelling] of SCALARS) {
    c(`sizeof(${spelling})`);
    c(`_Alignof(${spelling})`);
    // Alignment inside a struct, which is what layout uses (differs from the standalone one on i386).
    c(`offsetof(struct { char c; __typeof__(${spelling}) x; }, x)`);
  }
  c('(char)-1 < 0');
  c('(wchar_t)-1 < 0');
  for (const t of types) {
    c(`sizeof(${t.key})`);
    c(`_Alignof(${t.key})`);
    for (const f of t.fields) c(`offsetof(${t.key}, ${f})`);
  }
  c('0x0102030405060708ULL');
  return `${PRELUDE}#include "types.h"

__attribute__((section(".layout_table"), used))
const unsigned long long layout_table[] = {
  ${v.join(',\n  ')}
};
`;
}

function objcopyFor(cc) {
  return cc === 'gcc' ? 'objcopy' : cc.replace(/gcc$/, 'objcopy');
}

/** Compile the table for one compiler and return its values. */
function runCompiler(cc, types, dir) {
  const cFile = join(dir, `${cc}.c`);
  const obj = join(dir, `${cc}.o`);
  const bin = join(dir, `${cc}.bin`);
  writeFileSync(cFile, cSource(types));
  // -ffreestanding: the cross compilers have no libc headers, GCC's own stdint.h is enough.
  execFileSync(cc, ['-std=gnu11', '-ffreestanding', '-w', '-O2', '-c', '-fno-pic', `-I${here}`, '-o', obj, cFile],
    { stdio: ['ignore', 'inherit', 'inherit'] });
  execFileSync(objcopyFor(cc), ['-O', 'binary', '-j', '.layout_table', obj, bin]);
  const buf = readFileSync(bin);
  if (buf.length % 8 !== 0 || buf.length < 16) throw new Error(`${cc}: unexpected table size ${buf.length}`);
  const little = buf.readBigUInt64LE(0) === MAGIC;
  if (!little && buf.readBigUInt64BE(0) !== MAGIC) throw new Error(`${cc}: table magic not found`);
  const words = [];
  for (let i = 0; i < buf.length; i += 8) words.push(little ? buf.readBigUInt64LE(i) : buf.readBigUInt64BE(i));
  if (words.at(-1) !== MAGIC) throw new Error(`${cc}: table end marker not found`);
  const values = words.slice(1, -1).map(Number);
  return { endian: little ? 'little' : 'big', values };
}

function decode(target, compilers, endian, values, types) {
  let i = 0;
  const take = () => values[i++];
  const scalars = {};
  for (const [spelling, model] of SCALARS) {
    scalars[spelling] = { model, size: take(), align: take(), structAlign: take() };
  }
  const charSigned = take() === 1;
  const wcharSigned = take() === 1;
  const out = {};
  for (const t of types) {
    const size = take();
    const align = take();
    const fields = {};
    for (const f of t.fields) fields[f] = take();
    out[t.key] = t.fields.length ? { size, align, fields } : { size, align };
  }
  if (i !== values.length) throw new Error(`${target}: decoded ${i} values of ${values.length}`);
  const version = execFileSync(compilers[0], ['-dumpversion']).toString().trim();
  return { target, compilers, gccVersion: version, endian, charSigned, wcharSigned, scalars, types: out };
}

function generate(target, types, dir) {
  const compilers = TARGETS[target];
  const runs = compilers.map((cc) => runCompiler(cc, types, dir));
  for (let k = 1; k < runs.length; k++) {
    if (JSON.stringify(runs[k]) !== JSON.stringify(runs[0])) {
      throw new Error(`${target}: ${compilers[k]} lays out types differently from ${compilers[0]}`);
    }
  }
  return stringify(decode(target, compilers, runs[0].endian, runs[0].values, types));
}

/** JSON with one line per scalar and per type, so that diffs read well. */
function stringify(truth) {
  const lines = Object.entries(truth).map(([k, v]) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return `  ${JSON.stringify(k)}: ${JSON.stringify(v)}`;
    const inner = Object.entries(v).map(([n, x]) => `    ${JSON.stringify(n)}: ${JSON.stringify(x)}`);
    return `  ${JSON.stringify(k)}: {\n${inner.join(',\n')}\n  }`;
  });
  return `{\n${lines.join(',\n')}\n}\n`;
}

function lineDiff(a, b) {
  const x = a.split('\n');
  const y = b.split('\n');
  const out = [];
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if (x[i] !== y[i]) out.push(`  line ${i + 1}:\n    committed: ${x[i] ?? '<none>'}\n    generated: ${y[i] ?? '<none>'}`);
    if (out.length >= 40) { out.push('  ...'); break; }
  }
  return out.join('\n');
}

function main() {
  const check = process.argv.includes('--check');
  const types = scanTypes(readFileSync(join(here, 'types.h'), 'utf8'));
  const dir = mkdtempSync(join(tmpdir(), 'layout-truth-'));
  let failed = false;
  try {
    for (const target of Object.keys(TARGETS)) {
      const json = generate(target, types, dir);
      const file = join(here, `${target}.json`);
      const nFields = types.reduce((n, t) => n + t.fields.length, 0);
      if (check) {
        const committed = existsSync(file) ? readFileSync(file, 'utf8') : '';
        if (committed === json) console.log(`${target}: ok (${types.length} types, ${nFields} members)`);
        else {
          failed = true;
          console.error(`${target}: ${target}.json differs from what ${TARGETS[target].join(', ')} produce:\n${lineDiff(committed, json)}`);
        }
      } else {
        writeFileSync(file, json);
        console.log(`${target}: wrote ${target}.json (${types.length} types, ${nFields} members)`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (failed) process.exit(1);
}

main();
