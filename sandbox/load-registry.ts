// What earlier sb.load() calls brought in, so that a later load cannot silently replace it. The
// linker (emu/elf.ts) refuses two strong definitions of a symbol within one link; across loads
// each link only sees the machine's symbol table, and a second definition used to replace the
// first without a word. Checked here, before emu is called, so a refused load changes nothing.
import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { ElfError, type LinkInput } from '../emu/elf.ts';
import { ET_REL, readElf, readerFor, SHN_COMMON, SHN_UNDEF, SHT_GROUP, STB_GLOBAL, STT_FILE, STT_SECTION } from '../emu/elf-read.ts';
import { isArchive } from '../emu/elf-archive.ts';
import { isCoffAmd64 } from '../emu/coff-read.ts';

/** Names an error of ours that extends ElfError, whose `name` emu/ declares as the literal 'ElfError'. */
function rename(e: ElfError, name: string): void {
  (e as { name: string }).name = name;
}

/** The same file given to sb.load twice (in one load, or again in a later one). */
export class DuplicateLoadError extends ElfError {
  constructor(file: string, readonly earlier: string, readonly sameLoad: boolean) {
    super(sameLoad
      ? `given twice in one sb.load${earlier !== file ? ` (also as '${earlier}')` : ''}: each file is loaded once`
      : `loaded already by an earlier sb.load${earlier !== file ? ` (as '${earlier}')` : ''}: loading it again would define its symbols twice`, file);
    rename(this, 'DuplicateLoadError');
  }
}

/** A global symbol defined by a file of this load and by one loaded earlier (both strong). */
export class DuplicateSymbolError extends ElfError {
  constructor(readonly symbol: string, readonly files: [earlier: string, later: string], readonly symbols: string[]) {
    const more = symbols.length > 1 ? ` (and ${symbols.length - 1} more: ${symbols.slice(1, 6).join(', ')}${symbols.length > 6 ? ', ...' : ''})` : '';
    super(`\`${symbol}\`${more} is defined by ${files[0]}, loaded earlier, and again by ${files[1]}: a symbol has one definition (make one of them static, or weak, or leave one file out)`);
    rename(this, 'DuplicateSymbolError');
  }
}

/** ELF type of an input (0 for an archive or what is neither ELF nor COFF: left to the linker to report). */
function elfType(bytes: Uint8Array): number {
  if (isCoffAmd64(bytes)) return ET_REL; // a COFF object is always relocatable (read into the same structure)
  if (isArchive(bytes) || bytes.length < 18 || bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) return 0;
  return bytes[5] === 2 ? (bytes[16] << 8) | bytes[17] : bytes[16] | (bytes[17] << 8);
}

/**
 * The strong global definitions of a relocatable object: not weak, not COMMON (the linker
 * merges those), not in a COMDAT group (i386's __x86.get_pc_thunk.* is in every PIC object:
 * one copy is kept, as GNU ld does).
 */
export function strongDefinitions(input: LinkInput): string[] {
  const elf = readElf(input.bytes, input.file);
  const grouped = new Set<number>();
  const r = readerFor(elf);
  for (const g of elf.sections) {
    if (g.type !== SHT_GROUP || g.size < 4) continue;
    r.need(g.offset, g.size, `group section ${g.name}`);
    for (let o = 4; o + 4 <= g.size; o += 4) grouped.add(r.u32(g.offset + o));
  }
  return elf.symbols
    .filter((s) => s.name && s.bind === STB_GLOBAL && s.shndx !== SHN_UNDEF && s.shndx !== SHN_COMMON
      && s.type !== STT_SECTION && s.type !== STT_FILE && !grouped.has(s.shndx))
    .map((s) => s.name);
}

export class LoadRegistry {
  /** Real paths of the files loaded, with the name they were given by. */
  private readonly paths = new Map<string, string>();
  /** Strong definitions of the relocatable objects loaded, with the file each came from. */
  private readonly definedBy = new Map<string, string>();

  /**
   * Refuses a load that repeats a file or redefines a symbol of an earlier one; returns what to
   * record once the load has succeeded. Archives may be given again (a member is linked only
   * when needed, once), and bytes have no path: their symbols are checked all the same.
   */
  check(inputs: (string | Uint8Array)[], read: LinkInput[]): { commit(): void } {
    const paths = new Map<string, string>();
    read.forEach((input, i) => {
      const given = inputs[i];
      if (typeof given !== 'string' || isArchive(input.bytes)) return;
      const real = realPath(given);
      const earlier = paths.get(real) ?? this.paths.get(real);
      if (earlier !== undefined) throw new DuplicateLoadError(given, earlier, paths.has(real));
      paths.set(real, given);
    });
    const defined = new Map<string, string>();
    const clashes: { symbol: string; earlier: string; later: string }[] = [];
    for (const input of read) {
      const type = elfType(input.bytes);
      if (type !== ET_REL) continue; // executables overlap (an ElfError of their own), shared objects interpose
      const file = input.file ?? 'bytes';
      for (const name of strongDefinitions(input)) {
        const earlier = this.definedBy.get(name);
        if (earlier !== undefined) clashes.push({ symbol: name, earlier, later: file });
        defined.set(name, file); // two in this load: the linker says "multiple definitions" with both
      }
    }
    if (clashes.length) {
      const first = clashes[0];
      throw new DuplicateSymbolError(first.symbol, [first.earlier, first.later], clashes.filter((c) => c.earlier === first.earlier && c.later === first.later).map((c) => c.symbol));
    }
    return {
      commit: () => {
        for (const [real, given] of paths) this.paths.set(real, given);
        for (const [name, file] of defined) this.definedBy.set(name, file);
      },
    };
  }
}

function realPath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}
