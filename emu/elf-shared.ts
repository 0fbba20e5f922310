// Shared objects (ET_DYN: `gcc -shared -fPIC -o libmy.so`), loaded the way a dynamic loader
// would, but all at once: the PT_LOAD segments at one base, every dynamic relocation applied
// now (RELATIVE, GLOB_DAT, JUMP_SLOT, absolute; no lazy binding, so the PLT always jumps
// through a filled GOT), imports resolved by name. Field layouts follow the gABI's "Dynamic
// Section", "Symbol Versioning" (GNU) and hash-table chapters.
//
// readSharedObject() reads what the object needs (its imports, DT_NEEDED); linkShared() then
// builds the image once the caller knows where each import lives.

import {
  ElfError, ET_DYN, hex, PF_W, PF_X, PT_LOAD, readElf, readerFor, SHN_UNDEF, STB_LOCAL, STB_WEAK,
  type RawElf, type RawSymbol,
} from './elf-read.ts';
import { relocArch, toElfSymbol, type ElfSymbol, type LinkedImage, type LoadedSegment } from './elf.ts';
import { isTlsRelocation, relocName } from './elf-reloc.ts';

const PAGE = 0x1000;
const PT_DYNAMIC = 2;
const PT_TLS = 7;
const SHT_DYNSYM = 11;
const DT = {
  NULL: 0, NEEDED: 1, PLTRELSZ: 2, HASH: 4, STRTAB: 5, SYMTAB: 6, RELA: 7, RELASZ: 8, RELAENT: 9, STRSZ: 10,
  SYMENT: 11, INIT: 12, SONAME: 14, REL: 17, RELSZ: 18, RELENT: 19, PLTREL: 20, TEXTREL: 22, JMPREL: 23,
  INIT_ARRAY: 25, INIT_ARRAYSZ: 27, FLAGS: 30, RELRSZ: 35, RELR: 36, RELRENT: 37,
  GNU_HASH: 0x6ffffef5, VERSYM: 0x6ffffff0, VERNEED: 0x6ffffffe, VERNEEDNUM: 0x6fffffff, PPC_GOT: 0x70000000,
} as const;
const DF_STATIC_TLS = 0x10;
/** Libraries whose symbols abiscope's runtime stands in for, by name (their versions are not checked). */
const SYSTEM_LIBRARY = /^(libc\.so\.6|libm\.so\.6|libpthread\.so\.0|libdl\.so\.2|librt\.so\.1|libgcc_s\.so\.1|ld-linux[\w.-]*\.so\.\d+|ld\.so\.1)$/;
/** Most symbols a shared object may have: a corrupt hash table must not make us loop for ever. */
const MAX_DYNAMIC_SYMBOLS = 1 << 20;

export interface SharedImport {
  name: string;
  weak: boolean;
  /** The version it was linked against ('GLIBC_2.0') and the library that defines it. */
  version?: { name: string; file: string };
}

export interface SharedObject {
  file: string;
  elf: RawElf;
  soname?: string;
  needed: string[];
  /** Undefined symbols its relocations use. */
  imports: SharedImport[];
  /** Internal: what linkShared needs again. */
  dyn: DynamicInfo;
}

interface DynamicInfo {
  entries: Map<number, number[]>;
  symbols: RawSymbol[];
  versions: (SharedImport['version'] | undefined)[];
  relocations: { offset: number; type: number; sym: number; addend: number | undefined }[];
  /** DT_RELR: addresses (before adding the base) of words that get B added. */
  relr: number[];
  image: { low: number; bytes: Uint8Array };
}

