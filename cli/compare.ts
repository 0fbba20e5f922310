// `abiscope compare`: one prototype planned on several conventions, shown side by side in the
// manner of Compiler Explorer's columns: a row per argument and one for the result, a column
// per convention, each cell saying where the value goes in `explain`'s notation (registers by
// their ABI names, `[sp+N]` from the stack pointer at the call). Also as JSON (docs/compare.md)
// and as a self-contained HTML page with a picture of each frame (frame-svg.ts).
import { writeFileSync } from 'node:fs';
import { UsageError } from '../errors.ts';
import { pc } from './colors.js';
import { planFor, where } from './explain.ts';
import { splitTypeList } from './call.ts';
import { ABI_NAMES, convention, type AbiName } from '../backends/registry.ts';
import type { FramePlan } from '../abis/plan.ts';
import type { SpecialRegister } from '../abis/abi.ts';
import { el, join, page } from './html.ts';
import { argColor, frameSvg, RESULT_ARG } from './frame-svg.ts';

export interface CompareOptions {
  sig: string;
  varargs?: string;
  abi?: string;
  rules?: boolean;
  json?: boolean;
  html?: string;
}

/** Where one argument goes on one convention. */
export interface ArgPlacement {
  index: number;
  name: string;
  type: string;
  variadic: boolean;
  passing: 'value' | 'reference';
  /** The value's pieces (a by-reference argument: the pointer's), in explain's notation. */
  where: string[];
  /** A by-reference argument: where its copy is in region 1. */
  copy: string | null;
  rule: string;
}

export type ResultPlacement =
  | { kind: 'void'; type: 'void' }
  | { kind: 'registers'; type: string; where: string[]; rule: string }
  | {
      kind: 'memory'; type: string;
      /** Where the hidden pointer to the result's temporary is passed. */
      where: string[];
      temporary: string; returnedIn: string | null; calleePops: number; rule: string;
    };

/** One column: a convention's placements, and the plan they come from (the plan is what runs). */
export interface ComparedConvention {
  abi: AbiName;
  signature: string;
  args: ArgPlacement[];
  result: ResultPlacement;
  special: SpecialRegister[];
  plan: FramePlan;
}

const at = (off: number) => `[sp+${off}]`;

/** `--abi a,b`: the conventions in the order given; all of them without the option. */
export function abiList(text: string | undefined): AbiName[] {
  if (text === undefined) return [...ABI_NAMES];
  const names = text.split(',').map((s) => s.trim());
  if (names.some((n) => n === '')) throw new UsageError(`--abi '${text}': expected comma-separated convention names, e.g. --abi ${ABI_NAMES.slice(0, 2).join(',')}`);
  for (const n of names) convention(n); // an unknown name throws UsageError, naming the known ones
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice) throw new UsageError(`--abi names ${twice} twice`);
  return names as AbiName[];
}

/** The prototype planned on each convention (each plan is exactly what a call would run). */
export function compare(sig: string, varargs: string[], abis: readonly AbiName[]): ComparedConvention[] {
  return abis.map((abi) => placements(planFor(abi, sig, varargs)));
}

export function placements(plan: FramePlan): ComparedConvention {
  const args = plan.args.map((a): ArgPlacement => {
    const copy = a.passing === 'reference' && a.pointsTo.frameOffset !== null ? at(a.pointsTo.frameOffset) : null;
    return { index: a.index, name: a.name, type: a.type, variadic: a.variadic, passing: a.passing, where: a.pieces.map(where), copy, rule: a.rule };
  });
  const r = plan.result;
  const result: ResultPlacement = r.kind === 'void' ? { kind: 'void', type: 'void' }
    : r.kind === 'registers' ? { kind: 'registers', type: r.type, where: r.pieces.map(where), rule: r.rule }
      : { kind: 'memory', type: r.type, where: [where(r.pointer)], temporary: at(r.temp), returnedIn: r.returnedIn, calleePops: r.calleePops, rule: r.rule };
  return { abi: plan.abi as AbiName, signature: plan.signature, args, result, special: plan.special, plan };
}

/**
 * A cell's text as phrases that stay whole when a cell wraps (a phrase ends with its
 * separator, so the wrapped lines read as the one-line text does).
 */
