// The trace outputs `abiscope call` and `abiscope trace` share: --trace-out (the trace as JSON,
// docs/trace-json.md), --tenet and --chrome-trace (cli/trace-export.ts, docs/trace-exports.md),
// --html (the trace page, cli/trace-page.ts, docs/trace-page.md), and the options of what is recorded.
import { closeSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { UsageError } from '../errors.ts';
import type { Sandbox, TraceRequest } from '../sandbox/sandbox.ts';
import { TraceRecorder } from '../sandbox/trace.ts';
import type { Trace, TraceEvent, TraceOptions } from '../sandbox/trace-format.ts';
import { chromeTrace, tenetLines } from './trace-export.ts';
import { tracePage } from './trace-page.ts';

/** The trace options of `call` and `trace` (commander's names for them). */
export interface TraceCliOptions {
  traceOut?: string;
  tenet?: string;
  chromeTrace?: string;
  /** The trace page (cli/trace-page.ts, docs/trace-page.md). */
  html?: string;
  traceMax?: number;
  traceOnly?: NonNullable<TraceOptions['only']>;
  /** false with --no-trace-memory. */
  traceMemory?: boolean;
  /** false with --no-trace-registers. */
  traceRegisters?: boolean;
}

function parseCount(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n)) throw new InvalidArgumentError('expected a whole number from 0');
  return n;
}

/** Adds the trace options to a command (`call`, `trace`). */
export function addTraceOptions(cmd: Command): Command {
  return cmd
    .option('--trace-out <file>', "write the call's trace as JSON, format abiscope-trace/1 (docs/trace-json.md)")
    .option('--tenet <file>', 'write the trace as a Tenet text trace, for the Tenet trace explorer (docs/trace-exports.md)')
    .option('--chrome-trace <file>', 'write the calls as Chrome trace-event JSON, for Perfetto or chrome://tracing (docs/trace-exports.md)')
    .option('--html <file>', 'write the trace page: the frame, the calls and an instruction stepper, one self-contained HTML file (docs/trace-page.md)')
    .option('--trace-max <n>', 'instruction events recorded at most (default 100000); later ones are counted', parseCount)
    .addOption(new Option('--trace-only <what>', 'instructions recorded: stubs (abiscope\'s code only), callee (the guest\'s only), memory (none: memory accesses only)')
      .choices(['all', 'stubs', 'callee', 'memory']))
    .option('--no-trace-memory', 'record no guest memory accesses')
    .option('--no-trace-registers', 'record no register changes');
}

// ---- files ----

/** A file written in chunks: a trace's lines go out as they come, without one string of it all. */
class FileSink {
  private readonly fd: number;
  private chunks: string[] = [];
  private size = 0;

  constructor(readonly path: string, readonly option: string) {
    try {
      this.fd = openSync(path, 'w');
    } catch (e) {
      throw new UsageError(`${option} ${path}: cannot write the file (${(e as Error).message})`);
    }
  }

  write(text: string): void {
    this.chunks.push(text);
    this.size += text.length;
    if (this.size >= 1 << 16) this.flush();
  }

  private flush(): void {
    if (this.chunks.length) writeSync(this.fd, this.chunks.join(''));
    this.chunks = [];
    this.size = 0;
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }

  /** Closes and deletes the file: there is no trace to put in it. */
  discard(): void {
    this.chunks = [];
    closeSync(this.fd);
    unlinkSync(this.path);
  }
}

/** Where each field of a trace goes in the file: before its events or after them (the compiler checks every field is placed). */
const PART: Record<Exclude<keyof Trace, 'events'>, 'head' | 'tail'> = {
  format: 'head', abi: 'head', target: 'head', endian: 'head', pointerSize: 'head', registers: 'head', options: 'head',
  truncated: 'tail', streamed: 'tail', counts: 'tail', calls: 'tail', initialRegisters: 'tail',
};
const fields = (part: 'head' | 'tail') => (Object.keys(PART) as (keyof typeof PART)[]).filter((k) => PART[k] === part);
const members = (t: Trace, part: 'head' | 'tail') => fields(part).map((k) => `${JSON.stringify(k)}:${JSON.stringify(t[k])}`).join(',');

/**
 * The trace as JSON, one event a line: the header fields, then "events", then the fields known
 * at the end. Events may come as they happen: they are written in `seq` order (a streaming
 * recorder hands over an instruction after the memory accesses it made, once its register
 * changes are known), holding back only the few that come early.
 */
class TraceJsonWriter {
  private next = 0;
  private first = true;
  private readonly early = new Map<number, TraceEvent>();

  constructor(private readonly sink: FileSink, private readonly header: Trace) {
    sink.write(`{${members(header, 'head')},"events":[`);
  }

  event(e: TraceEvent): void {
    if (e.seq !== this.next) {
      this.early.set(e.seq, e);
      return;
    }
    this.put(e);
    for (let w = this.early.get(this.next); w; w = this.early.get(this.next)) {
      this.early.delete(w.seq);
      this.put(w);
    }
  }

  private put(e: TraceEvent): void {
    this.sink.write(`${this.first ? '\n' : ',\n'}${JSON.stringify(e)}`);
    this.first = false;
    this.next = e.seq + 1;
  }

  /** Ends the file with the finished trace's other fields. The file holds every event, so it says `streamed: false`. */
  end(trace: Trace): void {
    const head = members(trace, 'head');
    if (head !== members(this.header, 'head')) throw new Error(`the trace's header changed while it was written: ${members(this.header, 'head')} became ${head}`);
    for (const e of [...this.early.values()].sort((a, b) => a.seq - b.seq)) this.put(e);
    this.early.clear();
    this.sink.write(`\n],${members({ ...trace, streamed: false }, 'tail')}}\n`);
    this.sink.close();
  }
}

