// The library API: a Sandbox is one emulated machine running one calling
// convention; libraries are loaded into it and their functions called from JS.
import { readFileSync } from 'node:fs';
import { Machine, type RunLimits } from '../emu/machine.ts';
import type { AbiName, CallingConvention } from '../abis/abi.ts';
import { convention } from '../abis/index.ts';
import { STUBS } from '../stubs/index.ts';
import { parseDeclarations, parseType, emptyScope, type TypeScope } from './parse.ts';
import { planCall, type FramePlan } from './frame.ts';
import { callOut, type CallRecord, type CallSite } from './callout.ts';
import { decodeBytes, encodeToBytes, type JsValue } from './values.ts';
import { layoutOf } from './layout.ts';
import type { CType, FunctionType, Signature } from './ctypes.ts';
import { serviceCallback, type Callback, type CallbackRecord, type LoadedThunk } from './callback.ts';
import { registerImage } from './register-image.ts';

export interface SandboxOptions extends RunLimits {
  /** Fill every frame with this byte before writing it (tests). */
  poison?: number;
}

/** A callable C function with its signature and last call's placement. */
export interface ForeignFunction {
  (...args: unknown[]): JsValue;
  readonly signature: Signature;
  readonly address: number;
  readonly symbol: string;
  /** The frame plan of a non-variadic call. */
  plan(variadicTypes?: string[]): FramePlan;
  /** Calls and also returns where each argument went. */
  callWithRecord(args: unknown[], variadicTypes?: string[]): { value: JsValue; record: CallRecord; plan: FramePlan };
}

/** Call-back entry stubs: a few instructions each, in one reserved code region. */
const ENTRY_BYTES = 32;
const ENTRY_SLOTS = 8192;

export class Library {
  constructor(private readonly sandbox: Sandbox, readonly files: string[]) {}

  /** A function from a C prototype; the symbol is the prototype's name unless `symbol` says otherwise. */
  func(prototype: string, opts: { symbol?: string } = {}): ForeignFunction {
    return this.sandbox.func(prototype, opts);
  }

  symbol(name: string): number {
    return this.sandbox.machine.symbol(name).address;
  }
}

export class Sandbox {
  readonly cc: CallingConvention;
  private scope: TypeScope = emptyScope();
  private readonly site: CallSite;
  /** Guest stack pointers of the active call-backs, innermost last: nested call-outs go below. */
  private readonly activeSp: number[] = [];
  private readonly thunk: LoadedThunk;
  private readonly callbacks = new Map<number, CallbackRecord>();
  private nextCallbackId = 1;
  private readonly entryArena: number;

  private constructor(readonly machine: Machine, readonly abi: AbiName, options: SandboxOptions) {
    this.cc = convention(abi);
    const stubs = STUBS[abi];
    const probe = planCall(this.cc, parseDeclarations('void abiscope_probe(void)').signature!);
    const source = stubs.callStub(probe.image, machine.returnSentinel);
    const stub = machine.loadAssembly(source.text, `${abi} call stub`);
    const trapSlot = machine.allocateTrapSlot();
    const thunkSource = stubs.thunk(probe.image, machine.trapAddress(trapSlot));
    const save = machine.loadAssembly(thunkSource.save, `${abi} call-back thunk`).address;
    const resume = machine.loadAssembly(thunkSource.restore, `${abi} call-back return`).address;
    this.thunk = { source: thunkSource, save, resume };
    this.entryArena = machine.reserveCode(ENTRY_SLOTS * ENTRY_BYTES, `${abi} call-back entries`);
    const image = registerImage(this.cc);
    this.site = {
      machine,
      cc: this.cc,
      stubAddress: stub.address,
      imageRegister: source.imageRegister,
      redZone: stubs.redZone,
      limits: { budget: options.budget, timeoutMs: options.timeoutMs },
      poison: options.poison,
      onTrap: (slot) => {
        if (slot !== trapSlot) throw new Error(`unexpected host trap slot ${slot}`);
        return serviceCallback(machine, image, this.thunk, (id) => this.callbacks.get(id), (sp, run) => this.nested(sp, run));
      },
      functionPointer: (value, type) => this.temporaryCallback(value, type),
    };
  }

  /** Runs host code for a call-back: call-outs it makes allocate their frames below `sp`. */
  private nested<T>(sp: number, run: () => T): T {
    this.activeSp.push(sp);
    try {
      return run();
    } finally {
      this.activeSp.pop();
    }
  }