export function argPhrases(a: ArgPlacement): string[] {
  if (a.passing === 'reference') {
    return ['by reference:', 'copy in region 1', `at ${a.copy ?? '(per call)'},`, `pointer in ${a.where.join(' + ')}`];
  }
  return a.where.map((w, i) => (i < a.where.length - 1 ? `${w} +` : w));
}

export function resultPhrases(r: ResultPlacement): string[] {
  if (r.kind === 'void') return ['nothing'];
  if (r.kind === 'registers') return r.where.map((w, i) => (i < r.where.length - 1 ? `${w} +` : w));
  const tail = [r.returnedIn ? `returned in ${r.returnedIn}` : '', r.calleePops ? `callee pops ${r.calleePops}` : ''].filter(Boolean);
  return ['in memory:', `hidden ptr in ${r.where[0]},`, `temporary ${r.temporary}${tail.length ? ',' : ''}`,
    ...tail.map((t, i) => (i < tail.length - 1 ? `${t},` : t))];
}

export const specialPhrases = (c: ComparedConvention): string[] =>
  c.special.length ? c.special.map((s, i) => `${s.reg} = ${s.value}${i < c.special.length - 1 ? ',' : ''}`) : ['-'];

/** A row's label: the argument's name and C type (`...` marks a variadic one). */
export const argLabel = (a: ArgPlacement) => ({ name: a.name, type: a.variadic ? `${a.type} (...)` : a.type });

/** Cells wider than this wrap at their phrases: many conventions side by side stay readable. */
const CELL_WIDTH = 22;

/** Phrases packed into lines of at most `width` characters (a longer phrase gets a line of its own). */
export function wrap(phrases: string[], width = CELL_WIDTH): string[] {
  const lines: string[] = [];
  for (const p of phrases) {
    const last = lines.length - 1;
    if (last >= 0 && lines[last].length + 1 + p.length <= width) lines[last] += ` ${p}`;
    else lines.push(p);
  }
  return lines;
}

/** Colours a cell line: stack slots and the convention's registers, so stack and register placements stand apart. */
function paint(line: string, regs: ReadonlySet<string>): string {
  return line.replace(/\[sp\+\d+\]|[A-Za-z_][A-Za-z0-9_]*/g, (m) => (m.startsWith('[') ? pc.yellow(m) : regs.has(m) ? pc.green(m) : m));
}

function registersOf(c: ComparedConvention): Set<string> {
  const regs = new Set<string>(c.special.map((s) => s.reg));
  for (const a of c.plan.args) for (const p of a.pieces) if (p.kind === 'reg') regs.add(p.reg);
  const r = c.plan.result;
  if (r.kind === 'registers') for (const p of r.pieces) if (p.kind === 'reg') regs.add(p.reg);
  if (r.kind === 'memory') {
    if (r.pointer.kind === 'reg') regs.add(r.pointer.reg);
    if (r.returnedIn) regs.add(r.returnedIn);
  }
  return regs;
}

export function compareText(cols: ComparedConvention[], opts: { rules?: boolean } = {}): string {
  const first = cols[0];
  // Rows: the arguments, the result, and (if any convention sets one) the special registers.
  const rows: { name: string; type: string; cells: string[][] }[] = first.args.map((a, i) => ({
    ...argLabel(a), cells: cols.map((c) => wrap(argPhrases(c.args[i]))),
  }));
  rows.push({ name: '(result)', type: first.result.type, cells: cols.map((c) => wrap(resultPhrases(c.result))) });
  if (cols.some((c) => c.special.length)) rows.push({ name: '(also sets)', type: '', cells: cols.map((c) => wrap(specialPhrases(c))) });

  const head = ['argument', 'type', ...cols.map((c) => c.abi)];
  const widths = head.map((h, k) => Math.max(h.length, ...rows.map((r) => {
    if (k === 0) return r.name.length;
    if (k === 1) return r.type.length;
    return Math.max(...r.cells[k - 2].map((l) => l.length));
  })));
  const regs = cols.map(registersOf);
  const gap = '  ';
  const out = [`${pc.bold(first.signature)}${varargsNote(first)}`, ''];
  out.push(head.map((h, k) => pc.bold(h) + ' '.repeat(widths[k] - h.length)).join(gap).trimEnd());
  rows.forEach((r, ri) => {
    const height = Math.max(...r.cells.map((c) => c.length));
    // A wrapped row gets a blank line around it, so that its lines are not read as the next row's.
    if (height > 1 && ri > 0 && out[out.length - 1] !== '') out.push('');
    for (let l = 0; l < height; l++) {
      const cells = [l ? '' : r.name, l ? '' : r.type, ...r.cells.map((c) => c[l] ?? '')];
      // Padding is computed on the plain text, then the text is coloured (escape codes take no columns).
      out.push(cells.map((text, k) => {
        const shown = k === 0 ? pc.bold(text) : k === 1 ? pc.dim(text) : paint(text, regs[k - 2]);
        return text ? shown + ' '.repeat(widths[k] - text.length) : ' '.repeat(widths[k]);
      }).join(gap).trimEnd());
    }
    if (height > 1 && ri < rows.length - 1) out.push('');
  });
  out.push('', pc.dim('[sp+N]: N bytes above the stack pointer at the call; registers by their ABI names.'),
    pc.dim("One convention's whole plan and frame: abiscope explain --abi <abi> '<prototype>'."));
  if (opts.rules) out.push('', ...rulesText(cols));
  out.push('');
  return out.join('\n');
}

