// The guest program ended itself: exit(), abort(), a failed assert(), raise(), a fortify or
// stack-protector check. These are not failures of a JS call-back: they pass through every
// call-back level unchanged (collecting the levels they crossed) and reach the JS code that
// made the outermost call-out. The sandbox stays usable, as after any other error.

import { AbiscopeError } from '../errors.ts';
export abstract class GuestTermination extends AbiscopeError {
  /** The levels it passed through, innermost first ('call-back #2 void (int) called from main+0x1c'). */
  readonly chain: string[] = [];
  constructor(message: string, readonly calledFrom: string) {
    super(message);
  }
  /** The message with where it happened. */
  override toString(): string {
    return `${this.name}: ${this.message} (called from ${this.calledFrom})`;
  }
}

/** exit(status) or _exit(status). */
export class GuestExit extends GuestTermination {
  constructor(readonly status: number, readonly function_: 'exit' | '_exit', calledFrom: string) {
    super(`the guest called ${function_}(${status})`, calledFrom);
    this.name = 'GuestExit';
  }
}

/** abort(), assert(), raise(), __stack_chk_fail, fortify checks, a bad free(). */
export class GuestAbort extends GuestTermination {
  constructor(readonly reason: string, calledFrom: string, readonly assertion?: { expression: string; file: string; line: number; function: string }) {
    super(reason, calledFrom);
    this.name = 'GuestAbort';
  }
}
