// The library API: a Sandbox is one emulated machine running one calling
// convention; libraries are loaded into it and their functions called from JS.
// Guest threads share the machine, each with its own stack and chain of frames.
import { UsageError } from '../errors.ts';
import { ElfError } from '../emu/elf.ts';
import { AsyncLocalStorage } from 'node:async_hooks';
import { Machine, type MachineOptions } from '../emu/machine.ts';
import { BufferPool, Scratch } from '../emu/scratch.ts';
import { checkLimits, type CallLimits } from './limits.ts';
import type { CallingConvention } from '../abis/abi.ts';
import { convention, conventionBackend, type AbiName } from '../backends/registry.ts';
import { checkBackend, CompiledStubs, type Backend } from '../backends/compiled.ts';
import { parseDeclarations, parsePrototype, parseType, emptyScope, SignatureError, type TypeScope } from '../ctypes/parse.ts';
import { planArrangement, typedPlan, withoutPreservedCheck, type FramePlan, type TypedPlan } from '../abis/plan.ts';
import { typeText } from '../ctypes/type-text.ts';
import { canaryIntact, FrameCorruptedError, type CallRecord, type CallSite, type StubEntry } from './callout.ts';
import { CANARY_BYTES } from '../abis/plan.ts';
import { callOutSteps, runAsync, runSync, type CallOutResult, type ChainEnv } from './call-chain.ts';
import { decodeBytes, encodeToBytes, ValueError, type JsValue, type MovableObject } from '../layout/values.ts';
import { layoutOf } from '../layout/layout.ts';
import { alignofType, memberAt, sizeofType } from '../layout/query.ts';
import type { CType, FunctionType, Signature } from '../ctypes/ctypes.ts';
import type { Callback, CallbackContext, CallbackRecord, LoadedThunk, VarArgs } from './callback.ts';
import { registerImage } from '../abis/register-image.ts';
import { GuestThread, type FrameLevel } from './guest-thread.ts';
import { HostRuntime } from './host-runtime.ts';
import { Loader } from './loader.ts';
import { splitTypedVarargs } from '../layout/variadic.ts';
import { checkTraceOptions, TraceRecorder } from './trace.ts';
import type { Trace, TraceOptions } from './trace-format.ts';

export interface SandboxOptions extends CallLimits, MachineOptions {
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
  /**
   * Called with what guest code prints (printf, puts, fprintf(stderr, ...): abiscope's runtime),
   * as it prints it; fd 1 is stdout, 2 stderr. Every call-out's record also keeps its output.
   */
  onOutput?: (fd: 1 | 2, text: string) => void;
  /**
   * A callee that returns with a callee-saved register changed (an ABI violation, compared
   * after every call-out): 'error' (default) throws CalleeSavedViolation; 'warn' returns the
   * result and puts the violation in the call's record (record.warnings); 'off' plans calls
   * without the check (no register saves in the stub: the instruction count of the call alone).
   */
  calleeSaved?: 'error' | 'warn' | 'off';
  /**
   * Traces every top-level call-out (and everything it runs): what it records, and `onTrace`
   * to receive each trace (also in callWithRecord's result). Off by default; per function with
   * func(prototype, { trace }), per call with f.trace(args).
   */
  trace?: TraceRequest | boolean;
  /**
   * How call stubs are made (both run the call's frame plan): 'compiled' (default) assembles
   * straight-line code for each distinct plan once and reuses it; 'interpreted' runs one generic
   * stub for every signature, which loads all argument registers from the plan's register image.
   * A function may choose its own (func(prototype, { backend })).
   */
  backend?: Backend;
}

/** Where a call-out's struct result goes besides being returned. */
export type ResultTarget = number | MovableObject;

/**
 * A callable C function with its signature. A variadic function takes, after its fixed
 * arguments, each variadic value preceded by its C type as a string:
 * `printf_like(fmt, 'int', 5, 'double', 2.5, 'const char *', 'hi')` (also in `async`,
 * `into(target)` and `on(thread)`). An untyped value there is a VariadicArgumentError; so is
 * a type that default argument promotions never pass (float arrives as double, char,
 * short and _Bool as int: name those).
 */
