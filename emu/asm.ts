// Keystone (assembler) and Capstone (disassembler), both emscripten builds,
// behind one small interface per instruction set.
import { AbiscopeError } from '../errors.ts';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import vm from 'node:vm';

const require = createRequire(import.meta.url);

/** Instruction sets abiscope assembles and disassembles. */
export type Isa = 'x86' | 'x86_64' | 'arm' | 'thumb' | 'ppc32' | 'aarch64';

interface KsModule {
  Keystone: new (arch: number, mode: number) => KsEngine;
  strerror(code: number): string;
  [k: string]: unknown;
}
interface KsEngine {
  option(opt: number, value: number): void;
  asm(text: string, address?: number): { mc: Uint8Array; count: number; failed: boolean };
  errno(): number;
  close(): void;
}
interface CsModule {
  Capstone: new (arch: number, mode: number) => CsEngine;
  [k: string]: unknown;
}
interface CsEngine {
  disasm(bytes: Uint8Array | number[], address: number, count?: number): CsInstruction[];
  close(): void;
}
interface CsInstruction { address: bigint; size: number; bytes: number[]; mnemonic: string; op_str: string }

/** An assembly error, naming the first line Keystone rejects. */
export class AssemblyError extends AbiscopeError {
  constructor(readonly isa: Isa, readonly line: number, readonly text: string, reason: string) {
    super(`${isa} assembly failed at line ${line}: ${text.trim()} (${reason})`);
    this.name = 'AssemblyError';
  }
}

export interface Instruction { address: number; size: number; bytes: Uint8Array; mnemonic: string; operands: string; text: string }

function modes(ks: Record<string, unknown>, isa: Isa): [number, number] {
  const n = (k: string) => ks[k] as number;
  switch (isa) {
    case 'x86': return [n('ARCH_X86'), n('MODE_32')];
    case 'x86_64': return [n('ARCH_X86'), n('MODE_64')];
    case 'arm': return [n('ARCH_ARM'), n('MODE_ARM')];
    case 'thumb': return [n('ARCH_ARM'), n('MODE_THUMB')];
    case 'ppc32': return [n('ARCH_PPC'), n('MODE_32') | n('MODE_BIG_ENDIAN')];
    case 'aarch64': return [n('ARCH_ARM64'), n('MODE_LITTLE_ENDIAN')]; // Keystone rejects MODE_ARM (1) here; Capstone's is 0 too
  }
}

// Both packages are emscripten wasm builds whose factory is an `async function`: it
// awaits the wasm instantiation, then adds the Keystone/Capstone classes to the module.
//
// Keystone is loaded asynchronously (a machine needs it at once, to assemble its stubs),
// one module instance per instruction set: its Intel-syntax option leaks into global
// state and made the PPC assembler read `108(14)` as hex afterwards (measured), so no
// instance is shared. Each Assembler keeps one engine, made once and reused.
const assemblers: Partial<Record<Isa, Promise<Assembler>>> = {};

/** Assembles text for one instruction set. Intel syntax on x86. */
export class Assembler {
  private kept: KsEngine | undefined;

  private constructor(private readonly ks: KsModule, readonly isa: Isa) {}

  /** The engine, opened at the first assemble() (a machine that assembles nothing never opens one). */
  private get engine(): KsEngine {
    if (this.kept) return this.kept;
    const [arch, mode] = modes(this.ks, this.isa);
    try {
      const engine = new this.ks.Keystone(arch, mode);
      if (this.isa === 'x86' || this.isa === 'x86_64') engine.option(this.ks.OPT_SYNTAX as number, this.ks.OPT_SYNTAX_INTEL as number);
      return (this.kept = engine);
    } catch (e) {
      throw typeof e === 'string' ? new Error(`${this.isa}: ${e}`) : e; // keystone.js throws strings
    }
  }

  /** The assembler of `isa`: one per process, shared by every machine. */
  static create(isa: Isa): Promise<Assembler> {
    return assemblers[isa] ??= (require('@alexaltea/keystone-js') as () => Promise<KsModule>)()
      .then((ks) => new Assembler(ks, isa))
      .catch((e: unknown) => {
        delete assemblers[isa];
        throw e;
      });
  }