function varargsNote(c: ComparedConvention): string {
  const v = c.args.filter((a) => a.variadic);
  return v.length ? pc.dim(`  (variadic arguments: ${v.map((a) => a.type).join(', ')})`) : '';
}

/** The rule that placed each argument and the result, per convention. */
function rulesText(cols: ComparedConvention[]): string[] {
  const width = Math.max(...cols.map((c) => c.abi.length));
  const out = [pc.bold('rules (the ABI rule that placed each value)')];
  const block = (label: string, rule: (c: ComparedConvention) => string) => {
    out.push(label);
    for (const c of cols) out.push(`  ${c.abi.padEnd(width)}  ${rule(c)}`);
  };
  cols[0].args.forEach((a, i) => block(`${pc.bold(a.name)} ${pc.dim(argLabel(a).type)}`, (c) => c.args[i].rule));
  block(`${pc.bold('(result)')} ${pc.dim(cols[0].result.type)}`, (c) => (c.result.kind === 'void' ? '-' : c.result.rule));
  if (cols.some((c) => c.special.length)) block(pc.bold('(also sets)'), (c) => c.special.map((s) => s.why).join('; ') || '-');
  return out;
}

/** What `compare --json` prints (docs/compare.md): one entry per convention, the plan included. */
export function compareJson(cols: ComparedConvention[]): ComparedConvention[] {
  return cols;
}

// --- the page (--html) -------------------------------------------------------------------------
// The table again, a picture of each convention's frame under its column, and the rules. Every
// argument keeps its colour in every column and picture; hovering one highlights it everywhere.
// Tests and scripts find things by `data-abi` (a column, its cells and its picture) and
// `data-arg` (an argument's name, "(result)" for the result).

