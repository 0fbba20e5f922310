// COFF object reader (the PE/COFF object files x86_64-w64-mingw32-gcc -c writes), producing
// the RawElf structure the ELF linker consumes, so that COFF and ELF objects share one linking
// path (emu/elf-inputs.ts, emu/elf.ts). Facts from Microsoft's "PE Format" document, sections
// "COFF File Header", "Section Table", "COFF Relocations" and "COFF Symbol Table".
//
// The translation:
// - COFF sections 1..N keep their numbers (RawSection index 0 is a null section, as in ELF);
//   unwind tables (.pdata, .xdata), debug sections and linker directives (.drectve,
//   IMAGE_SCN_LNK_INFO / _REMOVE) are kept but not allocated: never loaded, their relocations
//   never read.
// - Symbols (aux records skipped) become RawSymbols 1..M; symbol 0 is the null symbol.
// - COFF relocations are REL-style (the addend is in the place): each one is rewritten as the
//   x86-64 psABI RELA relocation with the same formula, its addend read from the place. These
//   go into synthesized SHT_RELA sections whose ELF64 entries are appended after the file's
//   bytes, so readRelocations reads them like any other.
// - COMDAT sections become SHT_GROUP sections (contents appended the same way), signed by
//   their COMDAT symbol, so duplicate .refptr.* and inline-function copies are dropped as
//   GNU ld drops duplicate groups.
// Every offset read from the file is bounds-checked (ElfReader): a corrupt file ends in an
// ElfError naming the file, and the section and offset where one is concerned.
import {
  ElfReader, ET_REL, hex, SHF_ALLOC, SHF_EXECINSTR, SHF_WRITE, SHN_ABS, SHN_COMMON, SHN_UNDEF,
  SHT_GROUP, SHT_NOBITS, SHT_PROGBITS, SHT_RELA, SHT_SYMTAB, STB_GLOBAL, STB_LOCAL, STB_WEAK,
  STT_FILE, STT_FUNC, STT_NOTYPE, STT_OBJECT, STT_SECTION, type RawElf, type RawSection, type RawSymbol,
} from './elf-read.ts';

/** IMAGE_FILE_MACHINE_AMD64. */
export const COFF_MACHINE_AMD64 = 0x8664;
const FILE_HEADER = 20;
const SECTION_HEADER = 40;
const SYMBOL = 18;
const RELOC = 10;

// Section characteristics
const SCN_CNT_UNINITIALIZED_DATA = 0x80;
const SCN_LNK_INFO = 0x200;
const SCN_LNK_REMOVE = 0x800;
const SCN_LNK_COMDAT = 0x1000;
const SCN_ALIGN_MASK = 0x00f00000;
const SCN_LNK_NRELOC_OVFL = 0x01000000;
const SCN_MEM_EXECUTE = 0x20000000;
const SCN_MEM_WRITE = 0x80000000;

// Storage classes
const CLASS_EXTERNAL = 2;
const CLASS_STATIC = 3;
const CLASS_LABEL = 6;
const CLASS_FILE = 103;
const CLASS_WEAK_EXTERNAL = 105;
/** Complex type "function" in the symbol's Type field (MSB). */
const DT_FUNCTION = 2;
/** COMDAT selection: IMAGE_COMDAT_SELECT_ASSOCIATIVE (linked iff the section it names is). */
const COMDAT_ASSOCIATIVE = 5;

/** AMD64 relocation types, and the name each has in the PE Format document. */
export const AMD64_COFF_RELOC_NAMES: Readonly<Record<number, string>> = {
  0: 'IMAGE_REL_AMD64_ABSOLUTE', 1: 'IMAGE_REL_AMD64_ADDR64', 2: 'IMAGE_REL_AMD64_ADDR32', 3: 'IMAGE_REL_AMD64_ADDR32NB',
  4: 'IMAGE_REL_AMD64_REL32', 5: 'IMAGE_REL_AMD64_REL32_1', 6: 'IMAGE_REL_AMD64_REL32_2', 7: 'IMAGE_REL_AMD64_REL32_3',
  8: 'IMAGE_REL_AMD64_REL32_4', 9: 'IMAGE_REL_AMD64_REL32_5', 10: 'IMAGE_REL_AMD64_SECTION', 11: 'IMAGE_REL_AMD64_SECREL',
  12: 'IMAGE_REL_AMD64_SECREL7', 13: 'IMAGE_REL_AMD64_TOKEN', 14: 'IMAGE_REL_AMD64_SREL32', 15: 'IMAGE_REL_AMD64_PAIR',
  16: 'IMAGE_REL_AMD64_SSPAN32',
};

// The x86-64 psABI types the COFF ones become (same formula once the addend is explicit).
const R_X86_64_NONE = 0;
const R_X86_64_64 = 1;
const R_X86_64_PC32 = 2;
const R_X86_64_32 = 10;

