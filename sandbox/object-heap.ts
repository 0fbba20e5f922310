// A model of a VM's moving object heap, in guest memory: a two-space copying
// collector. Every collection copies each live object to the other space and fills
// the space it left with a poison byte, as memory reused by the allocator would be.
// It exists to show the hazard of the first seed mail: a pointer into such a heap
// kept across a call-back goes stale when the call-back triggers a collection.
import { UsageError } from '../errors.ts';
import { AbiscopeError } from '../errors.ts';
import type { Machine } from '../emu/machine.ts';
import type { MovableObject } from '../layout/values.ts';

/** Byte the collector leaves in the space it evacuated. */
export const EVACUATED = 0xdd;

export class ObjectHeapFullError extends AbiscopeError {
  constructor(readonly needed: number, readonly free: number) {
    super(`object heap: ${needed} bytes requested, ${free} free in the current space`);
    this.name = 'ObjectHeapFullError';
  }
}

interface Placement {
  offset: number;
  size: number;
}

export class MovingObjectHeap {
  private readonly spaces: [number, number];
  private current = 0;
  private top = 0;
  private readonly placements = new Map<HostObject, Placement>();
  /** Collections so far. */
  collections = 0;

  /** Two spaces of `spaceSize` bytes each, from the machine's guest heap. */
  constructor(private readonly machine: Machine, readonly spaceSize: number) {
    const base = machine.heap.allocate(spaceSize * 2, 16);
    this.spaces = [base, base + spaceSize];
  }

  /** A new object holding `init` (a string gets a NUL terminator). */
  allocate(init: Uint8Array | string): HostObject {
    const bytes = typeof init === 'string' ? new TextEncoder().encode(`${init}\0`) : init;
    const size = Math.max(bytes.length, 1);
    const offset = this.bump(size);
    const obj = new HostObject(this, size);
    this.placements.set(obj, { offset, size });
    this.machine.write(this.spaces[this.current] + offset, bytes);
    return obj;
  }

  /** Drops an object: the next collection does not copy it. */
  free(obj: HostObject): void {
    this.placements.delete(obj);
  }

  /** Copies every live object to the other space, in allocation order; poisons the old space. */
  collect(): void {
    const from = this.spaces[this.current];
    const to = this.spaces[1 - this.current];
    let top = 0;
    for (const p of this.placements.values()) {
      this.machine.write(to + top, this.machine.read(from + p.offset, p.size));
      p.offset = top;
      top = align16(top + p.size);
    }
    this.machine.write(from, new Uint8Array(this.spaceSize).fill(EVACUATED));
    this.current = 1 - this.current;
    this.top = top;
    this.collections++;
  }

  /** Where `obj` is now: valid until the next collection. */
  addressOf(obj: HostObject): number {
    const p = this.placements.get(obj);
    if (!p) throw new UsageError('object heap: the object was freed');
    return this.spaces[this.current] + p.offset;
  }

  /** Whether a guest address lies in either space. */
  contains(address: number): boolean {
    return address >= this.spaces[0] && address < this.spaces[0] + 2 * this.spaceSize;
  }

  read(obj: HostObject): Uint8Array {
    return this.machine.read(this.addressOf(obj), obj.size);
  }

  write(obj: HostObject, bytes: Uint8Array): void {
    if (bytes.length > obj.size) throw new UsageError(`object heap: ${bytes.length} bytes do not fit an object of ${obj.size}`);
    this.machine.write(this.addressOf(obj), bytes);
  }

  private bump(size: number): number {
    if (this.top + size > this.spaceSize) throw new ObjectHeapFullError(size, this.spaceSize - this.top);
    const offset = this.top;
    this.top = align16(this.top + size);
    return offset;
  }
}

/** An object of a MovingObjectHeap: passed to a call-out, it is copied, never pointed at. */
export class HostObject implements MovableObject {
  readonly movable = true;

  constructor(readonly heap: MovingObjectHeap, readonly size: number) {}

  /** The object's current address: stale after the next collection. */
  get location(): number {
    return this.heap.addressOf(this);
  }

  contents(): Uint8Array {
    return this.heap.read(this);
  }

  update(bytes: Uint8Array): void {
    this.heap.write(this, bytes);
  }
}

const align16 = (n: number) => Math.ceil(n / 16) * 16;
