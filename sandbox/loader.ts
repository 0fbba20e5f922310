// What sb.load() does with the user's files: reads them (checked: a regular file of sane
// size), links them into the machine with the archives loaded so far and abiscope's runtime
// (runtime/lib/<dir>: libabiscope.a, then libgcc.a) behind them, and host functions
// (host-runtime.ts) last; runs their constructors. An archive stays available: a later load
// or a func() for a symbol nothing loaded defines pulls the member that defines it.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Machine } from '../emu/machine.ts';
import { ElfError, type LinkedImage, type LinkInput } from '../emu/elf.ts';
import { isArchive } from '../emu/elf-archive.ts';
import { ET_DYN } from '../emu/elf-read.ts';
import { linkShared, readSharedObject } from '../emu/elf-shared.ts';
import type { Toolchain } from '../abis/abi.ts';
import { LoadRegistry } from './load-registry.ts';

/** Largest file sb.load reads: a corrupt or wrong path must not fill the host's memory. */
export const MAX_INPUT_BYTES = 256 * 1024 * 1024;

/**
 * runtime/lib of the abiscope package (from sandbox/ in a clone, or dist/sandbox/ when
 * installed), or the directory ABISCOPE_RUNTIME_LIB names (a runtime rebuilt elsewhere).
 */
export function runtimeLibDir(): string | undefined {
  const override = process.env.ABISCOPE_RUNTIME_LIB;
  if (override) return override;
  for (let d = dirname(fileURLToPath(import.meta.url)), i = 0; i < 4; i++, d = dirname(d)) {
    const lib = join(d, 'runtime', 'lib');
    if (existsSync(lib)) return lib;
  }
  return undefined;
}

/** Reads one input file, refusing what is not a regular file or is too large, with the path in the error. */
export function readInput(path: string): Uint8Array {
  let size: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new ElfError(`not a regular file (${st.isDirectory() ? 'a directory' : st.isFIFO() ? 'a FIFO' : 'a device or socket'})`, path);
    size = st.size;
  } catch (e) {
    if (e instanceof ElfError) throw e;
    throw new ElfError(`cannot read the file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, path);
  }
  if (size > MAX_INPUT_BYTES) throw new ElfError(`the file has ${size} bytes; abiscope loads files of at most ${MAX_INPUT_BYTES} bytes`, path);
  return new Uint8Array(readFileSync(path));
}

export interface LoaderEnv {
  machine: Machine;
  toolchain: Toolchain;
  /** sb.provide(): before any archive. */
  provided(name: string): number | undefined;
  /** Host-implemented runtime functions: after every archive. */
  host(name: string): number | undefined;
  /** Runs a constructor (a `void (void)` function) of a loaded file. */
  construct(address: number, file: string): void;
}

export class Loader {
  /** The user's archives, in load order: later loads and func() pull members from them. */
  private readonly archives: LinkInput[] = [];
  private runtime: LinkInput[] | undefined;
  /** SONAMEs (or file names) of the shared objects loaded. */
  private readonly sonames = new Set<string>();
  /** Files and strong definitions of earlier loads: a load repeating one is refused (load-registry.ts). */
  private readonly registry = new LoadRegistry();

  constructor(private readonly env: LoaderEnv) {}

  /** abiscope's runtime archives for this convention (read once per sandbox). */
  private runtimeLibraries(): LinkInput[] {
    if (!this.runtime) {
      const lib = runtimeLibDir();
      const dir = lib && join(lib, this.env.toolchain.runtimeDir);
      this.runtime = !dir ? [] : ['libabiscope.a', 'libgcc.a']
        .map((f) => join(dir, f))
        .filter((f) => existsSync(f))
        .map((f) => ({ bytes: readInput(f), file: `abiscope runtime ${this.env.toolchain.runtimeDir}/${f.slice(dir.length + 1)}` }));
    }
    return this.runtime;
  }

  /** Links `inputs` (paths or bytes) into the machine; returns the image and the labels used. */
  load(inputs: (string | Uint8Array)[]): { files: string[]; image?: LinkedImage } {
    const files = inputs.map((x, i) => (typeof x === 'string' ? x : `<bytes ${i}>`));
    const read: LinkInput[] = inputs.map((x, i) => {
      if (typeof x === 'string') return { bytes: readInput(x), file: files[i] };
      if (!(x instanceof Uint8Array)) throw new ElfError(`sb.load argument ${i + 1} is ${x === null ? 'null' : typeof x}: pass a file path or a Uint8Array of its bytes`);
      return { bytes: x, file: files[i] };
    });
    const registered = this.registry.check(inputs, read); // before any of it is linked
    // Shared objects first: the objects of the same load may call them.
    const isShared = (b: Uint8Array): boolean => {
      if (b.length < 18 || b[0] !== 0x7f || b[1] !== 0x45 || b[2] !== 0x4c || b[3] !== 0x46) return false;
      const type = b[5] === 2 ? (b[16] << 8) | b[17] : b[16] | (b[17] << 8); // e_type in the file's byte order
      return type === ET_DYN;
    };
    for (const input of read.filter((x) => isShared(x.bytes))) this.loadShared(input);
    const rest = read.filter((x) => !isShared(x.bytes));
    const image = rest.length ? this.link(rest, []) : undefined;
    for (const input of rest) if (isArchive(input.bytes)) this.archives.push(input);
    registered.commit();
    return { files, image };
  }

  /** A shared object: its imports come from earlier loads, archives, the runtime and the host, by name. */
  private loadShared(input: LinkInput): LinkedImage {
    const file = input.file ?? 'shared object';
    const so = readSharedObject(input.bytes, file);
    const { machine } = this.env;
    const known = (n: string): boolean => machine.symbols.has(n) || this.env.provided(n) !== undefined;
    const wanted = so.imports.filter((i) => !known(i.name)).map((i) => i.name);
    if (wanted.length) this.link([], wanted);
    const image = machine.loadImage((base) => linkShared(so, {
      base,
      resolve: (n) => this.env.provided(n) ?? machine.symbols.get(n)?.address ?? this.env.host(n),
      loaded: this.sonames,
    }));
    this.sonames.add(so.soname ?? file.replace(/^.*\//, ''));
    for (const init of image.initializers) this.env.construct(init, file);
    return image;
  }

  /**
   * The address of `name`: a loaded symbol, or else the member of a loaded archive (then of
   * the runtime) that defines it, linked now, or else a host function (malloc...);
   * undefined if none does.
   */
  symbol(name: string): number | undefined {
    const known = this.env.machine.symbols.get(name) ?? this.env.provided(name);
    if (known !== undefined) return typeof known === 'number' ? known : known.address;
    this.link([], [name]);
    return this.env.machine.symbols.get(name)?.address ?? this.env.host(name);
  }

  /** Earlier archives count as the user's own (their definitions beat the runtime's), after this load's files. */
  private link(inputs: LinkInput[], roots: string[]): LinkedImage {
    const image = this.env.machine.load([...inputs, ...this.archives], {
      resolve: (n) => this.env.provided(n),
      libraries: this.runtimeLibraries(),
      fallback: (n) => this.env.host(n),
      roots,
    });
    for (const init of image.initializers) this.env.construct(init, inputs[0]?.file ?? roots[0]);
    return image;
  }
}