export interface ForeignFunction {
  (...args: unknown[]): JsValue;
  readonly signature: Signature;
  readonly address: number;
  readonly symbol: string;
  /** The thread it calls on; undefined: the current one (the calling call-back's, else main). */
  readonly thread: GuestThread | undefined;
  /** Which back end runs its calls. */
  readonly backend: Backend;
  /**
   * The frame plan of a call (variadic: with these types for the extra arguments, as a C
   * caller writes them: a 'float' is promoted to double by the convention, as in C).
   */
  plan(variadicTypes?: string[]): FramePlan;
  /**
   * Calls and also returns where each argument went. With `variadicTypes`, `args` are plain
   * values (the variadic ones of these types, as for `plan`); without, the typed form above.
   */
  callWithRecord(args: unknown[], variadicTypes?: string[]): { value: JsValue; record: CallRecord; plan: FramePlan; trace?: Trace };
  /** Calls with a trace of everything the call ran (sandbox/trace-format.ts, docs/trace-json.md). */
  trace(args: unknown[], options?: TraceRequest, variadicTypes?: string[]): { value: JsValue; trace: Trace };
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

/** What to trace, and where the finished trace goes (besides the call's result). */
export type TraceRequest = TraceOptions & { onTrace?: (trace: Trace) => void };

function traceRequest(t: TraceRequest | boolean | undefined): TraceRequest | undefined {
  if (t === true) return {};
  if (t === false || t === undefined) return undefined;
  checkTraceOptions(t);
  return t;
}

type TracedResult = CallOutResult & { trace?: Trace };

interface CallRequest {
  trace?: TraceRequest;
  args: unknown[];
  variadicTypes?: string[];
  thread?: GuestThread;
  resultInto?: ResultTarget;
}

/** Call-back entry stubs: a few instructions each, in one reserved code region. */
const ENTRY_BYTES = 32;
/**
 * Entries a sandbox can make (16 MiB of address space, mapped once; Unicorn allocates its
 * pages when they are first written). An entry is never reused for another function: C code
 * may keep a call-back's address after its call, and a call through it must find the
 * call-back it was given (released: a CallbackReleasedError), never another one.
 */
const ENTRY_SLOTS = 1 << 19;

/** A guest thread's stack: room for a few frames at least, and no more than a sane share of guest memory. */
const MIN_THREAD_STACK = 16 * 1024;
const MAX_THREAD_STACK = 256 * 1024 * 1024;

/** The sandbox has made as many call-back entries as it holds. */
export class CallbackLimitError extends UsageError {
  constructor(readonly limit: number) {
    super(`this sandbox has made ${limit} call-back entries, as many as it holds: entries are never reused (C code may keep their addresses), so make call-backs once with sb.callback() and reuse them, pass the same JS function again rather than a new closure, or open a new sandbox`);
    this.name = 'CallbackLimitError';
  }
}

/** What a released temporary call-back runs instead of its function (never: enterCallback refuses released ones first). */
const RELEASED = (): never => {
  throw new UsageError('internal: a released call-back ran');
};

/** A plain JS function's call-back for one function-pointer type: made once, live while calls use it. */
interface TemporaryCallback { record: CallbackRecord; uses: number }

export class Library {
  constructor(private readonly sandbox: Sandbox, readonly files: string[]) {}

  /** A function from a C prototype; the symbol is the prototype's name unless `symbol` says otherwise. */
  func(prototype: string, opts: { symbol?: string } = {}): ForeignFunction {
    return this.sandbox.func(prototype, opts);
  }

  symbol(name: string): number {
    return this.sandbox.symbolAddress(name);
  }
}

export class Sandbox {
  readonly cc: CallingConvention;
  /** The convention of abiscope's runtime build and its host functions (an i386 variant's: i386-sysv). */
  private readonly runtimeCc: CallingConvention;
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
  /**
   * Call-backs of plain JS functions, by function and function-pointer type: the same function
   * passed again gets the same entry (planned once), live while some call-out uses it.
   */
  private readonly temporaries = new WeakMap<Function, Map<CType, TemporaryCallback>>();
  /** The trace being recorded while a traced call runs (the machine's hooks feed it). */
  private activeTrace: TraceRecorder | undefined;
  /** Sandbox option `trace`: every function's calls are traced unless func() says otherwise. */
  private get traceDefault(): TraceRequest | undefined {
    return traceRequest(this.options.trace);
  }
  /** Host-implemented C library functions (malloc, exit, errno...), made when a load needs them. */
  private readonly hostRuntime: HostRuntime;
  private readonly loader: Loader;
  /** The interpreted back end's stub, shared by every call. */
  private readonly genericStub: StubEntry;
  /** The compiled back end's stubs, one per distinct plan. */
  private readonly compiled: CompiledStubs;
  /** The back end of functions that do not choose one. */
  readonly backend: Backend;

