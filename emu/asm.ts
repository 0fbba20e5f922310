// Keystone (assembler) and Capstone (disassembler), both emscripten builds,
// behind one small interface per instruction set.
import { createRequire } from 'node:module';

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
export class AssemblyError extends Error {
  constructor(readonly isa: Isa, readonly line: number, readonly text: string, reason: string) {
    super(`${isa} assembly failed at line ${line}: ${text.trim()} (${reason})`);
    this.name = 'AssemblyError';
  }
}

export interface Instruction { address: number; size: number; bytes: Uint8Array; mnemonic: string; operands: string; text: string }

// The wasm modules are loaded once per process. Keystone gets one instance per
// instruction set: its Intel-syntax option leaks into global state and made the
// PPC assembler read `108(14)` as hex afterwards (measured), so no instance is shared.
const modules: { ks: Partial<Record<Isa, Promise<KsModule>>>; cs?: Promise<CsModule> } = { ks: {} };

function modes(ks: Record<string, unknown>, isa: Isa): [number, number] {
  const n = (k: string) => ks[k] as number;
  switch (isa) {
    case 'x86': return [n('ARCH_X86'), n('MODE_32')];
    case 'x86_64': return [n('ARCH_X86'), n('MODE_64')];
    case 'arm': return [n('ARCH_ARM'), n('MODE_ARM')];
    case 'thumb': return [n('ARCH_ARM'), n('MODE_THUMB')];
    case 'ppc32': return [n('ARCH_PPC'), n('MODE_32') | n('MODE_BIG_ENDIAN')];
    case 'aarch64': return [n('ARCH_ARM64'), n('MODE_ARM')];
  }
}

/** Assembles text for one instruction set. Intel syntax on x86. */
export class Assembler {
  private constructor(private readonly ks: KsModule, readonly isa: Isa) {}

  static async create(isa: Isa): Promise<Assembler> {
    modules.ks[isa] ??= (require('@alexaltea/keystone-js') as () => Promise<KsModule>)();
    return new Assembler(await modules.ks[isa]!, isa);
  }

  assemble(text: string, address = 0): Uint8Array {
    const [arch, mode] = modes(this.ks, this.isa);
    const engine = new this.ks.Keystone(arch, mode);
    try {
      if (this.isa === 'x86' || this.isa === 'x86_64') engine.option(this.ks.OPT_SYNTAX as number, this.ks.OPT_SYNTAX_INTEL as number);
      const result = engine.asm(text, address);
      if (!result.failed) return result.mc;
      throw this.locateError(engine, text, address);
    } finally {
      engine.close();
    }
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

/** Disassembles bytes for one instruction set. */
export class Disassembler {
  private constructor(private readonly cs: CsModule, readonly isa: Isa) {}

  static async create(isa: Isa): Promise<Disassembler> {
    modules.cs ??= (require('@alexaltea/capstone-js') as () => Promise<CsModule>)();
    return new Disassembler(await modules.cs, isa);
  }

  disassemble(bytes: Uint8Array, address: number, count = 0): Instruction[] {
    const [arch, mode] = modes(this.cs, this.isa);
    const engine = new this.cs.Capstone(arch, mode);
    try {
      return engine.disasm(Array.from(bytes), address, count).map((i) => ({
        address: Number(i.address),
        size: i.size,
        bytes: Uint8Array.from(i.bytes),
        mnemonic: i.mnemonic,
        operands: i.op_str,
        text: i.op_str ? `${i.mnemonic} ${i.op_str}` : i.mnemonic,
      }));
    } finally {
      engine.close();
    }
  }
}