  /**
   * A guest function pointer that runs `fn`. `prototype` is a function type, with or
   * without a name: 'int (const void *a, const void *b)' or 'int cmp(const void *, const void *)'.
   */
  callback(prototype: string | FunctionType, fn: (...args: JsValue[]) => unknown): Callback {
    let type: FunctionType;
    if (typeof prototype !== 'string') type = prototype;
    else if (/^[^(]*\b[A-Za-z_]\w*\s*\(/.test(prototype) && /\w\s+\**\s*[A-Za-z_]\w*\s*\(/.test(prototype)) {
      // A named prototype: 'int cmp(const void *, const void *)'.
      type = parseDeclarations(prototype, this.scope).signature!;
    } else {
      const t = parseType(prototype, this.scope);
      const f = t.kind === 'pointer' && t.to.kind === 'function' ? t.to : t;
      if (f.kind !== 'function') throw new Error(`'${prototype}' is not a function type`);
      type = f;
    }
    const signature: Signature = { ...type, text: typeof prototype === 'string' ? prototype : 'call-back' };
    const id = this.nextCallbackId++;
    if (id > ENTRY_SLOTS) throw new Error(`no more call-back entries: this sandbox has made ${ENTRY_SLOTS}`);
    const plan = planCall(this.cc, signature);
    const entry = this.entryArena + (id - 1) * ENTRY_BYTES;
    this.machine.assembleAt(this.thunk.source.entry(id, this.thunk.save), entry, ENTRY_BYTES);
    const callbacks = this.callbacks;
    const record: CallbackRecord = {
      id, address: entry, signature, plan, fn,
      released: false,
      release() {
        // The entry stays mapped: a late call traps and reports CallbackReleasedError.
        (record as { released: boolean }).released = true;
        void callbacks;
      },
    };
    this.callbacks.set(id, record);
    return record;
  }

  /** A plain JS function passed where a function pointer is expected: a call-back for this call only. */
  private temporaryCallback(value: unknown, type: CType): number {
    const fn = value as (...args: JsValue[]) => unknown;
    // Reuse a spare entry stub: assembling and mapping one per call would dominate deep nesting.
    const spare = this.spareTemporaries.pop();
    const cb = spare ? Object.assign(spare, { fn, signature: { ...(type as FunctionType), text: 'call-back' }, plan: planCall(this.cc, { ...(type as FunctionType), text: 'call-back' }), released: false })
      : (this.callback(type as FunctionType, fn) as CallbackRecord);
    this.pendingRelease.push(cb);
    return cb.address;
  }
  private readonly pendingRelease: CallbackRecord[] = [];
  private readonly spareTemporaries: CallbackRecord[] = [];

  static async open(abi: AbiName, options: SandboxOptions = {}): Promise<Sandbox> {
    const cc = convention(abi);
    return new Sandbox(await Machine.open(cc.target), abi, options);
  }

  /** Loads ELF objects or static executables (paths or bytes); several loads link together. */
  load(...inputs: (string | Uint8Array)[]): Library {
    const files = inputs.map((x, i) => (typeof x === 'string' ? x : `<bytes ${i}>`));
    this.machine.load(inputs.map((x, i) => ({ bytes: typeof x === 'string' ? readFileSync(x) : x, file: files[i] })));
    return new Library(this, files);
  }

  /** Declares types (struct/union/typedef/enum) for later prototypes and reads. */
  declare(text: string): void {
    this.scope = parseDeclarations(text, this.scope).scope;
  }

  func(prototype: string, opts: { symbol?: string } = {}): ForeignFunction {
    const { signature } = parseDeclarations(prototype, this.scope);
    if (!signature) throw new Error(`'${prototype}' declares no function`);
    const symbol = opts.symbol ?? signature.name;
    if (!symbol) throw new Error(`'${prototype}' has no function name: pass { symbol }`);
    const address = this.machine.symbol(symbol).address;
    const fixedPlan = signature.variadic ? undefined : planCall(this.cc, signature);
    const planFor = (variadicTypes?: string[]) =>
      fixedPlan ?? planCall(this.cc, signature, (variadicTypes ?? []).map((t) => parseType(t, this.scope)));
    const callWithRecord = (args: unknown[], variadicTypes?: string[]) => {
      let types = variadicTypes;
      if (signature.variadic && !types) types = args.slice(signature.params.length).map(inferVariadicType);
      const plan = planFor(types);
      const { value, record } = this.callPlanned(plan, address, args);
      return { value, record, plan };
    };
    const f = ((...args: unknown[]) => callWithRecord(args).value) as ForeignFunction;
    Object.defineProperties(f, {
      signature: { value: signature },
      address: { value: address },
      symbol: { value: symbol },
      plan: { value: planFor },
      callWithRecord: { value: callWithRecord },
    });
    return f;
  }

  /** Runs one call-out below the innermost active one; the stack pointer is given back afterwards. */
  private callPlanned(plan: FramePlan, address: number, args: unknown[]): { value: JsValue; record: CallRecord } {
    const sp = this.activeSp.length ? this.activeSp[this.activeSp.length - 1] : this.machine.mainStack.top;
    const mark = this.pendingRelease.length;
    try {
      return callOut(this.site, plan, address, args, sp);
    } finally {
      for (const cb of this.pendingRelease.splice(mark)) {
        cb.release();
        this.spareTemporaries.push(cb);
      }
    }
  }

  // ---- guest memory helpers ----

  alloc(bytes: number, align = 16): number {
    return this.machine.heap.allocate(bytes, align);
  }
  free(address: number): void {
    this.machine.heap.release(address);
  }
  /** Reads a C value of type `type` ('int', 'struct V', 'double[4]'...) at a guest address. */
  read(type: string | CType, address: number): JsValue {
    const t = typeof type === 'string' ? parseType(type, this.scope) : type;
    return decodeBytes(t, this.machine.read(address, layoutOf(t, this.cc.dataModel).size), { dm: this.cc.dataModel });
  }
  write(type: string | CType, address: number, value: unknown): void {
    const t = typeof type === 'string' ? parseType(type, this.scope) : type;
    this.machine.write(address, encodeToBytes(t, value, `write ${typeof type === 'string' ? type : 'value'}`, { dm: this.cc.dataModel }));
  }
  readCString(address: number): string {
    return this.machine.readCString(address);
  }

  close(): void {
    this.machine.close();
  }
}

/** Variadic arguments without declared types: integers as int (long long if large), other numbers as double, strings as char *. */
function inferVariadicType(v: unknown): string {
  if (typeof v === 'bigint') return 'long long';
  if (typeof v === 'number') return Number.isInteger(v) && Math.abs(v) <= 0x7fffffff && !Object.is(v, -0) ? 'int' : 'double';
  if (typeof v === 'string') return 'const char *';
  if (typeof v === 'boolean') return 'int';
  return 'void *';
}
