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
import type { CType, Signature } from './ctypes.ts';

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
  /** Guest stack pointers of the active call-outs, innermost last (per guest thread: main). */
  private readonly activeSp: number[] = [];

  private constructor(readonly machine: Machine, readonly abi: AbiName, options: SandboxOptions) {
    this.cc = convention(abi);
    const stubs = STUBS[abi];
    const probe = planCall(this.cc, parseDeclarations('void abiscope_probe(void)').signature!);
    const source = stubs.callStub(probe.image, machine.returnSentinel);
    const stub = machine.loadAssembly(source.text, `${abi} call stub`);
    this.site = {
      machine,
      cc: this.cc,
      stubAddress: stub.address,
      imageRegister: source.imageRegister,
      redZone: stubs.redZone,
      limits: { budget: options.budget, timeoutMs: options.timeoutMs },
      poison: options.poison,
    };
  }

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
    return callOut(this.site, plan, address, args, sp);
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
