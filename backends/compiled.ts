// The compiled back end (seed mail 2, the "ABI interface compiler"): for each distinct frame
// plan, the convention's StubCompiler turns the plan's guest operations into straight-line
// machine code, assembled once into a code arena of the sandbox and reused by every call with
// that plan. The interpreted back end instead runs one generic stub for all signatures, which
// loads every argument register and stores every result register of the register image.
// Both run the same plan: the host operations (frame bytes, result decoding) are shared.
import { UsageError } from '../errors.ts';
import { SnippetTooLargeError, type Machine } from '../emu/machine.ts';
import type { FramePlan, PlanOp } from '../abis/plan.ts';
import type { CodeLine, ConventionBackend } from './backend.ts';

export type Backend = 'compiled' | 'interpreted';
export const BACKENDS: readonly Backend[] = ['compiled', 'interpreted'];

export function checkBackend(value: unknown): Backend {
  if (value === 'compiled' || value === 'interpreted') return value;
  throw new UsageError(`backend ${JSON.stringify(value)}: expected 'compiled' or 'interpreted'`);
}

/** The guest operations of a plan: what a compiled stub performs, and all that its code depends on. */
export function guestOps(plan: FramePlan): { index: number; op: PlanOp }[] {
  return plan.ops.map((op, index) => ({ index, op })).filter(({ op }) => op.op === 'save' || op.op === 'load' || op.op === 'set' || op.op === 'call' || op.op === 'store');
}

/** The code of a plan's compiled stub, with the plan operations each line performs. */
export function compileStub(backend: ConventionBackend, plan: FramePlan, sentinel: number): CodeLine[] {
  return backend.compileStub(plan, sentinel);
}

/** Bytes of one code arena: one mapping holds many stubs (Unicorn's mapped sections are few). */
const ARENA_BYTES = 1 << 20;
/** Arenas a sandbox may map for compiled stubs: 64 MiB of code, tens of thousands of signatures. */
const MAX_ARENAS = 64;
/** Compiled stubs start on this boundary (cache lines; ARM and PowerPC need 4). */
const STUB_ALIGN = 16;

/** A sandbox has compiled as many distinct stubs as its arenas hold. */
export class CompiledStubLimitError extends UsageError {
  constructor(readonly bytes: number) {
    super(`this sandbox's compiled stubs fill ${bytes} bytes of code, as much as it holds: use backend 'interpreted' for calls with ever-new signatures, or open a new sandbox`);
    this.name = 'CompiledStubLimitError';
  }
}

/** A compiled stub in guest memory: entered with sp at the frame base. */
export interface CompiledStub {
  address: number;
  bytes: number;
  lines: CodeLine[];
}

/** A compiled call-back thunk: where entries jump, where the host resumes. */
export interface CompiledThunk {
  save: CompiledStub;
  resume: CompiledStub;
}

/**
 * The compiled stubs of one sandbox, by plan. Two plans with the same guest operations share
 * one stub (the text of `why` is not code). Stubs are never freed: a stub is a few dozen
 * bytes, and a live call may still be returning into one.
 */
export class CompiledStubs {
  private readonly stubs = new Map<string, CompiledStub>();
  private readonly byPlan = new WeakMap<FramePlan, { sentinel: number; stub: CompiledStub }>();
  private readonly thunks = new Map<string, CompiledThunk>();
  private readonly thunkByPlan = new WeakMap<FramePlan, { trap: number; thunk: CompiledThunk }>();
  private arena = 0;
  private arenaEnd = 0;
  private arenas = 0;

  constructor(private readonly machine: Machine, private readonly backend: ConventionBackend, private readonly name: string) {
    this.newArena(); // mapped with the sandbox: the first compiled call never needs a region of its own
  }

  private newArena(): void {
    if (this.arenas >= MAX_ARENAS) throw new CompiledStubLimitError(MAX_ARENAS * ARENA_BYTES);
    this.arena = this.machine.reserveCode(ARENA_BYTES, `${this.name}s, arena ${++this.arenas}`, { trusted: true });
    this.arenaEnd = this.arena + ARENA_BYTES;
  }

  /** The stub that performs `plan`'s guest operations and then jumps to `sentinel`. */
  stubFor(plan: FramePlan, sentinel: number): CompiledStub {
    // Plans are made once per function (and variadic type list): the object is the fast key.
    const known = this.byPlan.get(plan);
    if (known && known.sentinel === sentinel) return known.stub;
    const key = stubKey(plan, sentinel);
    let stub = this.stubs.get(key);
    if (!stub) {
      const lines = this.backend.compileStub(plan, sentinel);
      stub = this.place(lines, `${this.name} #${this.stubs.size + 1}`);
      this.stubs.set(key, stub);
    }
    this.byPlan.set(plan, { sentinel, stub });
    return stub;
  }

  /**
   * The compiled call-back thunk of `plan` (plan.thunk's operations): its save part, entered
   * from a call-back's entry stub, and the restore part the host resumes at.
   */
  thunkFor(plan: FramePlan, trap: number): CompiledThunk {
    const known = this.thunkByPlan.get(plan);
    if (known && known.trap === trap) return known.thunk;
    const key = JSON.stringify([trap, plan.thunk.map((op) => ({ ...op, why: undefined }))]);
    let thunk = this.thunks.get(key);
    if (!thunk) {
      const { save, restore } = this.backend.compileThunk(plan, trap);
      const n = this.thunks.size + 1;
      thunk = { save: this.place(save, `${this.name.replace('call stub', 'call-back thunk')} #${n}`), resume: this.place(restore, `${this.name.replace('call stub', 'call-back return')} #${n}`) };
      this.thunks.set(key, thunk);
    }
    this.thunkByPlan.set(plan, { trap, thunk });
    return thunk;
  }

  /** Distinct stubs compiled so far, and their code bytes. */
  stats(): { stubs: number; thunks: number; bytes: number } {
    let bytes = 0;
    for (const s of this.stubs.values()) bytes += s.bytes;
    for (const t of this.thunks.values()) bytes += t.save.bytes + t.resume.bytes;
    return { stubs: this.stubs.size, thunks: this.thunks.size, bytes };
  }

  private place(lines: CodeLine[], name: string): CompiledStub {
    const text = lines.map((l) => l.asm).join('\n');
    // Assemble at the next free address; a stub that does not fit goes into a new arena
    // (assembled again there: x86 immediates and ARM literal offsets depend on the address).
    for (let attempt = 0; attempt < 2; attempt++) {
      if (this.arenaEnd - this.arena >= STUB_ALIGN) {
        try {
          const bytes = this.machine.assembleAt(text, this.arena, this.arenaEnd - this.arena);
          const stub = { address: this.arena, bytes, lines };
          this.machine.nameCode(stub.address, bytes, name);
          this.arena = Math.ceil((this.arena + bytes) / STUB_ALIGN) * STUB_ALIGN;
          return stub;
        } catch (e) {
          if (!(e instanceof SnippetTooLargeError)) throw e;
        }
      }
      this.newArena();
    }
    throw new UsageError(`internal: a compiled stub of ${lines.length} lines does not fit a ${ARENA_BYTES}-byte arena`);
  }
}

function stubKey(plan: FramePlan, sentinel: number): string {
  return JSON.stringify([sentinel, guestOps(plan).map(({ op }) => ({ ...op, why: undefined }))]);
}
