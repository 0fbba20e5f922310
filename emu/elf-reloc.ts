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
  read8(delta = 0): number { return this.view.getUint8(this.check(delta, 1)); }
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
  /** Address of the GOT entry the linker made for this symbol (GOT-class relocations only, else NaN). */
  readonly G: number;
  /** The GOT's origin, `_GLOBAL_OFFSET_TABLE_` (NaN when the link has no GOT). */
  readonly GOT: number;
  /**
   * The address of a veneer the linker made next to the code: a few instructions that load
   * this site's target into pc. A branch goes there instead when it cannot reach the target
   * itself: too far (each ISA's branch reach), or, on ARM, unable to switch ARM/Thumb state.
   */
  veneer(): number;
  fail(message: string): never;
}

export type RelocHandler = (site: RelocSite) => void;

export interface RelocArch {
  readonly prefix: string; // 'R_ARM_'
  readonly names: Readonly<Record<number, string>>;
  readonly handlers: ReadonlyMap<number, RelocHandler>;
  /** Types whose formula uses G: the linker gives their symbol a GOT entry holding its address. */
  readonly gotTypes?: ReadonlySet<number>;
  /** PowerPC: a GOT entry holds S + A, so symbol and addend together name the entry. */
  readonly gotEntryHasAddend?: boolean;
  /** Relocation types that may appear in a shared object's dynamic relocation tables. */
  readonly dynamic?: ReadonlyMap<number, DynamicRelocation>;
  /** Bytes the GOT starts with, before its origin (PowerPC: the `blrl` that -fpic code calls to find the GOT). */
  readonly gotHeader?: (endian: 'little' | 'big') => Uint8Array;
  /** The GOT must be executable (PowerPC: its header is code). */
  readonly gotExecutable?: boolean;
  /** Branches that may need a veneer, and how veneers look (see RelocSite.veneer). */
  readonly veneers?: VeneerKind;
}

/** The state of the code a branch sits in: its veneer is written for it. */
export type VeneerFrom = 'arm' | 'thumb' | 'ppc';

export interface VeneerKind {
  /** Branch types that may need one, with the state of the code they sit in. */
  readonly types: ReadonlyMap<number, VeneerFrom>;
  /** Bytes of one veneer (a multiple of 4). */
  readonly bytes: number;
  /** How far a branch of this type reaches, either way, in bytes. */
  reach(type: number): number;
  /**
   * ARM: whether the branch needs a veneer to reach a target in Thumb (true) or ARM (false)
   * state; `insn` is its first word (ARM) or halfword (Thumb) as read at the place.
   */
  interworking?(type: number, insn: number, targetThumb: boolean | undefined): boolean;
  /** The veneer's bytes, from code of state `from`, to `target` (ARM: bit 0 selects Thumb). */
  code(from: VeneerFrom, target: number): Uint8Array;
}

/**
 * A dynamic relocation of a shared object, as a loader applies it: 'relative' B + A (B the
 * load base), 'absolute' S + A, 'symbol' S + A with no addend kept at the place (GLOB_DAT,
 * JUMP_SLOT: a REL place holds the lazy-binding value, not an addend), 'pc' S + A - P.
 */
export interface DynamicRelocation { kind: 'none' | 'relative' | 'absolute' | 'symbol' | 'pc'; bits: 32 | 64 }

/** Thread-local storage relocations (every ABI names them so): not supported, said plainly. */
export function isTlsRelocation(name: string): boolean {
  return /TLS|TPREL|TPOFF|DTPMOD|DTPREL|DTPOFF|TLSGD|TLSLD|TLSDESC|GOTTPOFF/.test(name);
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