/** The image of the PT_LOAD segments at their link-time addresses (low = first page), for reading dynamic tables. */
function linkTimeImage(elf: RawElf, file: string): { low: number; bytes: Uint8Array } {
  const r = readerFor(elf);
  const loads = elf.segments.filter((p) => p.type === PT_LOAD && p.memsz > 0);
  if (!loads.length) throw new ElfError('the shared object has no PT_LOAD segment', file);
  const low = Math.floor(Math.min(...loads.map((p) => p.vaddr)) / PAGE) * PAGE;
  const high = Math.max(...loads.map((p) => p.vaddr + p.memsz));
  if (high - low > 256 * 1024 * 1024) r.fail(`PT_LOAD segments span ${hex(high - low)} bytes; at most 256 MiB are loaded`);
  const bytes = new Uint8Array(high - low);
  for (const [i, p] of loads.entries()) {
    if (p.filesz > p.memsz) r.fail(`PT_LOAD ${i}: file size ${hex(p.filesz)} exceeds memory size ${hex(p.memsz)}`);
    r.need(p.offset, p.filesz, `PT_LOAD ${i}`);
    bytes.set(elf.bytes.subarray(p.offset, p.offset + p.filesz), p.vaddr - low);
  }
  return { low, bytes };
}

/** Reads a shared object's dynamic section, symbols, versions and relocations. */
export function readSharedObject(bytes: Uint8Array, file: string): SharedObject {
  const elf = readElf(bytes, file);
  if (elf.type !== ET_DYN) throw new ElfError(`not a shared object (ELF type ${elf.type})`, file);
  if (elf.segments.some((p) => p.type === PT_TLS)) throw new ElfError('the shared object has thread-local storage (PT_TLS), which abiscope does not support', file);
  const dynamic = elf.segments.find((p) => p.type === PT_DYNAMIC);
  if (!dynamic) throw new ElfError('the shared object has no PT_DYNAMIC segment', file);
  const image = linkTimeImage(elf, file);
  const le = elf.endian === 'little';
  const w = elf.class === 64 ? 8 : 4;
  const dv = new DataView(image.bytes.buffer);
  const fail = (m: string): never => {
    throw new ElfError(m, file);
  };
  const word = (vaddr: number, what: string): number => {
    const o = vaddr - image.low;
    if (!(o >= 0 && o + w <= image.bytes.length)) fail(`${what} at ${hex(vaddr)} is outside the loaded segments`);
    return w === 8 ? Number(dv.getBigUint64(o, le)) : dv.getUint32(o, le);
  };
  const u32 = (vaddr: number, what: string): number => {
    const o = vaddr - image.low;
    if (!(o >= 0 && o + 4 <= image.bytes.length)) fail(`${what} at ${hex(vaddr)} is outside the loaded segments`);
    return dv.getUint32(o, le);
  };
  const u8 = (vaddr: number, what: string): number => {
    const o = vaddr - image.low;
    if (!(o >= 0 && o < image.bytes.length)) fail(`${what} at ${hex(vaddr)} is outside the loaded segments`);
    return image.bytes[o];
  };
  const u16 = (vaddr: number, what: string): number => {
    const o = vaddr - image.low;
    if (!(o >= 0 && o + 2 <= image.bytes.length)) fail(`${what} at ${hex(vaddr)} is outside the loaded segments`);
    return dv.getUint16(o, le);
  };

  // The dynamic section: (tag, value) pairs up to DT_NULL.
  const entries = new Map<number, number[]>();
  for (let a = dynamic.vaddr; a + 2 * w <= dynamic.vaddr + dynamic.memsz; a += 2 * w) {
    const tag = word(a, 'dynamic entry');
    if (tag === DT.NULL) break;
    const list = entries.get(tag) ?? [];
    list.push(word(a + w, 'dynamic entry'));
    entries.set(tag, list);
  }
  const one = (tag: number): number | undefined => entries.get(tag)?.[0];
  if ((one(DT.FLAGS) ?? 0) & DF_STATIC_TLS) fail('the shared object uses static thread-local storage (DF_STATIC_TLS), which abiscope does not support');
  const strtab = one(DT.STRTAB), symtab = one(DT.SYMTAB);
  if (strtab === undefined || symtab === undefined) fail('the dynamic section has no DT_STRTAB or DT_SYMTAB');
  const strsz = one(DT.STRSZ) ?? 0;
  const string = (offset: number, what: string): string => {
    if (offset >= strsz) fail(`${what}: name offset ${hex(offset)} is outside the dynamic string table (${hex(strsz)} bytes)`);
    const start = strtab! - image.low + offset;
    const end = image.bytes.indexOf(0, start);
    if (start < 0 || end < 0 || end > strtab! - image.low + strsz) fail(`${what}: name is not NUL-terminated in the dynamic string table`);
    return new TextDecoder().decode(image.bytes.subarray(start, end));
  };

  // Symbol count: the section header if there is one, else the hash tables.
  const syment = one(DT.SYMENT) ?? (w === 8 ? 24 : 16);
  if (syment < (w === 8 ? 24 : 16)) fail(`DT_SYMENT ${syment} is too small`);
  const dynsymSection = elf.sections.find((s) => s.type === SHT_DYNSYM);
  let count: number;
  if (dynsymSection) count = Math.floor(dynsymSection.size / syment);
  else if (one(DT.HASH) !== undefined) count = u32(one(DT.HASH)! + 4, 'DT_HASH nchain');
  else if (one(DT.GNU_HASH) !== undefined) count = gnuHashSymbolCount(one(DT.GNU_HASH)!, w, u32, fail);
  else fail('no section header, DT_HASH or DT_GNU_HASH says how many dynamic symbols there are');
  if (count! > MAX_DYNAMIC_SYMBOLS) fail(`${count!} dynamic symbols is more than abiscope loads (${MAX_DYNAMIC_SYMBOLS})`);
  const symbols: RawSymbol[] = [];
  for (let i = 0; i < count!; i++) {
    const a = symtab! + i * syment;
    const info = u8(w === 8 ? a + 4 : a + 12, 'symbol');
    const shndx = w === 8 ? u16(a + 6, 'symbol') : u16(a + 14, 'symbol');
    const value = w === 8 ? word(a + 8, 'symbol') : u32(a + 4, 'symbol');
    const size = w === 8 ? word(a + 16, 'symbol') : u32(a + 8, 'symbol');
    symbols.push({ index: i, name: string(u32(a, 'symbol'), `dynamic symbol ${i}`), value, size, type: info & 0xf, bind: info >> 4, shndx });
  }

  const versions = readVersionNeeds(entries, symbols.length, { u16, u32, string, fail });
  const soname = one(DT.SONAME) === undefined ? undefined : string(one(DT.SONAME)!, 'DT_SONAME');
  const needed = (entries.get(DT.NEEDED) ?? []).map((o) => string(o, 'DT_NEEDED'));

  const relocations: DynamicInfo['relocations'] = [];
  const table = (at: number | undefined, size: number | undefined, rela: boolean, what: string): void => {
    if (at === undefined || !size) return;
    const ent = rela ? 3 * w : 2 * w;
    for (let a = at; a + ent <= at + size; a += ent) {
      const info = word(a + w, what);
      const sym = w === 8 ? Math.floor(info / 2 ** 32) : info >>> 8;
      const type = w === 8 ? info % 2 ** 32 : info & 0xff;
      if (sym >= symbols.length) fail(`${what}: symbol index ${sym} is out of range (${symbols.length} dynamic symbols)`);
      const addend = rela ? (w === 8 ? Number(BigInt.asIntN(64, BigInt(word(a + 2 * w, what)))) : u32(a + 2 * w, what) | 0) : undefined;
      relocations.push({ offset: word(a, what), type, sym, addend });
    }
  };
  table(one(DT.RELA), one(DT.RELASZ), true, 'DT_RELA');
  table(one(DT.REL), one(DT.RELSZ), false, 'DT_REL');
  const pltrel = one(DT.PLTREL);
  if (one(DT.JMPREL) !== undefined && pltrel !== DT.RELA && pltrel !== DT.REL) fail(`DT_PLTREL is ${pltrel}: expected DT_REL or DT_RELA`);
  table(one(DT.JMPREL), one(DT.PLTRELSZ), pltrel === DT.RELA, 'DT_JMPREL');
  const relr = readRelr(one(DT.RELR), one(DT.RELRSZ), w, word);

  const arch = relocArch(elf.machine);
  const jumpSlots = relocations.some((r) => arch.dynamic?.get(r.type)?.kind === 'symbol');
  if (elf.machine === 'ppc32' && jumpSlots && one(DT.PPC_GOT) === undefined && relocations.some((r) => r.type === 21)) {
    fail('PowerPC BSS-PLT shared objects (built with -mbss-plt) are not supported: their PLT is code the loader must write; build with the default secure PLT');
  }
  const imports = new Map<string, SharedImport>();
  for (const r of relocations) {
    const s = symbols[r.sym];
    if (r.sym === 0 || s.shndx !== SHN_UNDEF || s.bind === STB_LOCAL || !s.name) continue;
    const known = imports.get(s.name);
    imports.set(s.name, { name: s.name, weak: (known?.weak ?? true) && s.bind === STB_WEAK, version: versions[r.sym] });
  }
  return {
    file, elf, soname, needed, imports: [...imports.values()],
    dyn: { entries, symbols, versions, relocations, relr, image: { low: image.low, bytes: image.bytes } },
  };
}

