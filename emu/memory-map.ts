// Where things live in every guest address space. All targets use the low 2 GiB,
// so addresses fit a JS number and a 32-bit pointer alike.

export const PAGE = 0x1000;

export const LAYOUT = {
  /** Host-trap page: fetching any address in it stops the run and reports a trap slot. */
  trapBase: 0x000f_f000,
  trapSlotBytes: 16,
  /** Relocatable objects are placed from here upward. */
  loadBase: 0x0010_0000,
  /** Guest heap for C-side memory (malloc-like allocate/free). */
  heapBase: 0x2000_0000,
  heapSize: 0x0400_0000,
  /** Stacks grow down from here; each has an unmapped guard page below it. */
  stackTop: 0x7ff0_0000,
  stackSize: 0x0080_0000,
  threadStackSize: 0x0010_0000,
} as const;

export const alignUp = (n: number, a: number): number => Math.ceil(n / a) * a;
export const alignDown = (n: number, a: number): number => Math.floor(n / a) * a;

export type Perms = 'r' | 'rw' | 'rx' | 'rwx';

export interface Region { name: string; start: number; end: number; perms: Perms; kind: 'code' | 'data' | 'stack' | 'guard' | 'heap' | 'trap' }
