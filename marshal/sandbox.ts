// The library API: a Sandbox is one emulated machine running one calling
// convention; libraries are loaded into it and their functions called from JS.
// Guest threads share the machine, each with its own stack and chain of frames.
import { readFileSync } from 'node:fs';
import { AsyncLocalStorage } from 'node:async_hooks';
import { Machine, type RunLimits } from '../emu/machine.ts';
import type { AbiName, CallingConvention } from '../abis/abi.ts';
import { convention } from '../abis/index.ts';
import { STUBS } from '../stubs/index.ts';
import { parseDeclarations, parseType, emptyScope, type TypeScope } from './parse.ts';
import { planCall, typeText, type FramePlan } from './frame.ts';
import { canaryIntact, FrameCorruptedError, type CallRecord, type CallSite } from './callout.ts';
import { CANARY_BYTES } from './frame.ts';
import { callOutSteps, runAsync, runSync, type CallOutResult, type ChainEnv } from './call-chain.ts';
import { decodeBytes, encodeToBytes, type JsValue, type MovableObject } from './values.ts';
import { layoutOf } from './layout.ts';
import type { CType, FunctionType, Signature } from './ctypes.ts';
import type { Callback, CallbackContext, CallbackRecord, LoadedThunk, VarArgs } from './callback.ts';
import { registerImage } from './register-image.ts';
import { GuestThread, type FrameLevel } from './guest-thread.ts';

export interface SandboxOptions extends RunLimits {
  /** Fill every frame with this byte before writing it (tests). */
  poison?: number;
  /**
   * Canaries checked at each return: 'own' (the returning frame's) or 'all' (every
   * active frame on every thread: catches a write into an outer frame at once).
   */
  checkFrames?: 'own' | 'all';
  /**
   * An async call-back that returns while deeper call-outs of its thread are still live:
   * 'error' (default) rejects its call-out with ReturnOrderError; 'wait' holds the return
   * until those have returned (it hangs if they wait for it).
   */
  outOfOrderReturn?: 'error' | 'wait';
}

/** Where a call-out's struct result goes besides being returned. */
export type ResultTarget = number | MovableObject;

/** A callable C function with its signature. */
export interface ForeignFunction {
  (...args: unknown[]): JsValue;
  readonly signature: Signature;
  readonly address: number;
  readonly symbol: string;
  /** The thread it calls on; undefined: the current one (the calling call-back's, else main). */
  readonly thread: GuestThread | undefined;
  /** The frame plan of a call (variadic: with these types for the extra arguments). */
  plan(variadicTypes?: string[]): FramePlan;
  /** Calls and also returns where each argument went. */
  callWithRecord(args: unknown[], variadicTypes?: string[]): { value: JsValue; record: CallRecord; plan: FramePlan };
  /** Calls with call-backs that may return promises; the host may run other threads while one awaits. */
  async(...args: unknown[]): Promise<JsValue>;
  /** The same function, called on `thread`. */
  on(thread: GuestThread): ForeignFunction;
  /**
   * Calls and also stores the struct result into `target`: a guest address (a result
   * returned in memory is written there by the callee directly: the memory must not move
   * during the call), or a movable host object (the result is built in region 1 of the
   * frame and copied to wherever the object is when the call returns).
   */
  into(target: ResultTarget): (...args: unknown[]) => JsValue;
}

interface CallRequest {
  args: unknown[];
  variadicTypes?: string[];
  thread?: GuestThread;
  resultInto?: ResultTarget;
}

/** Call-back entry stubs: a few instructions each, in one reserved code region. */
const ENTRY_BYTES = 32;
const ENTRY_SLOTS = 8192;
/**
 * Finished temporary call-backs stay released this long (in later temporaries) before
 * their entry is reused: C code that kept such a pointer gets CallbackReleasedError
 * instead of silently reaching another function.
 */
