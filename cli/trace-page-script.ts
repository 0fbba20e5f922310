// The trace page's script and styles (trace-page.ts puts them inline). The script is plain
// browser JavaScript run after the body: it finds the trace in the constant TRACE (prepended by
// trace-page.ts) and runs the instruction stepper, the call-out selector and the timeline's
// clicks. The stepper's list shows a window of rows around the current step, so a trace of
// 100,000 instructions stays quick to step through. It builds every element with createElement
// and textContent, never from markup strings: a trace's text (a symbol, a string argument)
// can hold anything.

export const TRACE_PAGE_CSS = `
.layout { display: flex; gap: 24px; align-items: flex-start; flex-wrap: wrap; }
svg text { font-size: 11px; fill: #1d1d1f; }
svg text.muted { fill: #6b6b70; }
svg text.head { font-weight: 600; font-size: 11px; }
svg .bar { cursor: pointer; }
svg .bar:hover rect, svg .bar:focus rect { stroke-width: 3; }
svg text.bar-label { font-size: 11px; fill: #111; pointer-events: none; }
table.entry td, table.entry th { font-size: 12px; }
table.entry td.value { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace; }
.swatch { display: inline-block; width: 10px; height: 10px; margin-right: 6px; border-radius: 2px; }
.legend span { margin-right: 14px; font-size: 12px; }
#stepper .controls { display: flex; gap: 8px; align-items: center; margin-bottom: 8px; }
#stepper .controls button { font: inherit; padding: 2px 10px; }
#step-msg { color: #a33; font-size: 12px; }
.stepper-body { display: grid; grid-template-columns: minmax(560px, 1fr) minmax(420px, 1fr); gap: 16px; }
#step-list { position: relative; height: 460px; overflow-y: auto; border: 1px solid var(--line); font: 12px/1.5 ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace; }
#step-list .row { padding: 0 6px; white-space: nowrap; display: flex; gap: 10px; }
#step-list .row[data-step] { cursor: pointer; }
#step-list .row:hover { background: #f2f2f6; }
#step-list .row.current { background: #fff0b3; outline: 1px solid #e0c050; }
#step-list .row.call { color: #6b6b70; font-style: italic; background: #f7f7fa; }
#step-list .row.host { color: #225; background: #eef5ee; }
#step-list .addr { color: #6b6b70; min-width: 7em; }
#step-list .owner { flex: 0 0 24em; overflow: hidden; text-overflow: ellipsis; color: #444; }
#step-list .badge { font-size: 10px; padding: 0 4px; border-radius: 3px; align-self: center; }
#step-list .abiscope .badge { background: #dfe8f6; color: #234; }
#step-list .guest .badge { background: #f6e6d6; color: #532; }
#step-list .chg { color: #2a6a2a; }
#reg-panel { display: grid; grid-template-columns: repeat(auto-fill, minmax(190px, 1fr)); gap: 2px 10px; font: 12px/1.5 ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace; }
#reg-panel .reg { cursor: pointer; padding: 0 4px; border-radius: 2px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
#reg-panel .reg:hover { background: #f2f2f6; }
#reg-panel .reg.changed { background: #ffe08a; font-weight: 600; }
#reg-panel .name { color: #6b6b70; display: inline-block; min-width: 4em; }
#mem-panel .mem { cursor: pointer; font-size: 12px; padding: 2px 4px; border-bottom: 1px solid #eee; }
#mem-panel .mem:hover { background: #f2f2f6; }
#mem-panel .mem .access { font-weight: 600; }
#mem-panel .mem.write .access { color: #a33; }
#mem-panel .mem.read .access { color: #236; }
.hint { color: var(--muted); font-size: 12px; }
`;