  private constructor(readonly machine: Machine, readonly abi: AbiName, private readonly options: SandboxOptions) {
    this.cc = convention(abi);
    this.runtimeCc = this.cc.toolchain.runtimeConvention ? convention(this.cc.toolchain.runtimeConvention) : this.cc;
    // size_t and its kin as the target spells them (Windows x64: 8-byte, though long is 4).
    this.scope = emptyScope(this.cc.dataModel.typedefs);
    this.mainThread = new GuestThread('main', machine.mainStack);
    machine.sp = machine.mainStack.top; // between calls the CPU rests here (see chainBegins)
    const stubs = conventionBackend(abi);
    const image = registerImage(this.cc);
    const clobberedSlot = machine.allocateTrapSlot();
    const source = stubs.callStub(image, machine.returnSentinel, machine.trapAddress(clobberedSlot));
    const stub = machine.loadAssembly(source.text, `${abi} call stub`, { trusted: true });
    this.genericStub = { address: stub.address, imageRegister: source.imageRegister };
    this.backend = checkBackend(options.backend ?? 'compiled');
    this.compiled = new CompiledStubs(machine, stubs, `${abi} compiled call stub`);
    const trapSlot = machine.allocateTrapSlot();
    const thunkSource = stubs.thunk(image, machine.trapAddress(trapSlot));
    const save = machine.loadAssembly(thunkSource.save, `${abi} call-back thunk`, { trusted: true }).address;
    const resume = machine.loadAssembly(thunkSource.restore, `${abi} call-back return`, { trusted: true }).address;
    this.thunk = { source: thunkSource, save, resume };
    this.entryArena = machine.reserveCode(ENTRY_SLOTS * ENTRY_BYTES, `${abi} call-back entries`, { trusted: true });
    const site: CallSite = {
      machine,
      cc: this.cc,
      limits: checkLimits(options),
      poison: options.poison,
      calleeSaved: options.calleeSaved ?? 'error',
      scratch: new Scratch(),
      blocks: new BufferPool(image.blockSize),
    };
    this.env = {
      site,
      thunk: this.thunk,
      image,
      trapSlot,
      clobberedSlot,
      stubCode: [stub.address, stub.address + stub.bytes.length],
      lookup: (id) => this.callbacks.get(id),
      types: { cc: this.cc, parseType: (t) => parseType(t, this.scope) },
      invoke: (level, fn) => this.context.run(level, fn),
      verifyFrames: (returning) => this.verifyFrames(returning),
      outOfOrderReturn: options.outOfOrderReturn ?? 'error',
      chainBegins: () => {
        if (this.chains++ === 0) this.idleRegisters = machine.saveRegisters();
      },
      trace: () => this.activeTrace,
      chainEnds: () => {
        if (--this.chains > 0) return;
        this.idleRegisters?.restore();
        this.idleRegisters?.free();
        this.idleRegisters = undefined;
      },
    };
    this.hostRuntime = new HostRuntime({
      machine,
      // The runtime is built for the target's default convention (an i386 variant's runtime is
      // i386-sysv's): its calls to host functions are arranged by that one, in the sandbox's
      // register image (the thunks and the host read every block with it).
      callback: (prototype, fn) => this.makeCallback(parsePrototype(prototype, this.scope, { functionPointer: true }).signature, fn as Parameters<Sandbox['callback']>[1], this.backend, this.runtimeCc),
      currentThread: () => this.currentThread,
      output: (thread, fd, bytes) => {
        thread.captureOutput(fd, bytes);
        options.onOutput?.(fd, Buffer.from(bytes).toString('utf8'));
      },
    });
    this.loader = new Loader({
      machine,
      toolchain: this.cc.toolchain,
      provided: (name) => this.provided.get(name),
      host: (name) => this.hostRuntime.address(name),
      construct: (address, file) => {
        const typed = this.planOf(parseDeclarations('void abiscope_constructor(void)').signature!);
        this.callSteps(typed, this.backend, address, `constructor 0x${address.toString(16)} of ${file}`, { args: [] }).sync();
      },
    });
  }