/** DT_GNU_HASH: the highest symbol index reachable from the buckets, then to the end of its chain. */
function gnuHashSymbolCount(at: number, w: number, u32: (a: number, what: string) => number, fail: (m: string) => never): number {
  const nbuckets = u32(at, 'DT_GNU_HASH'), symoffset = u32(at + 4, 'DT_GNU_HASH'), bloomSize = u32(at + 8, 'DT_GNU_HASH');
  if (nbuckets > MAX_DYNAMIC_SYMBOLS || bloomSize > MAX_DYNAMIC_SYMBOLS) fail('DT_GNU_HASH is corrupt');
  const buckets = at + 16 + bloomSize * w;
  let max = 0;
  for (let i = 0; i < nbuckets; i++) max = Math.max(max, u32(buckets + 4 * i, 'DT_GNU_HASH bucket'));
  if (max < symoffset) return symoffset;
  const chains = buckets + 4 * nbuckets;
  for (let i = max; i < MAX_DYNAMIC_SYMBOLS; i++) if (u32(chains + 4 * (i - symoffset), 'DT_GNU_HASH chain') & 1) return i + 1;
  return fail('DT_GNU_HASH chain does not end');
}

/** DT_RELR: an address word, then bitmaps of the following words that are relative-relocated too. */
function readRelr(at: number | undefined, size: number | undefined, w: number, word: (a: number, what: string) => number): number[] {
  const out: number[] = [];
  if (at === undefined || !size) return out;
  let where = 0;
  for (let a = at; a + w <= at + size; a += w) {
    const entry = word(a, 'DT_RELR');
    if (entry % 2 === 0) {
      out.push(entry);
      where = entry + w;
    } else {
      let bits = Math.floor(entry / 2);
      for (let i = 0; i < 8 * w - 1 && bits > 0; i++, bits = Math.floor(bits / 2)) if (bits % 2) out.push(where + i * w);
      where += (8 * w - 1) * w;
    }
  }
  return out;
}