/**
 * The trace outputs of one command: what to record, and the files it goes to. The JSON file is
 * streamed (events written as they happen, memory flat) unless something needs the whole trace
 * in memory: the Tenet export, the Chrome export or the terminal view.
 */
export class TraceOutputs {
  private trace_: Trace | undefined;
  private json: FileSink | undefined;
  private stream: TraceJsonWriter | undefined;
  private tenet: FileSink | undefined;
  private chrome: FileSink | undefined;
  private html: FileSink | undefined;

  private constructor(private readonly o: TraceCliOptions, private readonly keep: boolean) {}

  /**
   * The outputs asked for, or undefined when there are none. `view`: the command shows the
   * trace itself (`abiscope trace`), so it is recorded even without a file.
   */
  static from(o: TraceCliOptions, view: boolean): TraceOutputs | undefined {
    const files = o.traceOut !== undefined || o.tenet !== undefined || o.chromeTrace !== undefined || o.html !== undefined;
    const tuned = o.traceMax !== undefined || o.traceOnly !== undefined || o.traceMemory === false || o.traceRegisters === false;
    if (!files && !view) {
      if (tuned) throw new UsageError('--trace-max, --trace-only, --no-trace-memory and --no-trace-registers say what a trace records: give --trace-out, --tenet, --chrome-trace or --html too');
      return undefined;
    }
    if (o.tenet !== undefined && o.traceOnly === 'memory') {
      throw new UsageError('--tenet writes one line per instruction, and --trace-only memory records none: drop one of them');
    }
    return new TraceOutputs(o, view || o.tenet !== undefined || o.chromeTrace !== undefined || o.html !== undefined);
  }

  private get options(): TraceOptions {
    const o = this.o;
    return {
      ...(o.traceMax !== undefined ? { maxInstructions: o.traceMax } : {}),
      ...(o.traceOnly !== undefined ? { only: o.traceOnly } : {}),
      memory: o.traceMemory !== false,
      registers: o.traceRegisters !== false,
    };
  }

  /** What the function is traced with. Opens the files now, so that a path that cannot be written fails before the call. */
  request(sb: Sandbox): TraceRequest {
    const o = this.o;
    try {
      if (o.traceOut !== undefined) this.json = new FileSink(o.traceOut, '--trace-out');
      if (o.tenet !== undefined) this.tenet = new FileSink(o.tenet, '--tenet');
      if (o.chromeTrace !== undefined) this.chrome = new FileSink(o.chromeTrace, '--chrome-trace');
      if (o.html !== undefined) this.html = new FileSink(o.html, '--html');
    } catch (e) {
      for (const f of [this.json, this.tenet, this.chrome, this.html]) f?.discard();
      throw e;
    }
    // A call that fails before it begins (an argument that does not encode) leaves a trace of no call: no trace.
    const onTrace = (t: Trace) => {
      if (t.calls.length) this.trace_ = t;
    };
    if (this.keep || !this.json) return { ...this.options, onTrace };
    // The header of a trace depends on the machine and the options only: an unstarted recorder gives it.
    const stream = new TraceJsonWriter(this.json, new TraceRecorder(sb.machine, sb.abi, this.options).stop());
    this.stream = stream;
    return { ...this.options, onTrace, onEvent: (e) => stream.event(e) };
  }

  /** The finished trace (its events are in the file, not here, when the file was streamed). */
  get trace(): Trace | undefined {
    return this.trace_;
  }

  /**
   * Runs the call and writes the files, also when the call fails (its trace ends with the
   * error). A file that cannot be finished is an error of its own, naming the call's if any.
   */
  around<T>(call: () => T): T {
    let result: T;
    try {
      result = call();
    } catch (e) {
      try {
        this.finish();
      } catch (w) {
        throw new Error(`${(w as Error).message} (after the call failed: ${(e as Error).message})`);
      }
      throw e;
    }
    this.finish();
    return result;
  }

  private finish(): void {
    const t = this.trace_;
    if (!t) {
      for (const f of [this.json, this.tenet, this.chrome, this.html]) f?.discard();
      return;
    }
    if (this.html) {
      // Each call-out's plan is in the trace: the page draws its frames from them.
      const plans = Object.fromEntries(t.calls.flatMap((c) => (c.plan ? [[c.id, c.plan] as const] : [])));
      this.html.write(tracePage(t, plans));
      this.html.close();
    }
    if (this.json) {
      if (this.stream) this.stream.end(t);
      else {
        const w = new TraceJsonWriter(this.json, t);
        for (const e of t.events) w.event(e);
        w.end(t);
      }
    }
    if (this.tenet) {
      for (const line of tenetLines(t)) this.tenet.write(`${line}\n`);
      this.tenet.close();
    }
    if (this.chrome) {
      const c = chromeTrace(t);
      // One event a line: a long trace stays readable and greppable.
      this.chrome.write(`{"displayTimeUnit":${JSON.stringify(c.displayTimeUnit)},"otherData":${JSON.stringify(c.otherData)},"traceEvents":[\n`);
      c.traceEvents.forEach((e, i) => this.chrome!.write(`${i ? ',\n' : ''}${JSON.stringify(e)}`));
      this.chrome.write('\n]}\n');
      this.chrome.close();
    }
  }
}