  assemble(text: string, address = 0): Uint8Array {
    const engine = this.engine;
    const result = engine.asm(text, address);
    if (!result.failed) return result.mc;
    throw this.locateError(engine, text, address);
  }

  /** Keystone reports no line: find the first prefix that fails (later labels kept defined). */
  private locateError(engine: KsEngine, text: string, address: number): AssemblyError {
    const reason = this.ks.strerror(engine.errno());
    const lines = text.split('\n');
    const labelsAfter = (i: number) => lines.slice(i + 1).filter((l) => /^\s*[\w.$]+:/.test(l)).map((l) => l.trim().replace(/:.*$/, ':'));
    for (let i = 0; i < lines.length; i++) {
      const prefix = [...lines.slice(0, i + 1), ...labelsAfter(i)].join('\n');
      if (engine.asm(prefix, address).failed) {
        return new AssemblyError(this.isa, i + 1, lines[i], this.ks.strerror(engine.errno()));
      }
    }
    return new AssemblyError(this.isa, lines.length, lines[lines.length - 1] ?? '', reason);
  }
}

// Capstone is loaded only when something disassembles (a fault report, a call chain,
// `abiscope disasm`), and synchronously, so that Machine.instructionAt() can stay
// synchronous: the wasm is compiled with `new WebAssembly.Module` (Node allows it for any
// size) and handed to emscripten's `instantiateWasm` hook, and the glue runs in a vm
// context with its own microtask queue ('afterEvaluate'), which Node drains before
// runInContext returns, so the factory's awaits have all run by then (~100 ms, once).
let capstone: CsModule | undefined;

function loadCapstone(): CsModule {
  if (capstone) return capstone;
  const js = require.resolve('@alexaltea/capstone-js');
  const wasm = new WebAssembly.Module(readFileSync(js.replace(/\.js$/, '.wasm')));
  const box = { exports: {} };
  const context = vm.createContext({ module: box, exports: box.exports, console, TextDecoder }, { microtaskMode: 'afterEvaluate' });
  new vm.Script(readFileSync(js, 'utf8'), { filename: js }).runInContext(context);
  context.instantiate = (imports: WebAssembly.Imports, done: (instance: WebAssembly.Instance) => void) => {
    done(new WebAssembly.Instance(wasm, imports));
    return {};
  };
  // The handlers are the context's own functions: a host function's reaction job would wait for the host's queue.
  new vm.Script('module.exports({ instantiateWasm: instantiate }).then((m) => { ready = m; }, (e) => { failed = e; })').runInContext(context);
  if (context.failed !== undefined) throw new Error(`Capstone failed to initialize: ${String(context.failed)}`);
  if (!context.ready) throw new Error('Capstone did not initialize synchronously (a changed @alexaltea/capstone-js build?)');
  return (capstone = context.ready as CsModule);
}

const disassemblers: Partial<Record<Isa, Disassembler>> = {};

/** Disassembles bytes for one instruction set. */
export class Disassembler {
  private constructor(private readonly engine: CsEngine, readonly isa: Isa) {}

  /** The disassembler of `isa`, made on first use (one engine per process, reused). */
  static for(isa: Isa): Disassembler {
    const existing = disassemblers[isa];
    if (existing) return existing;
    const cs = loadCapstone();
    const [arch, mode] = modes(cs, isa);
    try {
      return (disassemblers[isa] = new Disassembler(new cs.Capstone(arch, mode), isa));
    } catch (e) {
      throw typeof e === 'string' ? new Error(`${isa}: ${e}`) : e; // capstone.js throws strings
    }
  }

  disassemble(bytes: Uint8Array, address: number, count = 0): Instruction[] {
    let insns: CsInstruction[];
    try {
      insns = this.engine.disasm(bytes, address, count);
    } catch (e) {
      throw typeof e === 'string' ? new Error(e) : e; // capstone.js throws strings
    }
    return insns.map((i) => ({
      address: Number(i.address),
      size: i.size,
      bytes: Uint8Array.from(i.bytes),
      mnemonic: i.mnemonic,
      operands: i.op_str,
      text: i.op_str ? `${i.mnemonic} ${i.op_str}` : i.mnemonic,
    }));
  }
}
