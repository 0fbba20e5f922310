// Reused host memory for the bytes of a call: its frame as it is assembled, the arguments'
// value images, the frame read back after the call. Allocating typed arrays is the dearest
// thing on a call's path here: a fresh ArrayBuffer costs about 2 us, and so does asking a
// small typed array for its `.buffer` (measured on these machines with Node 20), against
// well under 0.1 us for a view on a buffer that exists. A call takes its bytes from the top
// of a stack and gives them back when it is done; a call made while another is assembling
// (a JS getter calling out during encoding) takes the bytes above, so nothing is shared.

/** `size` bytes at `at` of `u8` / `dv` (a view on the scratch buffer, or a buffer of its own when too large). */
export interface ScratchBlock {
  u8: Uint8Array;
  dv: DataView;
  at: number;
}

const ALIGN = 16;

export class Scratch {
  readonly u8: Uint8Array;
  readonly dv: DataView;
  private top = 0;

  constructor(readonly size = 256 * 1024) {
    this.u8 = new Uint8Array(size);
    this.dv = new DataView(this.u8.buffer);
  }

  /** Where the next block starts: give it to release() to give back everything taken after. */
  mark(): number {
    return this.top;
  }

  release(mark: number): void {
    this.top = mark;
  }

  /** `size` bytes, zero-filled or filled with `fill`; a block too large for the scratch gets a buffer of its own. */
  take(size: number, fill = 0): ScratchBlock {
    const at = this.top;
    if (at + size > this.size) {
      const u8 = new Uint8Array(size);
      if (fill) u8.fill(fill);
      return { u8, dv: new DataView(u8.buffer), at: 0 };
    }
    this.top = Math.ceil((at + size) / ALIGN) * ALIGN;
    this.u8.fill(fill, at, at + size);
    return { u8: this.u8, dv: this.dv, at };
  }
}

/**
 * Buffers of one size given out and taken back in any order (a call-back's copy of its thunk
 * block lives while its JS function runs, and call-backs of different guest threads end in
 * any order): a buffer given back is the next one taken.
 */
export class BufferPool {
  private readonly spare: Uint8Array[] = [];

  constructor(readonly size: number, private readonly keep = 64) {}

  take(): Uint8Array {
    return this.spare.pop() ?? new Uint8Array(this.size);
  }

  give(buffer: Uint8Array): void {
    if (buffer.length === this.size && this.spare.length < this.keep) this.spare.push(buffer);
  }
}
