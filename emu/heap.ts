// A first-fit allocator for the guest heap. Book-keeping lives on the host side
// so a guest that scribbles over its buffers cannot corrupt the allocator.

import { AbiscopeError } from '../errors.ts';
export class HeapError extends AbiscopeError {
  constructor(message: string) {
    super(message);
    this.name = 'HeapError';
  }
}

interface Block { start: number; size: number }

/** The largest alignment allocate() gives: a page. */
export const MAX_ALIGN = 4096;

/** A value in a message, whatever it is (a user may pass anything from JS). */
function describeNumber(v: unknown): string {
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return typeof v === 'bigint' ? `${v}n` : String(v);
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  return v === null ? 'null' : typeof v;
}

export class GuestHeap {
  private free: Block[];
  private readonly used = new Map<number, number>();

  constructor(readonly base: number, readonly size: number, private readonly align = 16) {
    this.free = [{ start: base, size }];
  }

  /**
   * A block of `bytes` bytes (0 gives a distinct minimal block, as malloc(0) may) at a multiple
   * of `align`. Everything is checked before the free list changes: a refused call leaves the
   * heap as it was. A HeapError for a size (the host's malloc turns it into NULL and ENOMEM)
   * or an alignment out of range.
   */
  allocate(bytes: number, align = this.align): number {
    if (typeof bytes !== 'number' || !Number.isSafeInteger(bytes) || bytes < 0) {
      throw new HeapError(`cannot allocate ${describeNumber(bytes)} bytes: the size must be an integer from 0 to ${this.size} (the heap's size)`);
    }
    if (bytes > this.size) throw new HeapError(`cannot allocate ${bytes} bytes: more than the whole heap (${this.size} bytes)`);
    // A power of two, so that rounding up to it gives an aligned address; 4096 (a page) at most:
    // more would waste most of the 64 MiB heap in padding.
    if (typeof align !== 'number' || !Number.isSafeInteger(align) || align < 1 || align > MAX_ALIGN || 2 ** Math.round(Math.log2(align)) !== align) {
      throw new HeapError(`cannot allocate with alignment ${describeNumber(align)}: the alignment must be a power of two from 1 to ${MAX_ALIGN}`);
    }
    const want = Math.max(1, bytes);
    for (let i = 0; i < this.free.length; i++) {
      const b = this.free[i];
      const start = Math.ceil(b.start / align) * align;
      const size = Math.ceil((start - b.start + want) / this.align) * this.align;
      if (size > b.size) continue;
      const taken = size;
      const rest: Block[] = [];
      if (start > b.start) rest.push({ start: b.start, size: start - b.start });
      if (b.size > taken) rest.push({ start: b.start + taken, size: b.size - taken });
      this.free.splice(i, 1, ...rest);
      this.used.set(start, b.start + taken - start);
      return start;
    }
    throw new HeapError(`guest heap exhausted: no ${bytes} free bytes (heap is ${this.size} bytes)`);
  }

  release(address: number): void {
    const size = typeof address === 'number' ? this.used.get(address) : undefined;
    if (size === undefined) {
      const at = typeof address === 'number' && Number.isSafeInteger(address) && address >= 0 ? `0x${address.toString(16)}` : describeNumber(address);
      throw new HeapError(`free of ${at}: not an allocated block (freed already, never allocated, or not the start of a block)`);
    }
    this.used.delete(address);
    this.free.push({ start: address, size });
    this.free.sort((a, b) => a.start - b.start);
    const merged: Block[] = [];
    for (const b of this.free) {
      const last = merged[merged.length - 1];
      if (last && last.start + last.size === b.start) last.size += b.size;
      else merged.push({ ...b });
    }
    this.free = merged;
  }

  sizeOf(address: number): number | undefined {
    return this.used.get(address);
  }

  get liveBlocks(): number {
    return this.used.size;
  }

  get bytesInUse(): number {
    let n = 0;
    for (const s of this.used.values()) n += s;
    return n;
  }
}