  static async open(abi: AbiName, options: SandboxOptions = {}): Promise<Sandbox> {
    const cc = convention(abi);
    checkLimits(options); // before any work: a bad option is a UsageError
    traceRequest(options.trace);
    if (options.calleeSaved !== undefined && options.calleeSaved !== 'error' && options.calleeSaved !== 'warn' && options.calleeSaved !== 'off') {
      throw new UsageError(`calleeSaved ${JSON.stringify(options.calleeSaved)}: expected 'error', 'warn' or 'off'`);
    }
    return new Sandbox(await Machine.open(cc.target, { memoryLimit: options.memoryLimit }), abi, options);
  }

  /**
   * Loads relocatable objects (gcc -c, position-independent or not), archives (.a) and static
   * executables, as paths or bytes; several loads link together. What they leave undefined
   * comes from earlier loads, sb.provide(), the archives loaded so far, then abiscope's runtime
   * (runtime/lib: memcpy, strlen, printf... and libgcc), then host functions (malloc, exit...).
   * An archive's members are linked when something needs them, also later: by func() or a
   * later load. Constructors (.init_array) run before load returns.
   */
  load(...inputs: (string | Uint8Array)[]): Library {
    return new Library(this, this.loader.load(inputs).files);
  }

  /** The address of a loaded symbol, linking the archive member that defines it if needed. */
  symbolAddress(name: string): number {
    const address = this.loader.symbol(name);
    if (address === undefined) throw new ElfError(`no symbol '${name}' is loaded, and no loaded archive, abiscope's runtime or host function defines it`);
    return address;
  }

