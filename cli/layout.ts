// `abiscope layout`: sizeof, _Alignof and every member's offset of a C type, as GCC lays it out
// on one convention or, with --abi all, on every convention side by side. Only data models are
// involved: no emulator is opened, so this works without Unicorn.
import { UsageError } from '../errors.ts';
import { pc } from './colors.js';
import { emptyScope, parseDeclarations, parseType, type TypeScope } from '../ctypes/parse.ts';
import type { CType } from '../ctypes/ctypes.ts';
import { typeText } from '../ctypes/type-text.ts';
import { layoutTree, type LayoutNode } from '../layout/query.ts';
import { ABI_NAMES, convention, type AbiName } from '../backends/registry.ts';

export interface LayoutOptions {
  abi: string;
  json?: boolean;
}

/** One convention's layout of the type. */
export interface AbiLayout extends LayoutNode {
  abi: AbiName;
}

/** `--abi x86_64-sysv`, `--abi all` or a comma-separated list (as compare takes). */
export function layoutAbis(text: string): AbiName[] {
  if (text.trim() === 'all') return [...ABI_NAMES];
  const names = text.split(',').map((s) => s.trim());
  for (const n of names) {
    if (!(ABI_NAMES as string[]).includes(n)) {
      throw new UsageError(`--abi ${JSON.stringify(n)}: expected 'all' or one or more of ${ABI_NAMES.join(', ')}, comma-separated`);
    }
  }
  if (new Set(names).size !== names.length) throw new UsageError(`--abi ${JSON.stringify(text)} names a convention twice`);
  return names as AbiName[];
}

/** The index of the last ';' outside braces and parentheses, or -1. */
function lastTopLevelSemicolon(text: string): number {
  let depth = 0;
  let last = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '{' || c === '(' || c === '[') depth++;
    else if (c === '}' || c === ')' || c === ']') depth--;
    else if (c === ';' && depth === 0) last = i;
  }
  return last;
}

/**
 * The type the command line names: a type ('struct S { char c; double d; }', 'long double[2]'),
 * or declarations then a type name ('struct P { int x, y; }; struct P[3]'), or declarations
 * alone ('struct S { ... };'): then the last struct or union they define (else the last typedef).
 */
export function layoutType(text: string, base?: TypeScope): { type: CType; name: string } {
  const cut = lastTopLevelSemicolon(text);
  if (cut < 0) {
    const type = parseType(text, base);
    return { type, name: shortName(text, type) };
  }
  const { scope } = parseDeclarations(text.slice(0, cut + 1), base);
  const rest = text.slice(cut + 1).trim();
  if (rest) return { type: parseType(rest, scope), name: rest };
  // An incomplete one ('struct S;') is taken too: its layout is then the error saying so.
  const records = [...scope.tags].filter(([, t]) => t.kind === 'struct' || t.kind === 'union');
  if (records.length) {
    const [tag, type] = records[records.length - 1];
    return { type, name: `${type.kind} ${tag}` };
  }
  const typedefs = [...scope.typedefs];
  if (typedefs.length) {
    const [name, type] = typedefs[typedefs.length - 1];
    return { type, name };
  }
  throw new UsageError(`the declarations define no struct, union or typedef: give the type to lay out after them, e.g. '${text.trim()} struct S'`);
}

/** 'struct S { char c; }' is shown as 'struct S', 'struct { ... }' as 'struct {...}'; other types as written. */
function shortName(text: string, type: CType): string {
  return type.kind === 'struct' || type.kind === 'union' ? typeText(type) : text.trim();
}

export function layoutJson(text: string, abis: AbiName[]): { type: string; layouts: AbiLayout[] } {
  const { name } = layoutType(text);
  // The type's own node is named as the command line named it. Parsed per convention: size_t and
  // its kin are the target's own (Windows x64: 8 bytes though long is 4).
  return {
    type: name,
    layouts: abis.map((abi) => {
      const dm = convention(abi).dataModel;
      return { abi, ...layoutTree(layoutType(text, emptyScope(dm.typedefs)).type, dm), name };
    }),
  };
}

