// Relocation plumbing shared by the per-architecture files (elf-reloc-<arch>.ts): the patched
// place, the values a relocation formula needs (S, A, P, T in psABI terms) and range checks.

import { hex } from './elf-read.ts';

/** The bytes a relocation patches, confined to its section: reads/writes outside it are errors. */
export class Place {
  constructor(
    private readonly view: DataView,
    private readonly at: number, // offset of the place in `view`
    private readonly limit: number, // end of the section in `view` (exclusive)
    private readonly le: boolean,
    private readonly fail: (message: string) => never,
  ) {}
  private check(delta: number, size: number): number {
    const o = this.at + delta;
    if (o < 0 || o + size > this.limit) this.fail(`relocation needs ${size} bytes at +${delta}, past the end of its section`);
    return o;
  }
  read16(delta = 0): number { return this.view.getUint16(this.check(delta, 2), this.le); }
  read32(delta = 0): number { return this.view.getUint32(this.check(delta, 4), this.le); }
  readS32(delta = 0): number { return this.view.getInt32(this.check(delta, 4), this.le); }
  /** Writes the low 16/32 bits of `value` (DataView truncates modulo 2^n). */
  write16(value: number, delta = 0): void { this.view.setUint16(this.check(delta, 2), value, this.le); }
  write32(value: number, delta = 0): void { this.view.setUint32(this.check(delta, 4), value, this.le); }
  write64(value: number, delta = 0): void {
    this.view.setBigUint64(this.check(delta, 8), BigInt.asUintN(64, BigInt(value)), this.le);
  }
}

/** One relocation, with everything its formula needs. Names follow the psABI documents. */
export interface RelocSite {
  readonly type: number;
  readonly name: string; // e.g. 'R_ARM_CALL'
  readonly P: number; // address of the place
  readonly S: number; // symbol address; ARM Thumb functions keep bit 0 set, so S == S' | T
  readonly A: number; // RELA addend; REL relocations read theirs from the place
  readonly rela: boolean;
  readonly thumb: boolean | undefined; // ARM "T" for function symbols; undefined: not a function
  readonly weakUndef: boolean; // undefined weak symbol: S == 0, branches go to the next instruction
  readonly symbol: string; // for messages
  readonly place: Place;
  fail(message: string): never;
}

export type RelocHandler = (site: RelocSite) => void;

export interface RelocArch {
  readonly prefix: string; // 'R_ARM_'
  readonly names: Readonly<Record<number, string>>;
  readonly handlers: ReadonlyMap<number, RelocHandler>;
}

export function relocName(arch: RelocArch, type: number): string {
  const n = arch.names[type];
  return n === undefined ? `${arch.prefix}<unknown>` : arch.prefix + n;
}

/** Sign-extends the low `bits` (<= 32) bits of `value`. */
export function signExtend(value: number, bits: number): number {
  return bits === 32 ? value | 0 : (value << (32 - bits)) >> (32 - bits);
}

/**
 * Overflow check. 'signed': -2^(n-1) <= v < 2^(n-1); 'unsigned': 0 <= v < 2^n;
 * 'either' (a bit field that may hold a signed or unsigned value): -2^(n-1) <= v < 2^n.
 */
export function checkRange(site: RelocSite, value: number, bits: number, kind: 'signed' | 'unsigned' | 'either'): void {
  const lo = kind === 'unsigned' ? 0 : -(2 ** (bits - 1));
  const hi = kind === 'signed' ? 2 ** (bits - 1) : 2 ** bits;
  if (value < lo || value >= hi) {
    const range = `${kind}; range ${hex(lo)}..${hex(hi - 1)}`;
    site.fail(`${site.name} against \`${site.symbol}\` overflows: value ${hex(value)} does not fit in ${bits} bits (${range})`);
  }
}

export function checkAligned(site: RelocSite, value: number, align: number): void {
  if (value % align !== 0) site.fail(`${site.name} against \`${site.symbol}\`: value ${hex(value)} is not a multiple of ${align}`);
}

/** x - (x mod 2^n) for any safe integer, where `&` would truncate to 32 bits. */
export function alignDown(value: number, align: number): number {
  return value - (((value % align) + align) % align);
}