/** GNU symbol versioning: for each dynamic symbol, the version (and library) it was linked against. */
function readVersionNeeds(
  entries: Map<number, number[]>, count: number,
  io: { u16(a: number, w: string): number; u32(a: number, w: string): number; string(o: number, w: string): string; fail(m: string): never },
): (SharedImport['version'] | undefined)[] {
  const out: (SharedImport['version'] | undefined)[] = new Array(count).fill(undefined);
  const versym = entries.get(DT.VERSYM)?.[0], verneed = entries.get(DT.VERNEED)?.[0];
  if (versym === undefined || verneed === undefined) return out;
  const byIndex = new Map<number, { name: string; file: string }>();
  let need = verneed;
  for (let n = 0; n < (entries.get(DT.VERNEEDNUM)?.[0] ?? 0); n++) {
    const file = io.string(io.u32(need + 4, 'Elf_Verneed'), 'Elf_Verneed file');
    let aux = need + io.u32(need + 8, 'Elf_Verneed');
    for (let k = 0, cnt = io.u16(need + 2, 'Elf_Verneed'); k < cnt; k++) {
      byIndex.set(io.u16(aux + 6, 'Elf_Vernaux') & 0x7fff, { name: io.string(io.u32(aux + 8, 'Elf_Vernaux'), 'Elf_Vernaux name'), file });
      const next = io.u32(aux + 12, 'Elf_Vernaux');
      if (!next) break;
      aux += next;
    }
    const next = io.u32(need + 12, 'Elf_Verneed');
    if (!next) break;
    need += next;
  }
  for (let i = 0; i < count; i++) out[i] = byIndex.get(io.u16(versym + 2 * i, 'DT_VERSYM') & 0x7fff);
  return out;
}