export function runLayout(text: string, o: LayoutOptions): void {
  const abis = layoutAbis(o.abi);
  const json = layoutJson(text, abis);
  if (o.json) {
    process.stdout.write(`${JSON.stringify(abis.length === 1 ? json.layouts[0] : json, null, 2)}\n`);
    return;
  }
  process.stdout.write(abis.length === 1 ? oneAbiText(json.type, json.layouts[0]) : sideBySideText(json.type, json.layouts));
}

/** A member row's label: indented by depth, the designator offsetof takes (anonymous members by kind). */
function label(n: LayoutNode, depth: number): string {
  const name = n.path || (n.type.startsWith('union') ? '(anonymous union)' : '(anonymous struct)');
  return `${'  '.repeat(depth)}${name}`;
}

/** Every member row, depth first, with its depth below the type. */
function rows(root: LayoutNode): { node: LayoutNode; depth: number }[] {
  const out: { node: LayoutNode; depth: number }[] = [];
  const walk = (n: LayoutNode, depth: number) => {
    for (const f of n.fields ?? []) {
      out.push({ node: f, depth });
      walk(f, depth + 1);
    }
  };
  walk(root, 0);
  return out;
}

function table(head: string[], body: string[][], right: (col: number) => boolean): string {
  const widths = head.map((h, c) => Math.max(h.length, ...body.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]) => r.map((cell, c) => (right(c) ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ').trimEnd();
  return [line(head), ...body.map(line)].join('\n');
}

function arrayNote(n: LayoutNode): string {
  return n.array ? `  (${n.array.length} x ${n.array.elementSize})` : '';
}

/**
 *   struct S on x86_64-sysv: size 16, align 8
 *
 *   offset  size  align  member     type
 *        0     1      1  c          char
 *        1     7         (padding)
 *        8     8      8  d          double
 */
function oneAbiText(name: string, l: AbiLayout): string {
  const body: string[][] = [];
  const padRow = (p: { offset: number; size: number }, depth: number) =>
    body.push([String(p.offset), String(p.size), '', `${'  '.repeat(depth)}(padding)`, '']);
  // Padding rows go where they are: after the member that ends where the padding starts.
  const walk = (n: LayoutNode, depth: number) => {
    const pads = [...(n.padding ?? [])];
    for (const f of n.fields ?? []) {
      while (pads.length && pads[0].offset < f.offset) padRow(pads.shift()!, depth);
      body.push([String(f.offset), String(f.size), String(f.align), label(f, depth), `${f.type}${arrayNote(f)}`]);
      walk(f, depth + 1);
    }
    for (const p of pads) padRow(p, depth);
  };
  walk(l, 0);
  const head = `${name} on ${l.abi}: size ${l.size}, align ${l.align}${arrayNote(l)}\n`;
  if (!body.length) return `${head}${l.fields ? '(no members)\n' : ''}`;
  return `${head}\n${table(['offset', 'size', 'align', 'member', 'type'], body, (c) => c < 3)}\n`;
}

/**
 *   struct S           i386-sysv  x86_64-sysv  ...
 *   size, align        12, 4      16, 8
 *   c         char     0  1/1     0  1/1
 *   d         double   4  8/4     8  8/8
 *
 * A member's cell is `offset  size/align`; a row whose cells differ is marked with '*'.
 */
function sideBySideText(name: string, layouts: AbiLayout[]): string {
  const head = [name, '', ...layouts.map((l) => l.abi), ''];
  const body: string[][] = [['size, align', '', ...layouts.map((l) => `${l.size}, ${l.align}`), differs(layouts.map((l) => `${l.size},${l.align}`))]];
  // Every convention has the same members in the same order: only the numbers differ.
  const perAbi = layouts.map((l) => rows(l));
  perAbi[0].forEach(({ node, depth }, i) => {
    const cells = perAbi.map((r) => `${r[i].node.offset}  ${r[i].node.size}/${r[i].node.align}`);
    body.push([label(node, depth), node.type, ...cells, differs(cells)]);
  });
  return `${table(head, body, () => false)}\n\n${pc.dim('each member: offset  size/align, in bytes; * where the conventions differ')}\n`;
}

function differs(cells: string[]): string {
  return new Set(cells).size > 1 ? '*' : '';
}