  /** The guest heap (malloc, sb.alloc): live blocks and the bytes they hold. */
  heapStats(): { liveBlocks: number; bytesInUse: number; size: number } {
    const h = this.machine.heap;
    return { liveBlocks: h.liveBlocks, bytesInUse: h.bytesInUse, size: h.size };
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
    if (typeof name !== 'string' || name === '') throw new UsageError(`a thread's name must be a non-empty string, not ${String(name)}`);
    if (this.threads.some((t) => t.name === name)) throw new UsageError(`a thread named '${name}' exists already`);
    const size = opts.stackSize;
    if (size !== undefined && !(Number.isSafeInteger(size) && size >= MIN_THREAD_STACK && size <= MAX_THREAD_STACK && size % 4096 === 0)) {
      throw new UsageError(`stackSize ${String(size)}: expected a multiple of 4096 bytes from ${MIN_THREAD_STACK} to ${MAX_THREAD_STACK}`);
    }
    const t = new GuestThread(name, this.machine.newThreadStack(name, size));
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
   * without a name, optionally after the declarations it uses, or a pointer to one:
   * 'int (const void *a, const void *b)', 'int cmp(const void *, const void *)',
   * 'struct P { int x, y; }; int (struct P)', 'int (*)(int)' (see parsePrototype).
   * A variadic call-back gets a VarArgs reader after its fixed arguments; a non-arrow
   * function finds where its arguments arrived in `this` (CallbackContext).
   */
  callback(prototype: string | FunctionType, fn: (this: CallbackContext, ...args: (JsValue | VarArgs)[]) => unknown, opts: { backend?: Backend } = {}): Callback {
    const signature: Signature = typeof prototype === 'string'
      ? parsePrototype(prototype, this.scope, { functionPointer: true }).signature
      : { ...prototype, text: 'text' in prototype && typeof prototype.text === 'string' ? prototype.text : typeText(prototype) };
    return this.makeCallback(signature, fn, checkBackend(opts.backend ?? this.backend), this.cc);
  }

  /** A call-back whose arguments and result `arranger` places (the sandbox's convention, or its runtime's). */
  private makeCallback(signature: Signature, fn: (this: CallbackContext, ...args: (JsValue | VarArgs)[]) => unknown, backend: Backend, arranger: CallingConvention): Callback {
    const id = this.nextCallbackId++;
    if (id > ENTRY_SLOTS) throw new CallbackLimitError(ENTRY_SLOTS);
    const typed: TypedPlan = arranger === this.cc ? typedPlan(this.cc, signature)
      : { plan: planArrangement(this.cc, arranger.arrange(signature)), args: signature.params.map((p) => p.type), result: signature.result };
    const entry = this.entryArena + (id - 1) * ENTRY_BYTES;
    const code = backend === 'compiled' ? this.compiledThunk(typed.plan) : { save: this.thunk.save, resume: this.thunk.resume };
    this.machine.assembleAt(this.thunk.source.entry(id, code.save), entry, ENTRY_BYTES);
    const record: CallbackRecord = {
      id, address: entry, signature, typed, fn, code,
      released: false,
      release() {
        // The entry stays mapped: a late call traps and reports CallbackReleasedError.
        (record as { released: boolean }).released = true;
      },
    };
    this.callbacks.set(id, record);
    return record;
  }

  /** The compiled thunk of a call-back plan: saves exactly the registers the plan receives, restores exactly those it gives. */
  private compiledThunk(plan: FramePlan): { save: number; resume: number } {
    const t = this.compiled.thunkFor(plan, this.machine.trapAddress(this.env.trapSlot));
    return { save: t.save.address, resume: t.resume.address };
  }

  /**
   * A plain JS function passed where a function pointer is expected: a call-back live for the
   * calls that pass it. Its entry is the function's own for that type (made on first use, never
   * given to another function), released when no call using it is active.
   */
  private temporaryCallback(value: unknown, type: CType, mine: TemporaryCallback[]): number {
    const fn = value as (this: CallbackContext, ...args: (JsValue | VarArgs)[]) => unknown;
    let byType = this.temporaries.get(fn);
    if (!byType) this.temporaries.set(fn, (byType = new Map()));
    let t = byType.get(type);
    if (!t) {
      t = { record: this.callback({ ...(type as FunctionType), text: typeText(type) } as Signature, fn) as CallbackRecord, uses: 0 };
      byType.set(type, t);
    }
    t.uses++;
    Object.assign(t.record, { fn, released: false });
    mine.push(t);
    return t.record.address;
  }

  /**
   * A function from a C prototype, optionally after the declarations it uses (see
   * parsePrototype); the symbol is the prototype's name unless `symbol` says otherwise.
   * Types named for variadic arguments are parsed with the prototype's own declarations
   * if it has any, else with the sandbox's declarations at the time of the call.
   */
  func(prototype: string, opts: { symbol?: string; backend?: Backend; trace?: TraceRequest | boolean } = {}): ForeignFunction {
    const base = this.scope;
    const { signature, scope, offset } = parsePrototype(prototype, base);
    const symbol = opts.symbol ?? signature.name;
    if (!symbol) throw new SignatureError('the prototype has no function name: name the function, or pass { symbol }', prototype, offset);
    const backend = checkBackend(opts.backend ?? this.backend);
    const declaresTypes = scope.tags.size !== base.tags.size || scope.typedefs.size !== base.typedefs.size || scope.constants.size !== base.constants.size;
    const trace = opts.trace === false ? undefined : traceRequest(opts.trace) ?? this.traceDefault;
    return this.foreignFunction(signature, this.symbolAddress(symbol), symbol, undefined, declaresTypes ? () => scope : () => this.scope, backend, trace);
  }

  /** The plan of a call-out: the convention's, without the callee-saved check when calleeSaved is 'off'. */
  private planOf(signature: Signature, variadicArgs: CType[] = []): TypedPlan {
    const typed = typedPlan(this.cc, signature, variadicArgs);
    return this.env.site.calleeSaved === 'off' ? withoutPreservedCheck(typed) : typed;
  }

  private foreignFunction(signature: Signature, address: number, symbol: string, thread: GuestThread | undefined, typeScope: () => TypeScope, backend: Backend, trace?: TraceRequest): ForeignFunction {
    const fixedPlan = signature.variadic ? undefined : this.planOf(signature);
    // Parsed variadic types and plans, while the scope they were parsed in is current.
    let cachedScope: TypeScope | undefined;
    const types = new Map<string, CType>();
    const plans = new Map<string, TypedPlan>();
    const current = () => {
      const s = typeScope();
      if (s !== cachedScope) {
        cachedScope = s;
        types.clear();
        plans.clear();
      }
      return s;
    };
    const parse = (text: string): CType => {
      const s = current();
      let t = types.get(text);
      if (!t) {
        t = parseType(text, s);
        if (types.size >= 256) types.clear();
        types.set(text, t);
      }
      return t;
    };
    const planFor = (variadicTypes: string[] = []): TypedPlan => {
      if (fixedPlan) {
        if (variadicTypes.length) throw new ValueError(`variadic types for ${signature.text}`, 'none: the function is not variadic', variadicTypes);
        return fixedPlan;
      }
      current();
      const key = variadicTypes.join('\0');
      let plan = plans.get(key);
      if (!plan) {
        plan = this.planOf(signature, variadicTypes.map(parse));
        if (plans.size >= 64) plans.clear();
        plans.set(key, plan);
      }
      return plan;
    };
    const start = (req: CallRequest) => {
      let { args, variadicTypes } = req;
      if (signature.variadic && variadicTypes === undefined) ({ args, types: variadicTypes } = splitTypedVarargs(signature, args, parse));
      return this.callSteps(planFor(variadicTypes), backend, address, symbol, { ...req, args, thread: req.thread ?? thread, trace: req.trace ?? trace });
    };
    const f = ((...args: unknown[]) => start({ args }).sync().value) as ForeignFunction;
    Object.defineProperties(f, {
      signature: { value: signature },
      address: { value: address },
      symbol: { value: symbol },
      thread: { value: thread },
      plan: { value: (variadicTypes?: string[]) => planFor(variadicTypes).plan },
      backend: { value: backend },
      callWithRecord: {
        value: (args: unknown[], variadicTypes?: string[]) => {
          const call = start({ args, variadicTypes });
          const { value, record, trace: t } = call.sync();
          return { value, record: record(), plan: call.typed.plan, ...(t ? { trace: t } : {}) };
        },
      },
      trace: {
        value: (args: unknown[], options: TraceRequest = {}, variadicTypes?: string[]) => {
          if (this.activeTrace) throw new UsageError('f.trace() inside a traced call: the call is part of the trace being recorded already');
          const { value, trace: t } = start({ args, variadicTypes, trace: traceRequest(options) ?? {} }).sync();
          return { value, trace: t! };
        },
      },
      async: { value: async (...args: unknown[]) => (await start({ args }).async()).value },
      on: { value: (t: GuestThread) => this.foreignFunction(signature, address, symbol, t, typeScope, backend, trace) },
      into: { value: (target: ResultTarget) => (...args: unknown[]) => start({ args, resultInto: target }).sync().value },
    });
    return f;
  }

  /**
   * One call-out on the requested thread (default: the current one), below its innermost
   * frame, with a call-back for each plain JS function argument that lives for this call.
   */
  private callSteps(typed: TypedPlan, backend: Backend, address: number, symbol: string, req: CallRequest) {
    const thread = req.thread ?? this.currentThread;
    if (!this.threads.includes(thread)) throw new UsageError(`thread '${thread.name}' belongs to another sandbox`);
    const temporaries: TemporaryCallback[] = [];
    const functionPointer = (v: unknown, t: CType) => this.temporaryCallback(v, t, temporaries);
    const target = req.resultInto;
    const res = typed.plan.result;
    const direct = typeof target === 'number' && res.kind === 'memory' ? target : undefined;
    const stub = backend === 'compiled' ? this.compiled.stubFor(typed.plan, this.machine.returnSentinel) : this.genericStub;
    const steps = callOutSteps(this.env, { typed, stub, fn: address, args: req.args, thread, describe: () => `call-out ${symbol} on thread '${thread.name}'`, options: { resultAddress: direct, functionPointer } });
    const finish = (r: CallOutResult): CallOutResult => {
      if (target !== undefined && direct === undefined && res.kind !== 'void') {
        const bytes = encodeToBytes(typed.result, r.value, 'result', { dm: this.cc.dataModel });
        if (typeof target === 'number') this.machine.write(target, bytes);
        else target.update(bytes);
      }
      return r;
    };
    // Released when no call uses them: a C function that kept the pointer then gets CallbackReleasedError.
    // The record stops holding the JS function, so a closure passed once can be collected.
    const recycle = () => {
      for (const t of temporaries.splice(0)) {
        if (--t.uses > 0) continue;
        Object.assign(t.record, { fn: RELEASED, released: true });
      }
    };
    // A traced top-level call: the recorder hears everything until the call ends (a call made
    // inside a traced call is part of that trace).
    const recorder = req.trace && !this.activeTrace ? new TraceRecorder(this.machine, this.abi, req.trace) : undefined;
    const traceBegins = () => {
      if (!recorder) return;
      recorder.start();
      this.activeTrace = recorder;
    };
    let traceEnded = false;
    // Once: when the call returns (the trace goes with its result) or fails (only to onTrace).
    const traceEnds = (): Trace | undefined => {
      if (!recorder || traceEnded) return undefined;
      traceEnded = true;
      if (this.activeTrace === recorder) this.activeTrace = undefined;
      const t = recorder.stop();
      req.trace?.onTrace?.(t);
      return t;
    };
    const withTrace = (r: CallOutResult): TracedResult => {
      const trace = traceEnds();
      return trace ? { ...r, trace } : r;
    };
    return {
      typed,
      sync: (): TracedResult => {
        traceBegins();
        try {
          return withTrace(finish(runSync(steps)));
        } finally {
          traceEnds();
          recycle();
        }
      },
      async: async (): Promise<TracedResult> => {
        traceBegins();
        try {
          return withTrace(finish(await runAsync(steps)));
        } finally {
          traceEnds();
          recycle();
        }
      },
    };
  }

  // ---- guest memory helpers ----

  /**
   * A block of the guest heap: `bytes` from 0 to the heap's size, `align` a power of two from 1
   * to 4096; anything else is a HeapError and the heap stays as it was.
   */
  alloc(bytes: number, align = 16): number {
    return this.machine.heap.allocate(bytes, align);
  }
  /** Frees a block alloc() gave (a HeapError for anything else: freed already, never allocated). */
  free(address: number): void {
    this.machine.heap.release(address);
  }
  /** Reads a C value of type `type` ('int', 'struct V', 'double[4]'...) at a guest address. */
  read(type: string | CType, address: number): JsValue {
    const t = typeof type === 'string' ? parseType(type, this.scope) : type;
    const size = layoutOf(t, this.cc.dataModel).size;
    this.checkMapped(`read ${typeof type === 'string' ? type : typeText(t)}`, address, size);
    return decodeBytes(t, this.machine.read(address, size), { dm: this.cc.dataModel });
  }
  write(type: string | CType, address: number, value: unknown): void {
    const t = typeof type === 'string' ? parseType(type, this.scope) : type;
    const what = `write ${typeof type === 'string' ? type : typeText(t)}`;
    const bytes = encodeToBytes(t, value, what, { dm: this.cc.dataModel });
    this.checkMapped(what, address, bytes.length);
    this.machine.write(address, bytes);
  }
  /**
   * sizeof, _Alignof and offsetof on this sandbox's convention, as GCC lays the type out. A type
   * is text in the sandbox's declared scope ('struct S', 'int[4]', 'struct { char c; double d; }')
   * or a CType; a member is 'field', 'a.b' or 'arr[2].x'. A LayoutQueryError says what was wrong
   * (`problem`: 'no-member', 'not-a-record', 'incomplete'...); a bad type text is a SignatureError.
   */
  sizeof(type: string | CType): number {
    return sizeofType(this.queryType('sizeof', type), this.cc.dataModel);
  }
  alignof(type: string | CType): number {
    return alignofType(this.queryType('alignof', type), this.cc.dataModel);
  }
  offsetof(type: string | CType, member: string): number {
    return memberAt(this.queryType('offsetof', type), member, this.cc.dataModel).offset;
  }
  private queryType(what: string, type: string | CType): CType {
    if (typeof type === 'string') return parseType(type, this.scope);
    if (typeof type !== 'object' || type === null || typeof (type as { kind?: unknown }).kind !== 'string') {
      throw new UsageError(`sb.${what}: expected a C type as text ('struct S', 'int[4]') or a CType object, got ${type === null ? 'null' : typeof type}`);
    }
    return type;
  }
  /**
   * The address of read/write: an integer, the bytes from it within mapped guest memory.
   * Checked before the host allocates a buffer of `size` bytes (a huge type would throw a
   * RangeError there) and before Unicorn is asked (NaN would be a RangeError in BigInt()).
   */
  private checkMapped(what: string, address: unknown, size: number): void {
    const limit = 2 ** (8 * this.cc.dataModel.pointerSize);
    if (typeof address !== 'number' || !Number.isSafeInteger(address) || address < 0 || address >= limit) {
      throw new ValueError(`${what}: address`, `a guest address (an integer from 0 to ${Math.min(limit, 2 ** 53) - 1})`, address);
    }
    if (size === 0) return;
    const first = this.machine.regionAt(address);
    const last = this.machine.regionAt(address + size - 1);
    if (!first || !last) {
      throw new ValueError(`${what}: address`, `the start of ${size} bytes of mapped guest memory (0x${address.toString(16)}..0x${(address + size - 1).toString(16)} is not all mapped)`, address);
    }
  }
  readCString(address: number): string {
    return this.machine.readCString(address);
  }

  close(): void {
    this.machine.close();
  }
}