export const TRACE_PAGE_SCRIPT = `
(() => {
  const T = TRACE;
  const hex = (n) => '0x' + n.toString(16);
  const h = (tag, attrs, ...kids) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) if (v !== null && v !== undefined) e.setAttribute(k, String(v));
    for (const k of kids) if (k !== null && k !== undefined) e.append(k instanceof Node ? k : String(k));
    return e;
  };
  const ev = T.events;
  const bySeq = new Map(ev.map((e, i) => [e.seq, i]));
  // The list's rows, and the steps among them (host writes and instructions; calls are markers).
  const rows = ev.filter((e) => e.kind === 'instruction' || e.kind === 'host-write' || e.kind === 'enter' || e.kind === 'exit');
  const rowOfSeq = new Map(rows.map((e, i) => [e.seq, i]));
  const steps = rows.filter((e) => e.kind === 'instruction' || e.kind === 'host-write');
  const stepOfSeq = new Map(steps.map((e, i) => [e.seq, i]));
  const memBy = new Map();
  for (const e of ev) if (e.kind === 'memory') { if (!memBy.has(e.by)) memBy.set(e.by, []); memBy.get(e.by).push(e); }
  // Per register: its value before its first change (that change's old) and each change, by step.
  const hist = new Map();
  steps.forEach((e, i) => {
    if (e.kind !== 'instruction') return;
    for (const c of e.changes) {
      if (!hist.has(c.reg)) hist.set(c.reg, { init: c.old, at: [], val: [] });
      const r = hist.get(c.reg);
      r.at.push(i); r.val.push(c.new);
    }
  });
  // Registers the trace never saw change have no known value: they are not shown.
  const shown = T.registers.filter((r) => hist.has(r));
  /** The last change of r at a step <= i, as an index into r.at; -1 if none. */
  const lastChange = (r, i) => {
    let lo = 0, hi = r.at.length - 1, k = -1;
    while (lo <= hi) { const m = (lo + hi) >> 1; if (r.at[m] <= i) { k = m; lo = m + 1; } else hi = m - 1; }
    return k;
  };
  const valueAfter = (reg, i) => { const r = hist.get(reg); const k = lastChange(r, i); return k < 0 ? r.init : r.val[k]; };
  const callName = (id) => { const c = T.calls[id]; return c ? c.kind + ' #' + id + ' ' + c.signature : '#' + id; };

  const stepper = document.getElementById('stepper');
  const list = document.getElementById('step-list');
  const regPanel = document.getElementById('reg-panel');
  const memPanel = document.getElementById('mem-panel');
  const pos = document.getElementById('step-pos');
  const msg = document.getElementById('step-msg');
  let cur = 0;

  const go = (i, note) => {
    if (!steps.length) return;
    cur = Math.max(0, Math.min(steps.length - 1, i));
    msg.textContent = note || '';
    render();
  };

  function rowEl(e) {
    const step = stepOfSeq.get(e.seq);
    if (e.kind === 'instruction') {
      const chg = e.changes.map((c) => c.reg + ' ← ' + c.new).join(', ');
      return h('div', { class: 'row ins ' + (e.abiscope ? 'abiscope' : 'guest'), 'data-step': step, 'data-seq': e.seq, 'data-kind': 'instruction', 'data-owner-kind': e.abiscope ? 'abiscope' : 'guest' },
        h('span', { class: 'addr' }, hex(e.address)), h('span', { class: 'badge' }, e.abiscope ? 'abiscope' : 'guest'),
        h('span', { class: 'owner' }, e.owner), h('span', { class: 'text' }, e.text), h('span', { class: 'chg' }, chg));
    }
    if (e.kind === 'host-write') {
      return h('div', { class: 'row host', 'data-step': step, 'data-seq': e.seq, 'data-kind': 'host-write' },
        h('span', { class: 'addr' }, hex(e.address)), h('span', { class: 'text' }, 'host wrote ' + e.what + ' (' + e.size + ' bytes: ' + e.bytes + ')'));
    }
    const text = e.kind === 'enter'
      ? '→ ' + callName(e.call) + (e.args ? ' (' + e.args.map((a) => JSON.stringify(a)).join(', ') + ')' : '')
      : '← ' + callName(e.call) + (e.error !== undefined ? ' failed: ' + e.error : ' returned ' + JSON.stringify(e.result));
    return h('div', { class: 'row call', 'data-seq': e.seq, 'data-kind': e.kind, 'data-call': e.call }, h('span', { class: 'text' }, text));
  }

  function renderList() {
    const ri = rowOfSeq.get(steps[cur].seq);
    const from = Math.max(0, ri - 40), to = Math.min(rows.length, ri + 80);
    list.replaceChildren(...rows.slice(from, to).map(rowEl));
    const el = list.querySelector('.row[data-step="' + cur + '"]');
    if (el) {
      el.classList.add('current');
      el.setAttribute('aria-current', 'step');
      list.scrollTop = Math.max(0, el.offsetTop - list.clientHeight / 3);
    }
  }

  function renderRegs() {
    const e = steps[cur];
    const changed = new Map(e.kind === 'instruction' ? e.changes.map((c) => [c.reg, c]) : []);
    regPanel.replaceChildren(...shown.map((reg) => {
      const v = valueAfter(reg, cur);
      const c = changed.get(reg);
      return h('div', { class: 'reg' + (c ? ' changed' : ''), 'data-reg': reg, 'data-value': v, title: c ? reg + ': ' + c.old + ' → ' + c.new + ' (click: the change before this one)' : reg + ' (click: the last instruction that changed it)' },
        h('span', { class: 'name' }, reg), ' ', h('span', { class: 'value' }, v));
    }));
  }

  function renderMem() {
    const e = steps[cur];
    const accesses = e.kind === 'host-write'
      ? [{ access: 'write', address: e.address, size: e.size, value: e.bytes, touched: e.region + ' (written by the host)', seq: e.seq, host: true }]
      : memBy.get(e.seq) || [];
    if (!accesses.length) { memPanel.replaceChildren(h('div', { class: 'hint' }, 'no memory accesses at this step')); return; }
    memPanel.replaceChildren(...accesses.map((m) => h('div', {
      class: 'mem ' + m.access, 'data-mem-seq': m.seq, 'data-access': m.host ? 'host-write' : m.access, 'data-addr': m.address, 'data-size': m.size,
      title: 'click: the previous write of these bytes',
    }, h('span', { class: 'access' }, m.host ? 'host write' : m.access), ' ' + m.size + ' bytes at ' + hex(m.address) + ' = ' + m.value + ': ' + m.touched)));
  }

  function render() {
    const e = steps[cur];
    stepper.dataset.step = String(cur);
    stepper.dataset.seq = String(e.seq);
    pos.textContent = 'step ' + (cur + 1) + ' of ' + steps.length + (e.kind === 'instruction' ? ': ' + e.owner : ': host write');
    renderList(); renderRegs(); renderMem();
  }

  /** Back to the last instruction before the current step that changed reg. */
  function previousRegWrite(reg) {
    const r = hist.get(reg);
    const k = r ? lastChange(r, cur - 1) : -1;
    if (k < 0) { msg.textContent = 'no earlier change of ' + reg + ' in the trace (its value ' + (r ? r.init : '?') + ' came from before it)'; return; }
    go(r.at[k], 'jumped to the last change of ' + reg);
  }

  /** Back to the previous write (by an instruction or the host) overlapping [addr, addr+size) before event seq. */
  function previousMemWrite(addr, size, seq) {
    for (let i = (bySeq.get(seq) ?? ev.length) - 1; i >= 0; i--) {
      const e = ev[i];
      const write = (e.kind === 'memory' && e.access === 'write') || e.kind === 'host-write';
      if (!write || e.address >= addr + size || e.address + e.size <= addr) continue;
      const step = e.kind === 'host-write' ? stepOfSeq.get(e.seq) : stepOfSeq.get(e.by);
      if (step === undefined) { msg.textContent = 'the write of ' + hex(addr) + ' was by an instruction the trace did not record'; return; }
      go(step, 'jumped to the previous write of ' + hex(addr));
      return;
    }
    msg.textContent = 'no earlier write of ' + hex(addr) + ' in the trace';
  }

  document.getElementById('step-prev').addEventListener('click', () => go(cur - 1));
  document.getElementById('step-next').addEventListener('click', () => go(cur + 1));
  list.addEventListener('click', (ev1) => {
    const row = ev1.target instanceof Element ? ev1.target.closest('[data-step]') : null;
    if (row) go(Number(row.getAttribute('data-step')));
  });
  regPanel.addEventListener('click', (ev1) => {
    const r = ev1.target instanceof Element ? ev1.target.closest('[data-reg]') : null;
    if (r) previousRegWrite(r.getAttribute('data-reg'));
  });
  memPanel.addEventListener('click', (ev1) => {
    const m = ev1.target instanceof Element ? ev1.target.closest('[data-mem-seq]') : null;
    if (m) previousMemWrite(Number(m.getAttribute('data-addr')), Number(m.getAttribute('data-size')), Number(m.getAttribute('data-mem-seq')));
  });
  document.addEventListener('keydown', (k) => {
    if (k.target instanceof Element && k.target.closest('input, select, textarea')) return;
    if (k.altKey || k.ctrlKey || k.metaKey) return;
    const next = ['ArrowDown', 'j', 'n'].includes(k.key), prev = ['ArrowUp', 'k', 'p'].includes(k.key);
    if (!next && !prev) return;
    k.preventDefault();
    go(cur + (next ? 1 : -1));
  });

  // The call-out selector: one frame picture shown at a time.
  const select = document.getElementById('callout-select');
  const showFrame = (id) => {
    for (const f of document.querySelectorAll('.callout-frame')) f.hidden = f.getAttribute('data-call') !== String(id);
    if (select) select.value = String(id);
  };
  if (select) select.addEventListener('change', () => showFrame(select.value));

  // The timeline: a bar jumps the stepper to the call's first instruction (and shows a call-out's frame).
  const jumpTo = (bar) => {
    const first = Number(bar.getAttribute('data-first-step'));
    const call = bar.getAttribute('data-call');
    if (document.querySelector('.callout-frame[data-call="' + call + '"]')) showFrame(call);
    if (first >= 0 && stepOfSeq.has(first)) go(stepOfSeq.get(first), 'jumped to the first instruction of ' + callName(Number(call)));
    else msg.textContent = 'no instruction of ' + callName(Number(call)) + ' was recorded';
  };
  const timeline = document.getElementById('timeline');
  timeline.addEventListener('click', (e1) => { const b = e1.target instanceof Element ? e1.target.closest('.bar') : null; if (b) jumpTo(b); });
  timeline.addEventListener('keydown', (e1) => { const b = e1.target instanceof Element ? e1.target.closest('.bar') : null; if (b && e1.key === 'Enter') jumpTo(b); });

  if (steps.length) render();
  else { pos.textContent = 'no instructions or host writes were recorded'; }
})();
`;