export function comparePage(cols: ComparedConvention[]): string {
  const first = cols[0];
  const swatch = (color: string) => el('span', { class: 'swatch', style: `background:${color}` });
  const cell = (c: ComparedConvention, arg: string, lines: string[], rule: string) =>
    el('td', { 'data-abi': c.abi, 'data-arg': arg, title: rule }, ...wrap(lines).map((l) => el('div', {}, l)));

  const head = el('tr', {}, el('th', {}, 'argument'), ...cols.map((c) => el('th', { 'data-abi': c.abi }, c.abi)));
  // The C type under the name, not in a column of its own: five frame pictures side by side need the width.
  const label = (color: string, name: string, type: string) => el('th', { class: 'name' }, swatch(color), name, el('div', { class: 'type' }, type));
  const argRows = first.args.map((a, i) => {
    const color = argColor(first.plan, i);
    const { name, type } = argLabel(a);
    return el('tr', { 'data-arg': name, style: `--c:${color}` },
      label(color, name, type),
      ...cols.map((c) => cell(c, name, argPhrases(c.args[i]), c.args[i].rule)));
  });
  const resultColor = argColor(first.plan, -1);
  const resultRow = el('tr', { 'data-arg': RESULT_ARG, style: `--c:${resultColor}` },
    label(resultColor, 'result', first.result.type),
    ...cols.map((c) => cell(c, RESULT_ARG, resultPhrases(c.result), c.result.kind === 'void' ? '' : c.result.rule)));
  const specialRow = cols.some((c) => c.special.length)
    ? el('tr', { class: 'special' }, el('th', {}, 'also sets'),
      ...cols.map((c) => el('td', { 'data-abi': c.abi, title: c.special.map((s) => s.why).join('; ') }, ...wrap(specialPhrases(c)).map((l) => el('div', {}, l)))))
    : null;
  const frames = el('tr', { class: 'frames' }, el('th', {}, 'frame', el('div', { class: 'hint' }, 'stack grows down: higher addresses, and the caller\'s sp, at the top')),
    ...cols.map((c) => el('td', { 'data-abi': c.abi }, frameSvg(c.plan))));

  const rules = el('table', { class: 'rules' },
    el('thead', {}, el('tr', {}, el('th', {}, ''), ...cols.map((c) => el('th', { 'data-abi': c.abi }, c.abi)))),
    el('tbody', {},
      ...first.args.map((a, i) => el('tr', { 'data-arg': a.name }, el('th', {}, a.name), ...cols.map((c) => el('td', { 'data-abi': c.abi }, c.args[i].rule)))),
      el('tr', { 'data-arg': RESULT_ARG }, el('th', {}, 'result'), ...cols.map((c) => el('td', { 'data-abi': c.abi }, c.result.kind === 'void' ? '-' : c.result.rule)))));

  const variadic = first.args.filter((a) => a.variadic).map((a) => a.type);
  const body = join([
    el('h1', {}, 'abiscope compare'),
    el('p', {}, el('code', { id: 'signature' }, first.signature), variadic.length ? ` called with variadic arguments of types ${variadic.join(', ')}` : ''),
    el('p', { class: 'note' }, '[sp+N]: N bytes above the stack pointer at the call instruction; registers by the names the ABI documents use. '
      + 'Hover an argument to find it in every column.'),
    el('table', { id: 'compare' }, el('thead', {}, head), el('tbody', {}, ...argRows, resultRow, specialRow, frames)),
    el('h2', {}, 'Rules'),
    el('p', { class: 'note' }, 'The rule of each convention that placed each value, with the section of its ABI document.'),
    rules,
  ]);
  return page({ title: `abiscope compare: ${first.signature}`, css: CSS, body, script: SCRIPT });
}

const CSS = `
#compare td[data-abi] div { white-space: nowrap; }
tr[data-arg] > th.name { white-space: nowrap; border-left: 4px solid var(--c); }
th .type { color: var(--muted); font-weight: normal; white-space: nowrap; font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace; font-size: 12px; }
.swatch { display: inline-block; width: 10px; height: 10px; margin-right: 6px; border-radius: 2px; }
tr.frames td { padding: 6px; background: #fafafa; }
/* a frame picture shrinks to its column: six conventions and more side by side still fit the page */
tr.frames svg { max-width: 100%; height: auto; }
.hint { font-weight: normal; color: var(--muted); font-size: 12px; }
table.rules td { font-size: 12px; max-width: 260px; }
.hl, tr.hl > * { background: #fff4c2 !important; }
svg .hl rect, svg rect.hl { stroke-width: 3; }
svg text { font-size: 11px; fill: #1d1d1f; }
svg text.muted { fill: #6b6b70; }
svg text.head { font-weight: 600; }
`;

// Hovering anything that names an argument highlights everything that names it.
const SCRIPT = `
(() => {
  let current = null;
  const mark = (name, on) => {
    for (const e of document.querySelectorAll('[data-arg]')) if (e.getAttribute('data-arg') === name) e.classList.toggle('hl', on);
  };
  document.addEventListener('mouseover', (ev) => {
    const t = ev.target instanceof Element ? ev.target.closest('[data-arg]') : null;
    const name = t ? t.getAttribute('data-arg') : null;
    if (name === current) return;
    if (current !== null) mark(current, false);
    current = name;
    if (name !== null) mark(name, true);
  });
})();
`;

export function runCompare(o: CompareOptions): void {
  const abis = abiList(o.abi);
  const cols = compare(o.sig, o.varargs ? splitTypeList(o.varargs) : [], abis);
  if (o.html !== undefined) {
    writeFileSync(o.html, comparePage(cols));
    process.stderr.write(`abiscope: wrote ${o.html}\n`);
  }
  process.stdout.write(o.json ? `${JSON.stringify(compareJson(cols), null, 2)}\n` : compareText(cols, { rules: o.rules === true }));
}
