// A guest thread: one guest stack and the chain of call-out frames and call-back
// blocks active on it, outermost first. Each new call-out frame goes below the
// innermost level, so nested calls never overlap, and returns must come back in
// LIFO order per thread. Threads share the CPU: the host switches between them by
// saving and restoring registers around each call-back (see call-chain.ts).
import { AbiscopeError } from '../errors.ts';
import type { GuestStack } from '../emu/machine.ts';
import type { ChainClock } from './limits.ts';

export type LevelKind = 'call-out' | 'call-back';

/** One active level: a call-out's frame, or the block a call-back's thunk pushed. */
export interface FrameLevel {
  readonly kind: LevelKind;
  readonly thread: GuestThread;
  /** 'call-out sort_ints(...)' or 'call-back #3 int (int) called from sort_ints+0x24'. */
  readonly describe: string;
  /** Lowest guest address the level uses: nested frames are allocated below it. */
  low: number;
  /** Highest guest address of the level (a call-out's frame top, canary included). */
  high: number;
  /** Address of the canary above a call-out's frame. */
  canary?: number;
  /** Set when a return out of LIFO order unwound this level while deeper ones were live. */
  abandoned: boolean;
  /** A call-out's capture of what the guest wrote to stdout and stderr while it ran. */
  output?: GuestOutputCapture;
}

/** What guest code printed (printf, puts, fprintf(stderr)...) during one call-out. */
export interface GuestOutput {
  stdout: string;
  stderr: string;
}

/** The bytes written to fd 1 and 2, kept as bytes so that UTF-8 split across writes decodes whole. */
export class GuestOutputCapture {
  private readonly chunks: Record<1 | 2, Uint8Array[]> = { 1: [], 2: [] };
  add(fd: 1 | 2, bytes: Uint8Array): void {
    this.chunks[fd].push(bytes);
  }
  get empty(): boolean {
    return this.chunks[1].length === 0 && this.chunks[2].length === 0;
  }
  result(): GuestOutput {
    const text = (fd: 1 | 2): string => Buffer.concat(this.chunks[fd]).toString('utf8');
    return { stdout: text(1), stderr: text(2) };
  }
}

/** A return that would skip a deeper live level of the same thread. */
export class ReturnOrderError extends AbiscopeError {
  constructor(readonly returning: string, readonly live: string[], readonly thread: string) {
    super(`${returning} on thread '${thread}' returned while deeper level${live.length === 1 ? ' is' : 's are'} still active: ${live.join(' <- ')}; returns must be LIFO`);
    this.name = 'ReturnOrderError';
  }
}

/** The host asked for a frame that does not fit in the thread's stack. */
export class FrameStackExhaustedError extends AbiscopeError {
  constructor(readonly thread: string, readonly needed: number, readonly bottom: number) {
    super(`thread '${thread}': a call frame down to 0x${needed.toString(16)} does not fit above the stack bottom 0x${bottom.toString(16)}; nesting is too deep for this stack`);
    this.name = 'FrameStackExhaustedError';
  }
}

/** A level as the thread keeps it: its description is made when something reads it. */
class Level implements FrameLevel {
  canary?: number;
  abandoned = false;
  output?: GuestOutputCapture;

  constructor(readonly kind: LevelKind, readonly thread: GuestThread, private readonly describeFn: () => string, public low: number, public high: number) {}

  get describe(): string {
    return this.describeFn();
  }
}

export class GuestThread {
  /** Active levels, outermost first. */
  readonly levels: FrameLevel[] = [];
  /** The deadline of the chain running on this thread (its top-level call-out's), while one runs. */
  clock: ChainClock | undefined;
  /** Levels waiting to return until the deeper ones have (the 'wait' policy). */
  private readonly waiting: { level: FrameLevel; resume(): void }[] = [];

  constructor(readonly name: string, readonly stack: GuestStack) {}

  /** Where the next call-out's frame starts: below the innermost level, or at the stack top. */
  get sp(): number {
    const inner = this.levels[this.levels.length - 1];
    return inner ? inner.low : this.stack.top;
  }

  /** No call-out or call-back is active on this thread. */
  get idle(): boolean {
    return this.levels.length === 0;
  }

  /** `describe` is called only when a chain or an error needs the text. */
  enter(kind: LevelKind, describe: () => string, low: number, high: number): FrameLevel {
    const level = new Level(kind, this, describe, low, high);
    this.levels.push(level);
    return level;
  }

  /** Appends guest output to every call-out active on this thread: each one's record shows what happened during it. */
  captureOutput(fd: 1 | 2, bytes: Uint8Array): void {
    // Made on the first write: most calls print nothing.
    for (const l of this.levels) if (l.kind === 'call-out') (l.output ??= new GuestOutputCapture()).add(fd, bytes);
  }

  /** Live levels deeper than `level` (those that would be skipped if it returned now). */
  deeperThan(level: FrameLevel): FrameLevel[] {
    const i = this.levels.indexOf(level);
    return i < 0 ? [] : this.levels.slice(i + 1).filter((l) => !l.abandoned);
  }

  /** Throws ReturnOrderError unless `level` is the innermost live level. */
  checkReturn(level: FrameLevel): void {
    const live = this.deeperThan(level);
    if (live.length) throw new ReturnOrderError(level.describe, live.map((l) => l.describe).reverse(), this.name);
  }

  /** Resolves when no live level is deeper than `level`. */
  whenInnermost(level: FrameLevel): Promise<void> {
    if (!this.deeperThan(level).length) return Promise.resolve();
    return new Promise((resume) => this.waiting.push({ level, resume }));
  }

  /**
   * Removes `level`. A level that still has live levels below it (it was unwound out
   * of order) stays in the chain as abandoned, holding its stack space, until those return.
   */
  leave(level: FrameLevel): void {
    // The usual case: the innermost level returns and nobody waits.
    if (this.levels[this.levels.length - 1] === level && !this.waiting.length) {
      this.levels.pop();
      while (this.levels.length && this.levels[this.levels.length - 1].abandoned) this.levels.pop();
      return;
    }
    const i = this.levels.indexOf(level);
    if (i < 0) return;
    if (this.deeperThan(level).length) {
      level.abandoned = true;
      return;
    }
    this.levels.splice(i);
    while (this.levels.length && this.levels[this.levels.length - 1].abandoned) this.levels.pop();
    for (const w of this.waiting.filter((x) => !this.deeperThan(x.level).length)) {
      this.waiting.splice(this.waiting.indexOf(w), 1);
      w.resume();
    }
  }
}