const TEMPORARY_QUARANTINE = 1024;

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
  /** The thread call-outs run on unless a call-back or `on(thread)` says otherwise. */
  readonly mainThread: GuestThread;
  private readonly extraThreads: GuestThread[] = [];
  private scope: TypeScope = emptyScope();
  private readonly env: ChainEnv;
  /** The innermost call-back level the current JS code runs in, across awaits. */
  private readonly context = new AsyncLocalStorage<FrameLevel>();
  private readonly thunk: LoadedThunk;
  private readonly callbacks = new Map<number, CallbackRecord>();
  private nextCallbackId = 1;
  private readonly entryArena: number;
  /** Symbols later loads resolve to call-backs or addresses (see provide). */
  private readonly provided = new Map<string, number>();
  /** Chains of call-outs in progress on all threads, and the CPU registers from before the first began. */
  private chains = 0;
  private idleRegisters: { restore(): void; free(): void } | undefined;
  /** Entry stubs of finished temporary call-backs, reused by later calls. */
  private readonly spareTemporaries: CallbackRecord[] = [];

  private constructor(readonly machine: Machine, readonly abi: AbiName, private readonly options: SandboxOptions) {
    this.cc = convention(abi);
    this.mainThread = new GuestThread('main', machine.mainStack);
    machine.sp = machine.mainStack.top; // between calls the CPU rests here (see chainBegins)
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
    const site: CallSite = {
      machine,
      cc: this.cc,
      stubAddress: stub.address,
      imageRegister: source.imageRegister,
      redZone: stubs.redZone,
      limits: { budget: options.budget, timeoutMs: options.timeoutMs },
      poison: options.poison,
    };
    this.env = {
      site,
      thunk: this.thunk,
      image: registerImage(this.cc),
      trapSlot,
      lookup: (id) => this.callbacks.get(id),
      types: { cc: this.cc, parseType: (t) => parseType(t, this.scope) },
      invoke: (level, fn) => this.context.run(level, fn),
      verifyFrames: (returning) => this.verifyFrames(returning),
      outOfOrderReturn: options.outOfOrderReturn ?? 'error',
      chainBegins: () => {
        if (this.chains++ === 0) this.idleRegisters = machine.saveRegisters();
      },
      chainEnds: () => {
        if (--this.chains > 0) return;
        this.idleRegisters?.restore();
        this.idleRegisters?.free();
        this.idleRegisters = undefined;
      },
    };
  }

  static async open(abi: AbiName, options: SandboxOptions = {}): Promise<Sandbox> {
    const cc = convention(abi);
    return new Sandbox(await Machine.open(cc.target), abi, options);
  }

  /** Loads ELF objects or static executables (paths or bytes); several loads link together. */
  load(...inputs: (string | Uint8Array)[]): Library {
    const files = inputs.map((x, i) => (typeof x === 'string' ? x : `<bytes ${i}>`));
    this.machine.load(inputs.map((x, i) => ({ bytes: typeof x === 'string' ? readFileSync(x) : x, file: files[i] })), (name) => this.provided.get(name));
    return new Library(this, files);
  }

  /**
   * Makes `symbol` resolve, in objects loaded afterwards, to a call-back (C code then
   * calls the JS function directly, as if linked against it) or to a guest address.
   */
  provide(symbol: string, target: Callback | number): void {
    this.provided.set(symbol, typeof target === 'number' ? target : target.address);
  }

  /** Declares types (struct/union/typedef/enum) for later prototypes and reads. */
  declare(text: string): void {
    this.scope = parseDeclarations(text, this.scope).scope;
  }

  /** A new guest thread with its own stack; `on(thread)` runs call-outs on it. */
  thread(name = `thread ${this.extraThreads.length + 1}`, opts: { stackSize?: number } = {}): GuestThread {
    if (this.threads.some((t) => t.name === name)) throw new Error(`a thread named '${name}' exists already`);
    const t = new GuestThread(name, this.machine.newThreadStack(name, opts.stackSize));
    this.extraThreads.push(t);
    return t;
  }

  get threads(): GuestThread[] {
    return [this.mainThread, ...this.extraThreads];
  }

  /** The thread of the call-back the current JS code runs in (also after awaits), else main. */
  get currentThread(): GuestThread {
    return this.context.getStore()?.thread ?? this.mainThread;
  }

  /**
   * checkFrames 'all': the canary of every active frame of every thread, whenever a level
   * returns (a call-out's own canary is always checked as it returns: finishCallOut).
   */
  private verifyFrames(returning: FrameLevel): void {
    if (this.options.checkFrames !== 'all') return;
    // One read per thread's active span, not one per frame.
    for (const t of this.threads) {
      const framed = t.levels.filter((l) => l.canary !== undefined);
      if (!framed.length) continue;
      // Levels are outermost first, each below the last: the span runs from the innermost canary up.
      const low = framed[framed.length - 1].canary!;
      const span = this.machine.read(low, framed[0].canary! + CANARY_BYTES - low);
      for (const l of framed) {
        if (!canaryIntact(span, l.canary! - low)) throw new FrameCorruptedError(l.high, `${l.describe} (checked when ${returning.describe} returned)`);
      }
    }
  }

  /**
   * A guest function pointer that runs `fn`. `prototype` is a function type, with or
   * without a name: 'int (const void *a, const void *b)' or 'int cmp(const void *, const void *)'.
   * A variadic call-back gets a VarArgs reader after its fixed arguments; a non-arrow
   * function finds where its arguments arrived in `this` (CallbackContext).
   */
  callback(prototype: string | FunctionType, fn: (this: CallbackContext, ...args: (JsValue | VarArgs)[]) => unknown): Callback {
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
    const signature: Signature = { ...type, text: typeof prototype === 'string' ? prototype : 'text' in type && typeof type.text === 'string' ? type.text : typeText(type) };
    const id = this.nextCallbackId++;
    if (id > ENTRY_SLOTS) throw new Error(`no more call-back entries: this sandbox has made ${ENTRY_SLOTS}`);
    const plan = planCall(this.cc, signature);
    const entry = this.entryArena + (id - 1) * ENTRY_BYTES;
    this.machine.assembleAt(this.thunk.source.entry(id, this.thunk.save), entry, ENTRY_BYTES);
    const record: CallbackRecord = {
      id, address: entry, signature, plan, fn,
      released: false,
      release() {
        // The entry stays mapped: a late call traps and reports CallbackReleasedError.
        (record as { released: boolean }).released = true;
      },
    };
    this.callbacks.set(id, record);
    return record;
  }

  /** A plain JS function passed where a function pointer is expected: a call-back for this call only. */
  private temporaryCallback(value: unknown, type: CType, mine: CallbackRecord[]): number {
    const fn = value as (this: CallbackContext, ...args: (JsValue | VarArgs)[]) => unknown;
    const signature: Signature = { ...(type as FunctionType), text: typeText(type) };
    // Reuse the oldest spare entry stub once enough are spare: assembling one per call would dominate deep nesting.
    const spare = this.spareTemporaries.length > TEMPORARY_QUARANTINE ? this.spareTemporaries.shift() : undefined;
    const cb = spare ? Object.assign(spare, { fn, signature, plan: planCall(this.cc, signature), released: false })
      : (this.callback(signature, fn) as CallbackRecord);
    mine.push(cb);
    return cb.address;
  }

  func(prototype: string, opts: { symbol?: string } = {}): ForeignFunction {
    const { signature } = parseDeclarations(prototype, this.scope);
    if (!signature) throw new Error(`'${prototype}' declares no function`);
    const symbol = opts.symbol ?? signature.name;
    if (!symbol) throw new Error(`'${prototype}' has no function name: pass { symbol }`);
    return this.foreignFunction(signature, this.machine.symbol(symbol).address, symbol, undefined);
  }

  private foreignFunction(signature: Signature, address: number, symbol: string, thread: GuestThread | undefined): ForeignFunction {
    const fixedPlan = signature.variadic ? undefined : planCall(this.cc, signature);
    const planFor = (variadicTypes?: string[]) =>
      fixedPlan ?? planCall(this.cc, signature, (variadicTypes ?? []).map((t) => parseType(t, this.scope)));
    const start = (req: CallRequest) => {
      let types = req.variadicTypes;
      if (signature.variadic && !types) types = req.args.slice(signature.params.length).map(inferVariadicType);
      return this.callSteps(planFor(types), address, symbol, { ...req, thread: req.thread ?? thread });
    };
    const f = ((...args: unknown[]) => start({ args }).sync().value) as ForeignFunction;
    Object.defineProperties(f, {
      signature: { value: signature },
      address: { value: address },
      symbol: { value: symbol },
      thread: { value: thread },
      plan: { value: planFor },
      callWithRecord: {
        value: (args: unknown[], variadicTypes?: string[]) => {
          const call = start({ args, variadicTypes });
          return { ...call.sync(), plan: call.plan };
        },
      },
      async: { value: async (...args: unknown[]) => (await start({ args }).async()).value },
      on: { value: (t: GuestThread) => this.foreignFunction(signature, address, symbol, t) },
      into: { value: (target: ResultTarget) => (...args: unknown[]) => start({ args, resultInto: target }).sync().value },
    });
    return f;
  }

  /**
   * One call-out on the requested thread (default: the current one), below its innermost
   * frame, with a call-back for each plain JS function argument that lives for this call.
   */
  private callSteps(plan: FramePlan, address: number, symbol: string, req: CallRequest) {
    const thread = req.thread ?? this.currentThread;
    if (!this.threads.includes(thread)) throw new Error(`thread '${thread.name}' belongs to another sandbox`);
    const temporaries: CallbackRecord[] = [];
    const env: ChainEnv = { ...this.env, site: { ...this.env.site, functionPointer: (v, t) => this.temporaryCallback(v, t, temporaries) } };
    const target = req.resultInto;
    const res = plan.arrangement.result;
    const direct = typeof target === 'number' && res.kind === 'memory' ? target : undefined;
    const steps = callOutSteps(env, { plan, fn: address, args: req.args, thread, describe: `call-out ${symbol} on thread '${thread.name}'`, options: { resultAddress: direct } });
    const finish = (r: CallOutResult): CallOutResult => {
      if (target !== undefined && direct === undefined && res.kind !== 'void') {
        const bytes = encodeToBytes(res.type, r.value, 'result', { dm: this.cc.dataModel });
        if (typeof target === 'number') this.machine.write(target, bytes);
        else target.update(bytes);
      }
      return r;
    };
    const recycle = () => {
      for (const cb of temporaries.splice(0)) {
        cb.release();
        this.spareTemporaries.push(cb);
      }
    };
    return {
      plan,
      sync: (): CallOutResult => {
        try {
          return finish(runSync(steps));
        } finally {
          recycle();
        }
      },
      async: async (): Promise<CallOutResult> => {
        try {
          return finish(await runAsync(steps));
        } finally {
          recycle();
        }
      },
    };
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