/**
 * One COFF relocation as an ELF one: the psABI type and the addend, from the bytes at the place.
 * REL32_k is relative to the end of the 4-byte field plus k more bytes (an immediate after the
 * displacement): S + A - (P + 4 + k), so A = stored - 4 - k with P the field itself (PC32).
 * Types without a meaning in a statically linked flat image (image-relative ADDR32NB, the
 * section-relative SECREL/SECTION forms of debug info) are refused: they only occur in sections
 * abiscope does not load.
 */
function translate(type: number, stored: (bytes: 4 | 8) => number): { type: number; addend: number } | undefined {
  switch (type) {
    case 0: return { type: R_X86_64_NONE, addend: 0 };
    case 1: return { type: R_X86_64_64, addend: stored(8) };
    case 2: return { type: R_X86_64_32, addend: stored(4) };
    case 4: case 5: case 6: case 7: case 8: case 9:
      return { type: R_X86_64_PC32, addend: stored(4) - 4 - (type - 4) };
    default: return undefined;
  }
}

/** True for an AMD64 COFF object (machine field 0x8664; COFF objects have no magic number). */
export function isCoffAmd64(bytes: Uint8Array): boolean {
  return bytes.length >= FILE_HEADER && bytes[0] === 0x64 && bytes[1] === 0x86;
}

interface CoffSection { raw: RawSection; relocAt: number; relocCount: number; characteristics: number }

const utf8 = new TextDecoder('utf-8');

