// What the linker makes itself: the GOT that position-independent code loads addresses from,
// and veneers for branches that cannot reach their target themselves (too far; on ARM, also
// unable to switch ARM/Thumb state). Both are sized before placement (from the relocations
// that will use them) and filled after relocation, when every address is known.

import { sectionBytes, type RawSymbol } from './elf-read.ts';
import type { RelocArch, VeneerFrom, VeneerKind } from './elf-reloc.ts';
import { relocationSections, relocationsOf, type Input } from './elf-inputs.ts';

export const GOT_SYMBOL = '_GLOBAL_OFFSET_TABLE_';

/** One GOT entry: the symbol (and, on PowerPC, addend) whose address it holds. */
export interface GotEntry { input: Input; sym: RawSymbol; addend: number }

export interface SyntheticPlan {
  /** Whether a GOT is needed: GOT-class relocations, or a reference to _GLOBAL_OFFSET_TABLE_. */
  needsGot: boolean;
  /** Entry key (see gotKey) -> index. */
  gotIndex: Map<string, number>;
  gotEntries: GotEntry[];
  /** Bytes before the origin (PowerPC's blrl). */
  gotHeader: Uint8Array;
  gotExecutable: boolean;
  /** Upper bound of veneers the relocations may ask for. */
  veneerSlots: number;
  veneerKind?: VeneerKind;
}

/** Names a symbol across inputs: globals by name, locals by file and index. */
export function symbolKey(input: Input, files: Input[], sym: RawSymbol): string {
  return sym.bind === 0 ? `l:${files.indexOf(input)}:${sym.index}` : `g:${sym.name}`;
}

export function gotKey(arch: RelocArch, input: Input, files: Input[], sym: RawSymbol, addend: number): string {
  return arch.gotEntryHasAddend ? `${symbolKey(input, files, sym)}+${addend}` : symbolKey(input, files, sym);
}

/** What is known of a branch target before placement: its ARM/Thumb state, and its address if outside this link. */
export interface TargetHint { thumb: boolean | undefined; external?: number }

/**
 * `hint` says what is known of a relocation's target; `span` is where this link's code may go
 * (base, and base plus every loaded section's size and alignment): a branch to an address
 * outside the link gets a veneer when some place in the span is out of its reach.
 */
export function planSynthetic(files: Input[], arch: RelocArch, endian: 'little' | 'big', hint: (input: Input, sym: RawSymbol) => TargetHint, span: [number, number]): SyntheticPlan {
  const gotIndex = new Map<string, number>();
  const gotEntries: GotEntry[] = [];
  const veneerKeys = new Set<string>();
  let needsGot = false;
  for (const input of files) {
    for (const { relSec, target } of relocationSections(input)) {
      let code: DataView | undefined;
      for (const r of relocationsOf(input, relSec)) {
        const sym = input.elf.symbols[r.sym];
        if (r.sym !== 0 && sym.name === GOT_SYMBOL) needsGot = true;
        if (arch.gotTypes?.has(r.type)) {
          needsGot = true;
          const key = gotKey(arch, input, files, sym, r.addend ?? 0);
          if (!gotIndex.has(key)) {
            gotIndex.set(key, gotEntries.length);
            gotEntries.push({ input, sym, addend: arch.gotEntryHasAddend ? r.addend ?? 0 : 0 });
          }
        }
        const v = arch.veneers;
        const from = v?.types.get(r.type);
        if (!v || !from || r.sym === 0 || r.offset + 4 > target.size) continue;
        const h = hint(input, sym);
        const far = h.external !== undefined && Math.max(Math.abs(h.external - span[0]), Math.abs(h.external - span[1])) >= v.reach(r.type);
        let interworking = false;
        if (v.interworking && !far) {
          if (!code) {
            const b = sectionBytes(input.elf, target);
            code = new DataView(b.buffer, b.byteOffset, b.byteLength);
          }
          interworking = v.interworking(r.type, from === 'arm' ? code.getUint32(r.offset, true) : code.getUint16(r.offset, true), h.thumb);
        }
        if (far || interworking) veneerKeys.add(`${from}:${symbolKey(input, files, sym)}`);
      }
    }
  }
  return {
    needsGot, gotIndex, gotEntries,
    gotHeader: arch.gotHeader?.(endian) ?? new Uint8Array(0),
    gotExecutable: arch.gotExecutable ?? false,
    veneerSlots: veneerKeys.size,
    veneerKind: arch.veneers,
  };
}

/**
 * The GOT's bytes: the header, one reserved word at the origin (where a dynamic linker would
 * find _DYNAMIC; 0 here), then the entries.
 */
export class GotLayout {
  constructor(readonly address: number, readonly plan: SyntheticPlan, readonly pointerSize: number) {}
  get origin(): number {
    return this.address + this.plan.gotHeader.length;
  }
  get size(): number {
    return this.plan.gotHeader.length + this.pointerSize * (1 + this.plan.gotEntries.length);
  }
  entryAddress(index: number): number {
    return this.origin + this.pointerSize * (1 + index);
  }
  bytes(values: number[], endian: 'little' | 'big'): Uint8Array {
    const out = new Uint8Array(this.size);
    out.set(this.plan.gotHeader, 0);
    const dv = new DataView(out.buffer);
    values.forEach((v, i) => {
      const at = this.entryAddress(i) - this.address;
      if (this.pointerSize === 8) dv.setBigUint64(at, BigInt.asUintN(64, BigInt(v)), endian === 'little');
      else dv.setUint32(at, v >>> 0, endian === 'little');
    });
    return out;
  }
}

/** Veneers handed out by relocation handlers, one per (state, target); undefined when the plan has no room left. */
export class VeneerArea {
  private readonly made = new Map<string, number>();
  readonly code: { address: number; bytes: Uint8Array }[] = [];
  constructor(readonly address: number, readonly slots: number, private readonly kind: VeneerKind) {}
  get size(): number {
    return this.slots * this.kind.bytes;
  }
  get count(): number {
    return this.made.size;
  }
  veneer(from: VeneerFrom, target: number): number | undefined {
    const key = `${from}:${target}`;
    const known = this.made.get(key);
    if (known !== undefined) return known;
    if (this.made.size >= this.slots) return undefined;
    const address = this.address + this.made.size * this.kind.bytes;
    this.made.set(key, address);
    this.code.push({ address, bytes: this.kind.code(from, target) });
    return address;
  }
}