export interface ShareOptions {
  /** Lowest address to load at. */
  base: number;
  /** Where an import lives; undefined: nowhere. */
  resolve(name: string): number | undefined;
  /** SONAMEs of shared objects already loaded (a DT_NEEDED of one of these is satisfied). */
  loaded: ReadonlySet<string>;
}

/** Places the object at a base from opts.base, applies its relocations and lists its exports. */
export function linkShared(so: SharedObject, opts: ShareOptions): LinkedImage & { soname?: string } {
  const { elf, file, dyn } = so;
  const fail = (m: string): never => {
    throw new ElfError(m, file);
  };
  for (const lib of so.needed) {
    if (!SYSTEM_LIBRARY.test(lib) && !opts.loaded.has(lib)) {
      fail(`needs ${lib} (DT_NEEDED), which is not loaded: load it first (abiscope's runtime stands in only for libc, libm and the other glibc libraries)`);
    }
  }
  // Page alignment keeps every in-page offset (the guest's pages are 4 KiB, whatever p_align says).
  const base = Math.ceil(opts.base / PAGE) * PAGE - dyn.image.low;
  const image = dyn.image.bytes.slice();
  const dv = new DataView(image.buffer);
  const le = elf.endian === 'little';
  const arch = relocArch(elf.machine);
  const w = elf.class === 64 ? 8 : 4;

  // Own definitions first (as -Bsymbolic), then the sandbox's.
  const own = new Map<string, number>();
  for (const s of dyn.symbols) if (s.shndx !== SHN_UNDEF && s.bind !== STB_LOCAL && s.name) own.set(s.name, base + s.value);
  const missing: string[] = [];
  const value = (sym: number): number => {
    const s = dyn.symbols[sym];
    if (sym === 0) return 0;
    if (s.shndx !== SHN_UNDEF) return base + s.value;
    const at = own.get(s.name) ?? opts.resolve(s.name);
    if (at !== undefined) return at;
    if (s.bind !== STB_WEAK) missing.push(`${s.name}${dyn.versions[sym] ? `@${dyn.versions[sym]!.name} (${dyn.versions[sym]!.file})` : ''}`);
    return 0;
  };
  const place = (vaddr: number, bits: 32 | 64, what: string): number => {
    const o = vaddr - dyn.image.low;
    if (!(o >= 0 && o + bits / 8 <= image.length)) fail(`${what} at ${hex(vaddr)} is outside the loaded segments`);
    return o;
  };
  const write = (o: number, v: number, bits: 32 | 64): void => {
    if (bits === 64) dv.setBigUint64(o, BigInt.asUintN(64, BigInt(v)), le);
    else dv.setUint32(o, v >>> 0, le);
  };
  const unsupported = new Set<string>();
  for (const r of dyn.relocations) {
    const how = arch.dynamic?.get(r.type);
    const name = relocName(arch, r.type);
    if (!how) {
      unsupported.add(isTlsRelocation(name) ? `${name} (thread-local storage)` : /IRELATIVE/.test(name) ? `${name} (GNU indirect function, IFUNC)` : `${name} (${r.type})`);
      continue;
    }
    if (how.kind === 'none') continue;
    const o = place(r.offset, how.bits, name);
    const implicit = how.bits === 64 ? Number(dv.getBigInt64(o, le)) : dv.getInt32(o, le);
    const A = r.addend ?? (how.kind === 'symbol' ? 0 : implicit);
    const P = base + r.offset;
    switch (how.kind) {
      case 'relative': write(o, base + A, how.bits); break;
      case 'absolute': case 'symbol': write(o, value(r.sym) + A, how.bits); break;
      case 'pc': write(o, value(r.sym) + A - P, how.bits); break;
    }
  }
  if (unsupported.size) fail(`unsupported dynamic relocations: ${[...unsupported].join(', ')}`);
  if (missing.length) fail(`undefined symbols: ${[...new Set(missing)].join(', ')}`);
  for (const a of dyn.relr) {
    const o = place(a, w === 8 ? 64 : 32, 'DT_RELR');
    write(o, base + (w === 8 ? Number(dv.getBigUint64(o, le)) : dv.getUint32(o, le)), w === 8 ? 64 : 32);
  }

  const segments: LoadedSegment[] = elf.segments.filter((p) => p.type === PT_LOAD && p.memsz > 0).map((p, i) => ({
    address: base + p.vaddr,
    bytes: image.slice(p.vaddr - dyn.image.low, p.vaddr - dyn.image.low + p.memsz),
    perms: p.flags & PF_X ? 'rx' : p.flags & PF_W ? 'rw' : 'r',
    name: `${file} PT_LOAD ${i}`,
    initialized: p.filesz,
  }));
  const symbols = new Map<string, ElfSymbol>();
  for (const s of dyn.symbols) {
    if (s.shndx === SHN_UNDEF || s.bind === STB_LOCAL || !s.name || s.shndx >= elf.sections.length && s.shndx < 0xff00) continue;
    symbols.set(s.name, { ...toElfSymbol(elf, s, base + s.value), defined: true });
  }
  const initializers: number[] = [];
  const init = dyn.entries.get(DT.INIT)?.[0];
  if (init) initializers.push(base + init);
  const arr = dyn.entries.get(DT.INIT_ARRAY)?.[0], arrsz = dyn.entries.get(DT.INIT_ARRAYSZ)?.[0] ?? 0;
  if (arr !== undefined) {
    for (let a = arr; a + w <= arr + arrsz; a += w) {
      const o = place(a, w === 8 ? 64 : 32, 'DT_INIT_ARRAY');
      const f = w === 8 ? Number(dv.getBigUint64(o, le)) : dv.getUint32(o, le);
      if (f !== 0 && f !== (w === 8 ? 2 ** 64 - 1 : 0xffffffff)) initializers.push(f);
    }
  }
  const top = Math.max(...segments.map((s) => s.address + s.bytes.length));
  return {
    machine: elf.machine, endian: elf.endian, class: elf.class, segments, symbols,
    end: Math.ceil(top / PAGE) * PAGE,
    sections: elf.sections.filter((s) => s.flags & 2 && s.size > 0).map((s) => ({ file, name: s.name, address: base + s.addr, size: s.size })),
    members: [], veneers: 0, initializers, soname: so.soname,
    // .symtab's static functions (unless stripped), for naming addresses in call chains.
    locals: elf.symbols.filter((s) => s.bind === STB_LOCAL && s.type === 2 && s.name && s.shndx !== SHN_UNDEF).map((s) => toElfSymbol(elf, s, base + s.value)),
  };
}
