// `abiscope call`: one call-out from the command line, result as JSON on stdout (and, with the
// options of cli/trace-files.ts, its trace in files).
import { UsageError } from '../errors.ts';
import { Sandbox, type ForeignFunction, type TraceRequest } from '../sandbox/sandbox.ts';
import { convention } from '../backends/registry.ts';
import type { AbiName } from '../backends/registry.ts';
import { fromJsonArg, toJson } from '../layout/json.ts';
import { GuestFault } from '../emu/faults.ts';
import { GuestAbort, GuestExit } from '../sandbox/termination.ts';
import { UnicornMissingError } from '../emu/unicorn.ts';
import { emptyScope, parsePrototype, parseType, SignatureError, type TypeScope } from '../ctypes/parse.ts';
import { VariadicArgumentError, variadicTypeProblem } from '../layout/variadic.ts';
import type { Signature } from '../ctypes/ctypes.ts';
import { TraceOutputs, type TraceCliOptions } from './trace-files.ts';
import type { CallRecord } from '../sandbox/callout.ts';
import type { FramePlan } from '../abis/plan.ts';
import type { JsValue } from '../layout/values.ts';
import type { CType } from '../ctypes/ctypes.ts';
import { where } from './explain.ts';

export interface CallOptions {
  abi: string;
  elf: string[];
  sig: string;
  args: string;
  symbol?: string;
  /** Comma-separated C types of the JSON arguments after the fixed ones, for a variadic function. */
  varargs?: string;
  /** `call --record`: add where each argument went and what the callee left in its buffers. */
  record?: boolean;
}


/** Splits `--varargs` at the commas outside parentheses, brackets and braces: 'int,int (*)(int, int)' is two types. */
export function splitTypeList(text: string): string[] {
  if (text.trim() === '') return [];
  const out: string[] = [];
  let depth = 0;
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') depth--;
    else if (c === ',' && depth === 0) {
      out.push(text.slice(from, i).trim());
      from = i + 1;
    }
  }
  out.push(text.slice(from).trim());
  return out;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** `--varargs 'int,double,const char *'` with as many types as there are variadic arguments. */
function varargsExample(count: number): string {
  const some = ['int', 'double', 'const char *'];
  return `--varargs '${Array.from({ length: Math.max(count, 1) }, (_, i) => some[i % some.length]).join(',')}'`;
}

/**
 * The arguments of the call in the library's typed form (each variadic value after its C
 * type), from the JSON values and `--varargs`. Nothing is guessed: a variadic call needs
 * one type per JSON argument after the fixed ones, and only a variadic call takes types.
 */
export function typedArguments(signature: Signature, scope: TypeScope, values: unknown[], varargs: string | undefined): unknown[] {
  const fixed = signature.params.length;
  if (!signature.variadic) {
    if (varargs !== undefined) throw new UsageError(`--varargs is given, but ${signature.text} is not variadic: drop --varargs`);
    return values;
  }
  const extra = values.length - fixed;
  if (extra < 0) return values; // too few for the fixed parameters: the call reports it
  if (varargs === undefined) {
    if (extra === 0) return values;
    throw new UsageError(`${signature.text} is variadic: --args has ${plural(extra, 'argument')} after its ${plural(fixed, 'fixed one')}, and each needs its C type in --varargs, e.g. ${varargsExample(extra)}`);
  }
  const types = splitTypeList(varargs);
  if (types.length !== extra) {
    throw new UsageError(`--varargs gives ${plural(types.length, 'type')}, but --args has ${plural(extra, 'argument')} after the ${plural(fixed, 'fixed one')} of ${signature.text}: give one type per variadic argument, e.g. ${varargsExample(extra)}`);
  }
  // Types are checked here to report them in the command line's terms; the call parses them again.
  types.forEach((text, i) => {
    const path = `--varargs type ${i + 1} (for argument ${fixed + i + 1} of --args)`;
    if (text === '') throw new VariadicArgumentError(path, 'a C type', text, i + 1, fixed + i);
    let problem: string | undefined;
    try {
      problem = variadicTypeProblem(parseType(text, scope));
    } catch (e) {
      if (!(e instanceof SignatureError)) throw e;
      problem = `a C type (${e.reason})`;
    }
    if (problem) throw new VariadicArgumentError(path, problem, text, i + 1, fixed + i);
  });
  return [...values.slice(0, fixed), ...types.flatMap((t, i) => [t, values[fixed + i]])];
}

/** A call set up from the command line: the sandbox (the caller closes it), the typed arguments, the function. */
export interface OpenCall {
  sb: Sandbox;
  args: unknown[];
  /** The function, traced with `trace` if given. */
  func(trace?: TraceRequest): ForeignFunction;
}

/**
 * What `call` and `trace` do before the call: check the convention, parse --args and --sig,
 * type the variadic arguments, open a sandbox that hands what the guest prints to `onOutput`,
 * load the objects.
 */
export async function openCall(o: CallOptions, onOutput: (fd: 1 | 2, text: string) => void): Promise<OpenCall> {
  const cc = convention(o.abi);
  let args: unknown;
  try {
    args = JSON.parse(o.args);
  } catch (e) {
    throw new UsageError(`--args is not valid JSON: ${(e as Error).message}`);
  }
  if (!Array.isArray(args)) throw new UsageError('--args must be a JSON array');
  const { signature, scope, offset } = parsePrototype(o.sig, emptyScope(cc.dataModel.typedefs));
  if (signature.name === undefined && o.symbol === undefined) {
    throw new SignatureError('the prototype has no function name: name the function, or give --symbol', o.sig, offset);
  }
  const typed = typedArguments(signature, scope, args.map(fromJsonArg), o.varargs);
  const sb = await Sandbox.open(o.abi as AbiName, { onOutput });
  try {
    sb.load(...o.elf);
  } catch (e) {
    sb.close();
    throw e;
  }
  return { sb, args: typed, func: (trace) => sb.func(o.sig, { symbol: o.symbol, ...(trace ? { trace } : {}) }) };
}

