// Where things live in every guest address space. All targets use the low 2 GiB,
// so addresses fit a JS number and a 32-bit pointer alike.
import { AbiscopeError } from '../errors.ts';

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

/**
 * Regions a machine maps at most. Unicorn 2.0.1 keeps at most 4,096 memory sections per
 * engine and aborts the whole process past it (`phys_section_add` assertion; measured: 4,095
 * one-page regions work, 5,000 abort), and each uc_mem_map takes time growing with the regions
 * there are (measured: 1,000 regions 0.9 s in all, 2,000 6.6 s, 4,000 59 s). A load maps one
 * region per permission run, a thread one stack: 1,024 leave room for hundreds of each.
 */
export const MAX_REGIONS = 1024;

/** Guest memory a machine maps in all, unless its options say otherwise (bytes). */
export const DEFAULT_MEMORY_LIMIT = 1024 * 1024 * 1024;

/** Guest memory could not be mapped: a limit, or a range that is taken. */
export class GuestMemoryError extends AbiscopeError {
  override name = 'GuestMemoryError';
}

export function hexRange(start: number, end: number): string {
  return `[0x${start.toString(16)}, 0x${end.toString(16)})`;
}