/** Parses a COFF object into the RawElf form (see the header comment). */
export function readCoff(bytes: Uint8Array, file?: string): RawElf {
  const r: ElfReader = new ElfReader(bytes, true, true, file);
  r.need(0, FILE_HEADER, 'COFF file header');
  const machine = r.u16(0);
  if (machine !== COFF_MACHINE_AMD64) r.fail(`COFF machine ${hex(machine)} is not supported: abiscope reads AMD64 (0x8664) COFF objects`);
  const nsections = r.u16(2);
  const symtabAt = r.u32(8);
  const nsymbols = r.u32(12);
  const optional = r.u16(16);
  if (optional !== 0) r.fail(`COFF optional header of ${optional} bytes: this is an image (.exe/.dll), not an object file`);
  r.need(FILE_HEADER, nsections * SECTION_HEADER, 'COFF section table');
  if (nsymbols > 0) r.need(symtabAt, nsymbols * SYMBOL, 'COFF symbol table');
  // The string table follows the symbol table; its first word is its size, the word included.
  const strAt = symtabAt + nsymbols * SYMBOL;
  const strSize = nsymbols > 0 && strAt + 4 <= bytes.length ? r.u32(strAt) : 0;
  if (strSize > 0) r.need(strAt, strSize, 'COFF string table');
  const longName = (offset: number, what: string): string => {
    if (offset < 4 || offset >= strSize) r.fail(`${what}: name offset ${hex(offset)} is outside the string table (size ${hex(strSize)})`);
    const end = bytes.indexOf(0, strAt + offset);
    if (end < 0 || end >= strAt + strSize) r.fail(`${what}: name is not NUL-terminated inside the string table`);
    return utf8.decode(bytes.subarray(strAt + offset, end));
  };
  const shortName = (at: number): string => {
    const raw = bytes.subarray(at, at + 8);
    const nul = raw.indexOf(0);
    return utf8.decode(nul < 0 ? raw : raw.subarray(0, nul));
  };

  // ---- sections ----
  const sections: RawSection[] = [{ index: 0, name: '', type: 0, flags: 0, addr: 0, offset: 0, size: 0, link: 0, info: 0, align: 0, entsize: 0 }];
  const coffSections: CoffSection[] = [];
  for (let i = 0; i < nsections; i++) {
    const o = FILE_HEADER + i * SECTION_HEADER;
    let name = shortName(o);
    // "/123": a longer name at offset 123 of the string table.
    if (name.startsWith('/')) {
      const n = Number(name.slice(1));
      if (!Number.isInteger(n)) r.fail(`section ${i + 1}: bad long-name reference '${name}'`);
      name = longName(n, `section ${i + 1}`);
    }
    const size = r.u32(o + 16);
    const dataAt = r.u32(o + 20);
    const characteristics = r.u32(o + 36);
    const nobits = (characteristics & SCN_CNT_UNINITIALIZED_DATA) !== 0 || dataAt === 0;
    if (!nobits) r.need(dataAt, size, `section ${name}`);
    const alignBits = (characteristics & SCN_ALIGN_MASK) >>> 20;
    const loaded = !(characteristics & (SCN_LNK_INFO | SCN_LNK_REMOVE)) && !/^\.(pdata|xdata|debug|drectve)/.test(name);
    let flags = loaded ? SHF_ALLOC : 0;
    if (characteristics & SCN_MEM_WRITE) flags |= SHF_WRITE;
    if (characteristics & SCN_MEM_EXECUTE) flags |= SHF_EXECINSTR;
    const raw: RawSection = {
      index: i + 1, name, type: nobits ? SHT_NOBITS : SHT_PROGBITS, flags, addr: 0, offset: nobits ? 0 : dataAt, size,
      link: 0, info: 0, align: alignBits === 0 ? 1 : 2 ** (alignBits - 1), entsize: 0,
    };
    sections.push(raw);
    let relocAt = r.u32(o + 24);
    let relocCount = r.u16(o + 32);
    // More than 0xffff relocations: the real count is in the first entry, which is not one.
    if (characteristics & SCN_LNK_NRELOC_OVFL) {
      relocCount = r.u32(relocAt) - 1;
      relocAt += RELOC;
    }
    if (relocCount > 0) r.need(relocAt, relocCount * RELOC, `relocations of section ${name}`);
    coffSections.push({ raw, relocAt, relocCount, characteristics });
  }

  // ---- symbols ----
  const symbols: RawSymbol[] = [{ index: 0, name: '', value: 0, size: 0, type: STT_NOTYPE, bind: STB_LOCAL, shndx: SHN_UNDEF }];
  /** COFF symbol table index -> RawSymbol index (aux records have none). */
  const byCoffIndex = new Map<number, number>();
  /** Section number -> its COMDAT selection and associated section (from the section symbol's aux record). */
  const comdat = new Map<number, { selection: number; associated: number; signature?: number }>();
  const weak: { sym: RawSymbol; tag: number }[] = [];
  for (let i = 0; i < nsymbols; i++) {
    const o = symtabAt + i * SYMBOL;
    const name = r.u32(o) === 0 ? longName(r.u32(o + 4), `symbol ${i}`) : shortName(o);
    const value = r.u32(o + 8);
    const section = r.u16(o + 12) << 16 >> 16; // signed: 0 undefined, -1 absolute, -2 debug
    const ctype = r.u16(o + 14);
    const storage = r.u8(o + 16);
    const naux = r.u8(o + 17);
    if (i + naux >= nsymbols) r.fail(`symbol ${i} (${name}): ${naux} auxiliary records run past the symbol table`);
    if (section > nsections) r.fail(`symbol ${i} (${name}): section number ${section} is out of range (${nsections} sections)`);
    const sym: RawSymbol = { index: symbols.length, name, value, size: 0, type: STT_NOTYPE, bind: STB_LOCAL, shndx: SHN_UNDEF };
    if (section > 0) sym.shndx = section;
    else if (section === -1 || section === -2) sym.shndx = SHN_ABS;
    switch (storage) {
      case CLASS_EXTERNAL:
        sym.bind = STB_GLOBAL;
        // An undefined external with a value is a common symbol of that many bytes.
        if (section === 0 && value > 0) {
          sym.shndx = SHN_COMMON;
          sym.size = value;
          sym.value = Math.min(16, 2 ** Math.ceil(Math.log2(value))); // ELF COMMON: value is the alignment
        }
        break;
      case CLASS_WEAK_EXTERNAL:
        sym.bind = STB_WEAK;
        if (naux > 0) weak.push({ sym, tag: r.u32(o + SYMBOL) });
        break;
      case CLASS_STATIC: case CLASS_LABEL: break;
      case CLASS_FILE: {
        // The file name fills the auxiliary records, NUL-padded.
        sym.type = STT_FILE;
        const text = bytes.subarray(o + SYMBOL, o + SYMBOL * (1 + naux));
        const nul = text.indexOf(0);
        sym.name = utf8.decode(nul < 0 ? text : text.subarray(0, nul));
        break;
      }
      default: break; // function begin/end records and the like: local, unnamed for linking purposes
    }
    const sectionSymbol = storage === CLASS_STATIC && naux > 0 && section > 0 && value === 0 && name === sections[section].name;
    if (sectionSymbol) {
      sym.type = STT_SECTION;
      const cs = coffSections[section - 1];
      if (cs.characteristics & SCN_LNK_COMDAT) {
        const aux = o + SYMBOL;
        comdat.set(section, { selection: r.u8(aux + 14), associated: r.u16(aux + 12) });
      }
    } else if (sym.type !== STT_FILE && section > 0) {
      sym.type = (ctype >> 4) === DT_FUNCTION || (sections[section].flags & SHF_EXECINSTR) ? STT_FUNC : STT_OBJECT;
      // "The second symbol" of a COMDAT section, after its section symbol, names it.
      const c = comdat.get(section);
      if (c && c.signature === undefined && storage !== CLASS_STATIC) c.signature = sym.index;
    }
    byCoffIndex.set(i, sym.index);
    symbols.push(sym);
    i += naux;
  }
  // A weak external takes its default definition's place when it has one (GNU as writes
  // `__attribute__((weak))` definitions that way), else it stays a weak undefined reference.
  for (const { sym, tag } of weak) {
    const def = byCoffIndex.get(tag);
    if (def === undefined) r.fail(`weak external ${sym.name}: default symbol ${tag} does not exist`);
    const d = symbols[def];
    if (d.shndx !== SHN_UNDEF) Object.assign(sym, { shndx: d.shndx, value: d.value, type: d.type });
  }

  // COFF symbols have no size: a function runs to the next function of its section, or the
  // section's end (what call chains and disassembly name addresses by).
  const functions = symbols.filter((s) => s.type === STT_FUNC && s.shndx > 0 && s.shndx <= nsections).sort((a, b) => a.shndx - b.shndx || a.value - b.value);
  functions.forEach((f, k) => {
    const next = functions.slice(k + 1).find((g) => g.shndx === f.shndx && g.value > f.value);
    f.size = (next ? next.value : sections[f.shndx].size) - f.value;
  });

  // ---- synthesized tables, appended after the file's bytes ----
  const extra: number[] = [];
  const appendAt = (): number => bytes.length + extra.length;
  const le = (n: bigint, width: number) => { for (let k = 0; k < width; k++) extra.push(Number((n >> BigInt(8 * k)) & 0xffn)); };
  const symtab: RawSection = { index: sections.length, name: '.symtab', type: SHT_SYMTAB, flags: 0, addr: 0, offset: 0, size: 0, link: 0, info: 0, align: 8, entsize: 24 };
  sections.push(symtab);
  for (const cs of coffSections) {
    if (cs.relocCount === 0 || !(cs.raw.flags & SHF_ALLOC)) continue;
    if (cs.raw.type === SHT_NOBITS) r.fail(`section ${cs.raw.name} holds no data but has ${cs.relocCount} relocations`);
    const at = appendAt();
    for (let k = 0; k < cs.relocCount; k++) {
      const o = cs.relocAt + k * RELOC;
      const offset = r.u32(o);
      const coffSym = r.u32(o + 4);
      const type = r.u16(o + 8);
      const where = `relocation ${k} in section ${cs.raw.name} at offset ${hex(offset)}`;
      const sym = byCoffIndex.get(coffSym);
      if (sym === undefined) r.fail(`${where}: symbol index ${coffSym} is not a symbol (out of range or an auxiliary record)`);
      const stored = (width: 4 | 8): number => {
        if (offset + width > cs.raw.size) r.fail(`${where}: its ${width}-byte field runs past the end of the section (${hex(cs.raw.size)} bytes)`);
        return width === 8 ? r.s64(cs.raw.offset + offset) : r.s32(cs.raw.offset + offset);
      };
      const t = translate(type, stored);
      if (!t) {
        const name = AMD64_COFF_RELOC_NAMES[type] ?? `type ${hex(type)}`;
        r.fail(`${where}: ${name} against ${symbols[sym].name || `symbol ${coffSym}`} is not supported in a loaded section`);
      }
      le(BigInt(offset), 8);
      le((BigInt(sym) << 32n) | BigInt(t.type), 8);
      le(BigInt.asUintN(64, BigInt(t.addend)), 8);
    }
    sections.push({ index: sections.length, name: `.rela${cs.raw.name}`, type: SHT_RELA, flags: 0, addr: 0, offset: at, size: cs.relocCount * 24, link: symtab.index, info: cs.raw.index, align: 8, entsize: 24 });
  }
  // COMDAT groups: [GRP_COMDAT, the section, its associative sections].
  for (const [section, c] of comdat) {
    if (c.selection === COMDAT_ASSOCIATIVE) continue;
    if (c.signature === undefined) r.fail(`COMDAT section ${sections[section].name} has no COMDAT symbol`);
    const members = [section, ...[...comdat].filter(([, a]) => a.selection === COMDAT_ASSOCIATIVE && a.associated === section).map(([s]) => s)];
    const at = appendAt();
    le(1n, 4);
    for (const m of members) le(BigInt(m), 4);
    sections.push({ index: sections.length, name: `.group${sections[section].name}`, type: SHT_GROUP, flags: 0, addr: 0, offset: at, size: 4 + 4 * members.length, link: symtab.index, info: c.signature, align: 4, entsize: 4 });
  }
  const all = new Uint8Array(bytes.length + extra.length);
  all.set(bytes);
  all.set(extra, bytes.length);
  return {
    file, bytes: all, class: 64, endian: 'little', machine: 'x86_64', format: 'coff', type: ET_REL, entry: 0, flags: 0,
    sections, segments: [], symtab, symbols,
  };
}