export async function runCall(o: CallOptions & TraceCliOptions): Promise<number> {
  let sb: Sandbox | undefined;
  const printed: Record<1 | 2, string> = { 1: '', 2: '' };
  try {
    const outputs = TraceOutputs.from(o, false);
    // What the guest prints goes to stderr as it happens, and into the JSON.
    const call = await openCall(o, (fd, text) => {
      printed[fd] += text;
      process.stderr.write(text);
    });
    sb = call.sb;
    const f = call.func(outputs?.request(sb));
    if (o.record) {
      const args = recordableArguments(f.signature, call.args);
      const { value, record, plan } = outputs ? outputs.around(() => f.callWithRecord(args)) : f.callWithRecord(args);
      const json = { result: toJson(value), record: recordJson(record, plan, f.signature, args), stdout: printed[1], stderr: printed[2] };
      process.stdout.write(`${JSON.stringify(json)}\n`);
      return 0;
    }
    const result = outputs ? outputs.around(() => f(...call.args)) : f(...call.args);
    process.stdout.write(`${JSON.stringify({ result: toJson(result), stdout: printed[1], stderr: printed[2] })}\n`);
    return 0;
  } catch (e) {
    if (e instanceof UnicornMissingError) throw e;
    const err = e as Error;
    const extra = e instanceof GuestFault ? { pc: `0x${e.exactPc.toString(16)}`, instruction: e.instruction, callChain: e.callChain }
      : e instanceof GuestExit ? { status: e.status, calledFrom: e.calledFrom }
      : e instanceof GuestAbort ? { calledFrom: e.calledFrom, ...(e.assertion ? { assertion: e.assertion } : {}) }
      : {};
    const output = printed[1] || printed[2] ? { stdout: printed[1], stderr: printed[2] } : {};
    process.stderr.write(`${JSON.stringify({ error: { type: err.name, message: err.message, ...extra }, ...output })}\n`);
    return 1;
  } finally {
    sb?.close();
  }
}

// ---- call --record ----------------------------------------------------------------------

const hexAddress = (a: number) => `0x${a.toString(16)}`;

/** A non-const `char *` (or signed/unsigned char *): a string given for it is a buffer the callee may fill. */
function isCharBuffer(t: CType): boolean {
  return t.kind === 'pointer' && !t.isConst && t.to.kind === 'scalar' && (t.to.name === 'char' || t.to.name === 'signed char' || t.to.name === 'unsigned char');
}

/**
 * The arguments to call with under --record. A string for a non-const `char *` becomes its
 * UTF-8 bytes and a NUL in a Uint8Array: the callee sees the same bytes in region 1, and, a
 * typed array being copied back after the call (strings are immutable, so they are not),
 * the record can show what the callee left there. Arrays and objects are copied back as given.
 */
function recordableArguments(signature: Signature, args: unknown[]): unknown[] {
  return args.map((a, i) => {
    const param = signature.params[i];
    if (typeof a !== 'string' || !param || !isCharBuffer(param.type)) return a;
    const utf8 = new TextEncoder().encode(a);
    const bytes = new Uint8Array(utf8.length + 1);
    bytes.set(utf8);
    return bytes;
  });
}

/** What a non-const pointer argument's buffer holds after the call, if it was a copy abiscope made (array, object, string). */
function bufferAfter(type: CType | undefined, value: unknown): unknown {
  if (!type || type.kind !== 'pointer' || type.isConst || value === null || typeof value !== 'object') return undefined;
  if (value instanceof Uint8Array) {
    // A string (see recordableArguments): the text up to the first NUL, and every byte of the copy.
    const nul = value.indexOf(0);
    return { string: new TextDecoder().decode(value.subarray(0, nul < 0 ? value.length : nul)), bytes: Array.from(value) };
  }
  // JSON arrays and objects, updated in place by the copy-back (their values came from JSON: JsValue).
  return toJson(value as JsValue);
}

/**
 * The "record" of `call --record`, in explain's notation: registers by their ABI name, stack
 * slots as [sp+N] from the stack pointer at the call (sp), addresses only beside them.
 */
export function recordJson(record: CallRecord, plan: FramePlan, signature: Signature, args: unknown[]): unknown {
  return {
    sp: hexAddress(record.frameBase),
    args: record.args.map((a, i) => {
      const planned = plan.args[i];
      const pieces = a.pieces.map((p, k) => {
        const piece = planned?.pieces[k];
        const at = piece ? where(piece) : p.where;
        // A register's address would be abiscope's register image: only stack slots are memory the callee sees.
        return piece?.kind === 'stack' ? { where: at, address: hexAddress(p.address), size: p.size } : { where: at, size: p.size };
      });
      const after = bufferAfter(signature.params[i]?.type, args[i]);
      return {
        name: a.name, type: a.type, pieces,
        // A struct passed by reference (PowerPC): the pieces carry the address of this copy.
        ...(planned?.passing === 'reference' ? { copy: hexAddress(a.address) } : {}),
        ...(after !== undefined ? { after } : {}),
      };
    }),
    ...(plan.result.kind === 'memory' && record.resultAddress !== undefined
      ? { result: { pointer: where(plan.result.pointer), address: hexAddress(record.resultAddress), size: plan.result.size } } : {}),
  };
}
