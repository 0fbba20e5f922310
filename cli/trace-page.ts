// The trace page: one self-contained HTML page (html.ts's shell: no network, inline CSS and JS)
// that shows a trace (docs/trace-page.md): the stack of a call-out as its callee received it
// (trace-frame-svg.ts) with the argument registers' values at the callee's entry, a timeline of
// the nested call-outs and call-backs (trace-timeline.ts), and an instruction stepper in the
// manner of Tenet and QIRA (trace-page-script.ts) that rebuilds the registers at every step from
// the recorded changes and jumps back to the previous write of a register or an address.
// Tests and scripts find things by data-arg, data-reg, data-step, data-call, data-region.
import { el, join, page, paletteColor, type Html } from './html.ts';
import { argColor } from './frame-svg.ts';
import { REGION_FILL, traceFrameSvg } from './trace-frame-svg.ts';
import { timelineSvg } from './trace-timeline.ts';
import { TRACE_PAGE_CSS, TRACE_PAGE_SCRIPT } from './trace-page-script.ts';
import { calleeEntry, callSpans, hex, registersBefore, tracedRegister, type CallSpan } from './trace-page-data.ts';
import type { FramePlan } from '../abis/plan.ts';
import type { Trace, TraceCall } from '../sandbox/trace-format.ts';

/**
 * The page of `trace`. `plans` maps the id of each call-out to its frame plan (what the host
 * wrote where); a call-out without one is listed without its picture.
 */
export function tracePage(trace: Trace, plans: Record<number, FramePlan>): string {
  const spans = callSpans(trace);
  const top = trace.calls.find((c) => c.kind === 'call-out' && c.parent === null) ?? trace.calls.find((c) => c.kind === 'call-out');
  const callouts = trace.calls.filter((c) => c.kind === 'call-out' && c.frame);
  const lastSeq = trace.events.at(-1)?.seq ?? 0;
  const body = join([
    el('h1', {}, 'abiscope trace'),
    el('p', {}, el('code', { id: 'signature' }, top?.signature ?? '(no call-out)'), ` on ${trace.abi} (${trace.target}, ${trace.endian}-endian)`),
    el('p', { class: 'note', id: 'counts' },
      `${trace.counts.instructions} instructions, ${trace.counts.memory} memory accesses, ${trace.counts.hostWrites} host writes, ${trace.counts.calls} calls`
      + (trace.truncated ? `; truncated: only the first ${trace.options.maxInstructions} instructions were recorded` : '')
      + (trace.streamed ? '; streamed: the events went elsewhere, this page has none' : '')),

    el('h2', {}, 'The stack at the call'),
    callouts.length > 1
      ? el('p', {}, el('label', { for: 'callout-select' }, 'call-out: '),
        el('select', { id: 'callout-select' }, ...callouts.map((c) => el('option', { value: c.id, selected: c === top }, `#${c.id} ${c.signature}${c.parent === null ? '' : ` (inside #${c.parent})`}`))))
      : null,
    legend(),
    ...callouts.map((c) => frameSection(trace, c, plans[c.id], spans[c.id], c !== top)),

    el('h2', {}, 'Calls'),
    el('p', { class: 'note' }, 'One bar per call-out and call-back, in event order; one lane per thread and nesting depth, coloured by depth. Click a bar to step to its first instruction.'),
    el('div', { id: 'timeline' }, timelineSvg(spans, lastSeq)),

    el('h2', {}, 'Instructions'),
    el('p', { class: 'note' }, 'n, j or ↓: next step; p, k or ↑: previous. Registers are shown after the current instruction (those it changed highlighted); '
      + 'click a register to go back to the last instruction that changed it, a memory access to go back to the previous write of those bytes. '
      + 'A trace records changes only: a register is known from its first change on, and one never changed is not shown.'),
    el('section', { id: 'stepper' },
      el('div', { class: 'controls' },
        el('button', { id: 'step-prev', type: 'button' }, '◀ previous'),
        el('button', { id: 'step-next', type: 'button' }, 'next ▶'),
        el('span', { id: 'step-pos' }), el('span', { id: 'step-msg' })),
      el('div', { class: 'stepper-body' },
        el('div', { id: 'step-list' }),
        el('div', {},
          el('h3', {}, 'registers'), el('div', { id: 'reg-panel' }),
          el('h3', {}, 'memory accesses of this step'), el('div', { id: 'mem-panel' })))),
  ]);
  // The trace goes into the script as a literal: `<` escaped, so no text in it can close the element.
  const data = `const TRACE = ${JSON.stringify(trace).replace(/</g, '\\u003c')};\n`;
  return page({ title: `abiscope trace: ${top?.signature ?? trace.abi}`, css: TRACE_PAGE_CSS, body, script: data + TRACE_PAGE_SCRIPT });
}

function legend(): Html {
  const item = (name: keyof typeof REGION_FILL, text: string) =>
    el('span', {}, el('span', { class: 'swatch', style: `background:${REGION_FILL[name]};border:1px solid #999` }), text);
  return el('p', { class: 'legend' }, item('region 1', 'region 1: copies'), item('region 2', 'region 2: argument pointers'),
    item('register image', 'region 3: register image'), item('stack arguments', 'region 3: stack arguments'), item('canary', 'canary'));
}

/** One call-out: its frame picture and, beside it, every argument where the callee read it with its value at entry. */
function frameSection(trace: Trace, call: TraceCall, plan: FramePlan | undefined, span: CallSpan | undefined, hidden: boolean): Html {
  const frame = call.frame!;
  const entry = span ? calleeEntry(trace, span) : -1;
  // The registers at the callee's first instruction; without it recorded, just before the call's exit is no better: leave them unknown.
  const regs = entry >= 0 ? registersBefore(trace, entry) : new Map<string, string>();
  const color = (i: number) => (plan ? argColor(plan, i) : paletteColor(i));
  const rows = frame.args.flatMap((a, i) => a.locations.map((loc, k) => {
    const reg = tracedRegister(trace, loc);
    // A register the trace never saw change has no recorded value: the snapshot's value column says what the callee read.
    const atEntry = reg ? regs.get(reg) ?? 'unchanged in the trace' : '';
    return el('tr', { 'data-arg': a.name, 'data-loc': loc, 'data-reg': reg, 'data-entry-value': reg ? atEntry : null },
      k === 0 ? el('th', { rowspan: a.locations.length }, el('span', { class: 'swatch', style: `background:${color(i)}` }), a.name, el('div', { class: 'hint' }, a.type)) : null,
      el('td', { class: 'value' }, loc),
      el('td', { class: 'value' }, atEntry),
      k === 0 ? el('td', { class: 'value', rowspan: a.locations.length, title: `bytes ${a.bytes}` }, JSON.stringify(a.value)) : null);
  }));
  const table = el('table', { class: 'entry' },
    el('thead', {}, el('tr', {}, el('th', {}, 'argument'), el('th', {}, 'read from'), el('th', {}, 'register at entry'), el('th', {}, 'value'))),
    el('tbody', {}, ...rows));
  const svg = plan ? traceFrameSvg(call, plan) : null;
  return el('div', { class: 'callout-frame', 'data-call': call.id, hidden },
    el('p', { class: 'note' }, `call-out #${call.id}: ${call.signature}, callee ${call.function}; frame base ${hex(frame.base)}, `
      + `return address ${frame.returnAddressSymbol}${entry >= 0 ? `; registers as at the callee's first instruction (event ${entry})` : ''}`),
    el('div', { class: 'layout' }, svg ?? el('p', { class: 'hint' }, 'no frame plan was given for this call-out'), table));
}
