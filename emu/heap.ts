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

export class GuestHeap {
  private free: Block[];
  private readonly used = new Map<number, number>();

  constructor(readonly base: number, readonly size: number, private readonly align = 16) {
    this.free = [{ start: base, size }];
  }

  allocate(bytes: number, align = this.align): number {
    if (!Number.isInteger(bytes) || bytes < 0) throw new HeapError(`cannot allocate ${bytes} bytes`);
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
    const size = this.used.get(address);
    if (size === undefined) throw new HeapError(`free of 0x${address.toString(16)}: not an allocated block`);
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
