// A small typed binding to the system libunicorn.so.2 through koffi.
// No npm package binds Unicorn 2; this one covers what abiscope needs.
import { AbiscopeError } from '../errors.ts';
import koffi from 'koffi';
import * as C from './uc-const.ts';

export { C as UC };

/** The library could not be loaded: says how to install it. */
export class UnicornMissingError extends AbiscopeError {
  constructor(cause: string) {
    super(
      `abiscope needs the Unicorn 2 emulator library (libunicorn.so.2), which could not be loaded:\n  ${cause}\n` +
        'Install it with:\n' +
        '  Debian/Ubuntu: sudo apt-get install libunicorn2\n' +
        '  macOS:         brew install unicorn\n' +
        'or point ABISCOPE_LIBUNICORN at the library file.',
    );
    this.name = 'UnicornMissingError';
  }
}

/** A Unicorn API call returned an error code. */
/** A call on an engine after close(): e.g. an async call-out still awaiting when its sandbox closed. */
export class UnicornClosedError extends AbiscopeError {
  constructor() {
    super('this emulated machine was closed (close() was called); open a new one');
    this.name = 'UnicornClosedError';
  }
}

export class UnicornError extends AbiscopeError {
  constructor(readonly call: string, readonly code: number, message: string) {
    super(`${call}: ${message} (uc_err ${code})`);
    this.name = 'UnicornError';
  }
}

type Ptr = unknown;
type KoffiType = ReturnType<typeof koffi.proto>;
type KoffiLib = ReturnType<typeof koffi.load>;
type KoffiCallback = ReturnType<typeof koffi.register>;
export type HookCode = (address: bigint, size: number) => void;
/** Return false to let Unicorn report the fault. */
export type HookMemInvalid = (type: number, address: bigint, size: number, value: bigint) => boolean;
/** A CPU exception or interrupt (UC_HOOK_INTR): `intno` is the architecture's exception number. */
export type HookIntr = (intno: number) => void;
/** An x86 `syscall` or `sysenter` (UC_HOOK_INSN): the instruction is not emulated, the hook runs instead. */
export type HookInsn = () => void;
/**
 * A translation block was just generated (UC_HOOK_EDGE_GENERATED), before it first runs:
 * its address, instruction count and size in bytes. Called once per translation, not per run.
 */
export type HookBlockTranslated = (pc: bigint, icount: number, size: number) => void;

/**
 * The x86 instruction ids UC_HOOK_INSN takes (enum uc_x86_insn in unicorn/x86.h; tests/faults.test.ts
 * checks them against the installed header). Only these two are hooked: the others that
 * UC_HOOK_INSN supports (in, out, cpuid) are emulated by Unicorn itself.
 */
export const X86_INSN = { UC_X86_INS_SYSCALL: 699, UC_X86_INS_SYSENTER: 700 } as const;

interface Api {
  uc_open(arch: number, mode: number, out: Ptr[]): number;
  uc_close(uc: Ptr): number;
  uc_strerror(code: number): string;
  uc_version(major: Ptr, minor: Ptr): number;
  uc_mem_map(uc: Ptr, addr: bigint, size: number, perms: number): number;
  uc_mem_protect(uc: Ptr, addr: bigint, size: number, perms: number): number;
  uc_mem_write(uc: Ptr, addr: bigint, bytes: Uint8Array, size: number): number;
  uc_mem_read(uc: Ptr, addr: bigint, bytes: Uint8Array, size: number): number;
  uc_reg_write(uc: Ptr, reg: number, value: Uint8Array): number;
  uc_reg_read(uc: Ptr, reg: number, value: Uint8Array): number;
  uc_reg_read_batch(uc: Ptr, regs: Int32Array, values: Uint8Array[], count: number): number;
  uc_emu_start(uc: Ptr, begin: bigint, until: bigint, timeoutUs: bigint, count: number): number;
  uc_emu_stop(uc: Ptr): number;
  uc_hook_code(uc: Ptr, out: bigint[], type: number, cb: Ptr, user: Ptr, begin: bigint, end: bigint): number;
  uc_hook_mem(uc: Ptr, out: bigint[], type: number, cb: Ptr, user: Ptr, begin: bigint, end: bigint): number;
  uc_hook_intr(uc: Ptr, out: bigint[], type: number, cb: Ptr, user: Ptr, begin: bigint, end: bigint): number;
  uc_hook_insn(uc: Ptr, out: bigint[], type: number, cb: Ptr, user: Ptr, begin: bigint, end: bigint, insn: number): number;
  uc_hook_edge(uc: Ptr, out: bigint[], type: number, cb: Ptr, user: Ptr, begin: bigint, end: bigint): number;
  uc_hook_del(uc: Ptr, hook: bigint): number;
  uc_ctl_int(uc: Ptr, control: number, value: number): number;
  /** uc_ctl is variadic: koffi passes the extra arguments with their declared types. */
  uc_ctl(uc: Ptr, control: number, ...typedArgs: unknown[]): number;
  uc_context_alloc(uc: Ptr, out: Ptr[]): number;
  uc_context_save(uc: Ptr, ctx: Ptr): number;
  uc_context_restore(uc: Ptr, ctx: Ptr): number;
  uc_context_free(ctx: Ptr): number;
  HookCodeProto: KoffiType;
  HookMemProto: KoffiType;
  HookIntrProto: KoffiType;
  HookInsnProto: KoffiType;
  HookEdgeProto: KoffiType;
  UcTb: KoffiType;
}

function loadApi(): Api {
  const candidates = process.env.ABISCOPE_LIBUNICORN
    ? [process.env.ABISCOPE_LIBUNICORN]
    : process.platform === 'darwin'
      ? ['libunicorn.2.dylib', '/opt/homebrew/lib/libunicorn.2.dylib', '/usr/local/lib/libunicorn.2.dylib', 'libunicorn.dylib']
      : ['libunicorn.so.2', 'libunicorn.so'];
  let lib: KoffiLib | undefined;
  const failures: string[] = [];
  for (const name of candidates) {
    try {
      lib = koffi.load(name);
      break;
    } catch (e) {
      failures.push(`${name}: ${(e as Error).message}`);
    }
  }
  if (!lib) throw new UnicornMissingError(failures.join('\n  '));
  // uc_hook_add is variadic; each hook kind gets its own fixed prototype (docs/unicorn-notes.md).
  const HookCodeProto = koffi.proto(`void abiscope_hook_code(void *uc, uint64_t address, uint32_t size, void *user)`);
  const HookMemProto = koffi.proto(
    `bool abiscope_hook_mem(void *uc, int type, uint64_t address, int size, int64_t value, void *user)`,
  );
  const HookIntrProto = koffi.proto('void abiscope_hook_intr(void *uc, uint32_t intno, void *user)');
  // uc_cb_insn_syscall_t: the callback of UC_HOOK_INSN for UC_X86_INS_SYSCALL and UC_X86_INS_SYSENTER.
  const HookInsnProto = koffi.proto('void abiscope_hook_insn(void *uc, void *user)');
  // uc_hook_edge_gen_t: (uc, uc_tb *cur_tb, uc_tb *prev_tb, user); uc_tb is { uint64_t pc; uint16_t icount; uint16_t size; }.
  const UcTb = koffi.struct('abiscope_uc_tb', { pc: 'uint64_t', icount: 'uint16_t', size: 'uint16_t' });
  const HookEdgeProto = koffi.proto('void abiscope_hook_edge(void *uc, void *cur, void *prev, void *user)');
  return {
    uc_open: lib.func('int uc_open(int arch, int mode, _Out_ void **uc)'),
    uc_close: lib.func('int uc_close(void *uc)'),
    uc_strerror: lib.func('const char *uc_strerror(int code)'),
    uc_version: lib.func('unsigned int uc_version(void *major, void *minor)'),
    uc_mem_map: lib.func('int uc_mem_map(void *uc, uint64_t address, size_t size, uint32_t perms)'),
    uc_mem_protect: lib.func('int uc_mem_protect(void *uc, uint64_t address, size_t size, uint32_t perms)'),
    uc_mem_write: lib.func('int uc_mem_write(void *uc, uint64_t address, const void *bytes, size_t size)'),
    uc_mem_read: lib.func('int uc_mem_read(void *uc, uint64_t address, void *bytes, size_t size)'),
    uc_reg_write: lib.func('int uc_reg_write(void *uc, int regid, const void *value)'),
    uc_reg_read: lib.func('int uc_reg_read(void *uc, int regid, void *value)'),
    uc_reg_read_batch: lib.func('int uc_reg_read_batch(void *uc, int *regs, void **values, int count)'),
    uc_emu_start: lib.func('int uc_emu_start(void *uc, uint64_t begin, uint64_t until, uint64_t timeout, size_t count)'),
    uc_emu_stop: lib.func('int uc_emu_stop(void *uc)'),
    uc_hook_code: lib.func(
      'uc_hook_add',
      'int',
      ['void *', koffi.out(koffi.pointer('uint64_t')), 'int', koffi.pointer(HookCodeProto), 'void *', 'uint64_t', 'uint64_t'],
    ),
    uc_hook_mem: lib.func(
      'uc_hook_add',
      'int',
      ['void *', koffi.out(koffi.pointer('uint64_t')), 'int', koffi.pointer(HookMemProto), 'void *', 'uint64_t', 'uint64_t'],
    ),
    uc_hook_intr: lib.func(
      'uc_hook_add',
      'int',
      ['void *', koffi.out(koffi.pointer('uint64_t')), 'int', koffi.pointer(HookIntrProto), 'void *', 'uint64_t', 'uint64_t'],
    ),
    // UC_HOOK_INSN takes one more variadic argument: the instruction id (an int).
    uc_hook_insn: lib.func(
      'uc_hook_add',
      'int',
      ['void *', koffi.out(koffi.pointer('uint64_t')), 'int', koffi.pointer(HookInsnProto), 'void *', 'uint64_t', 'uint64_t', 'int'],
    ),
    uc_hook_edge: lib.func(
      'uc_hook_add',
      'int',
      ['void *', koffi.out(koffi.pointer('uint64_t')), 'int', koffi.pointer(HookEdgeProto), 'void *', 'uint64_t', 'uint64_t'],
    ),
    uc_hook_del: lib.func('int uc_hook_del(void *uc, uint64_t hook)'),
    // uc_ctl is variadic too: one fixed prototype for "control with one int argument".
    uc_ctl_int: lib.func('uc_ctl', 'int', ['void *', 'int', 'int']),
    uc_ctl: lib.func('int uc_ctl(void *uc, int control, ...)'),
    uc_context_alloc: lib.func('int uc_context_alloc(void *uc, _Out_ void **ctx)'),
    uc_context_save: lib.func('int uc_context_save(void *uc, void *ctx)'),
    uc_context_restore: lib.func('int uc_context_restore(void *uc, void *ctx)'),
    uc_context_free: lib.func('int uc_context_free(void *ctx)'),
    HookCodeProto,
    HookMemProto,
    HookIntrProto,
    HookInsnProto,
    HookEdgeProto,
    UcTb,
  } as unknown as Api;
}

/** Loaded once per process: the library handle is immutable after loading. */
const apiCache: { api?: Api } = {};
function api(): Api {
  return (apiCache.api ??= loadApi());
}

/** Throws UnicornMissingError if the library cannot be loaded. */
export function unicornVersion(): string {
  const v = api().uc_version(null, null);
  return `${(v >>> 24) & 0xff}.${(v >>> 16) & 0xff}.${(v >>> 8) & 0xff}`;
}

/** One Unicorn engine. Register values are raw little-endian host byte buffers. */
export class Unicorn {
  private handle: Ptr;
  private readonly callbacks: KoffiCallback[] = [];
  /** Callbacks of hooks hookDel can remove, by hook handle. */
  private readonly removable = new Map<bigint, KoffiCallback>();
  private readonly api = api();
  /** The buffer every register read and write goes through (allocated once: see memReadInto). */
  private readonly regBytes = new Uint8Array(64);
  private readonly regView = new DataView(this.regBytes.buffer);
  private readonly spareContexts: Ptr[] = [];

  constructor(arch: number, mode: number) {
    const out: Ptr[] = [null];
    this.check('uc_open', this.api.uc_open(arch, mode, out));
    this.handle = out[0];
  }

  /** The engine handle; after close() every call is a clear error, never a call into freed memory. */
  private live(): Ptr {
    if (this.handle === null) throw new UnicornClosedError();
    return this.handle;
  }

  private check(call: string, code: number): void {
    if (code !== C.err.UC_ERR_OK) throw new UnicornError(call, code, this.api.uc_strerror(code));
  }

  strerror(code: number): string {
    return this.api.uc_strerror(code);
  }

  memMap(address: number, size: number, perms: number): void {
    this.check('uc_mem_map', this.api.uc_mem_map(this.live(), BigInt(address), size, perms));
  }
  memProtect(address: number, size: number, perms: number): void {
    this.check('uc_mem_protect', this.api.uc_mem_protect(this.live(), BigInt(address), size, perms));
  }
  memWrite(address: number, bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.check('uc_mem_write', this.api.uc_mem_write(this.live(), BigInt(address), bytes, bytes.length));
  }
  /** `address` may be a bigint: a 64-bit guest address above 2^53 (a fault report's pc) is not a JS number. */
  memRead(address: number | bigint, size: number): Uint8Array {
    const out = new Uint8Array(size);
    if (size > 0) this.check('uc_mem_read', this.api.uc_mem_read(this.live(), BigInt(address), out, size));
    return out;
  }
  /**
   * Reads into `out` (a view on a buffer the caller reuses): no allocation. Fresh typed arrays
   * are the dearest thing on a call's path (an ArrayBuffer costs about 2 us here, measured).
   */
  memReadInto(address: number, out: Uint8Array): void {
    if (out.length > 0) this.check('uc_mem_read', this.api.uc_mem_read(this.live(), BigInt(address), out, out.length));
  }
  /** `bytes` is the register's width in bytes (little-endian host order). */
  regRead(reg: number, bytes: number): Uint8Array {
    this.regBytes.fill(0);
    this.check('uc_reg_read', this.api.uc_reg_read(this.live(), reg, this.regBytes));
    return this.regBytes.slice(0, bytes);
  }
  /** A register's bytes (host order) into `out`, a view the caller reuses at least as wide as the register. */
  regReadInto(reg: number, out: Uint8Array): void {
    this.check('uc_reg_read', this.api.uc_reg_read(this.live(), reg, out));
  }
  /** A register of at most 8 bytes as an unsigned integer (the bytes above its width are zero). */
  regReadU64(reg: number): bigint {
    this.regView.setBigUint64(0, 0n);
    this.check('uc_reg_read', this.api.uc_reg_read(this.live(), reg, this.regBytes));
    return this.regView.getBigUint64(0, true);
  }
  /** A register of at most 8 bytes (Unicorn reads as many bytes as the register has). */
  regWriteU64(reg: number, value: bigint): void {
    this.regView.setBigUint64(0, BigInt.asUintN(64, value), true);
    this.check('uc_reg_write', this.api.uc_reg_write(this.live(), reg, this.regBytes));
  }
  /** Several registers in one call (each buffer at least 16 bytes: Unicorn writes the register's whole width). */
  regReadBatch(regs: Int32Array, out: Uint8Array[]): void {
    this.check('uc_reg_read_batch', this.api.uc_reg_read_batch(this.live(), regs, out, regs.length));
  }
  regWrite(reg: number, value: Uint8Array): void {
    this.regBytes.fill(0);
    this.regBytes.set(value);
    this.check('uc_reg_write', this.api.uc_reg_write(this.live(), reg, this.regBytes));
  }
  /** Runs until `until`, a fault, the instruction count or the timeout; returns the uc_err code. */
  emuStart(begin: number | bigint, until: number, timeoutUs: number, count: number): number {
    return this.api.uc_emu_start(this.live(), BigInt(begin), BigInt(until), BigInt(timeoutUs), count);
  }
  emuStop(): void {
    this.check('uc_emu_stop', this.api.uc_emu_stop(this.live()));
  }
  /** Saves every CPU register; the returned handle restores them and must be freed. */
  saveContext(): { restore(): void; free(): void } {
    // Freed contexts are kept for the next save: every call-back level saves one.
    let ctx = this.spareContexts.pop();
    if (ctx === undefined) {
      const out: Ptr[] = [null];
      this.check('uc_context_alloc', this.api.uc_context_alloc(this.live(), out));
      ctx = out[0];
    }
    const saved = ctx;
    this.check('uc_context_save', this.api.uc_context_save(this.live(), saved));
    let freed = false;
    return {
      restore: () => this.check('uc_context_restore', this.api.uc_context_restore(this.live(), saved)),
      free: () => {
        if (freed) return;
        freed = true;
        if (this.handle === null || this.spareContexts.length >= 64) this.api.uc_context_free(saved);
        else this.spareContexts.push(saved);
      },
    };
  }
  setCpuModel(model: number): void {
    const ctl = C.controlType.UC_CTL_CPU_MODEL | (1 << 26) | (1 << 30);
    this.check('uc_ctl(CPU_MODEL)', this.api.uc_ctl_int(this.live(), ctl, model));
  }
  /**
   * Drops Unicorn's translated code for [begin, end): Unicorn does not notice host writes to
   * code it has already translated, which would keep running the old instructions.
   */
  removeCache(begin: number, end: number): void {
    const ctl = C.controlType.UC_CTL_TB_REMOVE_CACHE | (2 << 26) | (1 << 30); // UC_CTL_WRITE(TB_REMOVE_CACHE, 2)
    this.check('uc_ctl(TB_REMOVE_CACHE)', this.api.uc_ctl(this.live(), ctl, 'uint64_t', BigInt(begin), 'uint64_t', BigInt(end)));
  }
  /** Code hook on [begin, end]; the callback must only record and stop (never start a nested emulation). */
  hookCode(begin: number, end: number, fn: HookCode): void {
    // koffi hands a uint64_t over as a number when it fits one exactly, else as a bigint.
    const cb = koffi.register((_uc: Ptr, address: bigint | number, size: number) => fn(BigInt(address), size), koffi.pointer(this.api.HookCodeProto));
    this.callbacks.push(cb);
    const out = [0n];
    this.check('uc_hook_add(CODE)', this.api.uc_hook_code(this.live(), out, C.hookType.UC_HOOK_CODE, cb, null, BigInt(begin), BigInt(end)));
  }
  /**
   * A code hook that can be removed again (hookDel): returns its handle. Unicorn 2 calls a code
   * hook only from blocks translated while it exists: drop the translations of the code first
   * (removeCache) to see every instruction (docs/unicorn-notes.md).
   */
  hookCodeRemovable(begin: number | bigint, end: number | bigint, fn: HookCode): bigint {
    const cb = koffi.register((_uc: Ptr, address: bigint | number, size: number) => fn(BigInt(address), size), koffi.pointer(this.api.HookCodeProto));
    return this.addRemovable('uc_hook_add(CODE)', cb, (out) => this.api.uc_hook_code(this.live(), out, C.hookType.UC_HOOK_CODE, cb, null, BigInt(begin), BigInt(end)));
  }
  /**
   * Guest memory reads and writes (UC_HOOK_MEM_READ | UC_HOOK_MEM_WRITE over every address),
   * removable with hookDel. A read's value is 0 here (Unicorn passes none): read the memory.
   */
  hookMemAccessRemovable(fn: (write: boolean, address: bigint, size: number, value: bigint) => void): bigint {
    const cb = koffi.register(
      (_uc: Ptr, type: number, address: bigint | number, size: number, value: bigint | number) => {
        fn(type === C.memType.UC_MEM_WRITE, BigInt(address), size, BigInt(value));
        return true;
      },
      koffi.pointer(this.api.HookMemProto),
    );
    const type = C.hookType.UC_HOOK_MEM_READ | C.hookType.UC_HOOK_MEM_WRITE;
    return this.addRemovable('uc_hook_add(MEM_READ|MEM_WRITE)', cb, (out) => this.api.uc_hook_mem(this.live(), out, type, cb, null, 1n, 0n));
  }
  /** Adds a registered callback as a hook hookDel can remove; the callback is freed if Unicorn refuses it. */
  private addRemovable(call: string, cb: KoffiCallback, add: (out: bigint[]) => number): bigint {
    const out = [0n];
    try {
      this.check(call, add(out));
    } catch (e) {
      koffi.unregister(cb);
      throw e;
    }
    const handle = BigInt(out[0]);
    this.removable.set(handle, cb);
    return handle;
  }
  /** Deletes a hook hookCodeRemovable or hookMemAccessRemovable added (uc_hook_del) and frees its callback. */
  hookDel(handle: bigint): void {
    const cb = this.removable.get(handle);
    if (!cb) throw new Error(`no removable hook ${handle}`);
    this.removable.delete(handle);
    try {
      this.check('uc_hook_del', this.api.uc_hook_del(this.live(), handle));
    } finally {
      koffi.unregister(cb);
    }
  }
  hookMemInvalid(fn: HookMemInvalid): void {
    const cb = koffi.register(
      (_uc: Ptr, type: number, address: bigint | number, size: number, value: bigint | number) => fn(type, BigInt(address), size, BigInt(value)),
      koffi.pointer(this.api.HookMemProto),
    );
    this.callbacks.push(cb);
    const out = [0n];
    const type =
      C.hookType.UC_HOOK_MEM_READ_UNMAPPED | C.hookType.UC_HOOK_MEM_WRITE_UNMAPPED | C.hookType.UC_HOOK_MEM_FETCH_UNMAPPED |
      C.hookType.UC_HOOK_MEM_READ_PROT | C.hookType.UC_HOOK_MEM_WRITE_PROT | C.hookType.UC_HOOK_MEM_FETCH_PROT;
    this.check('uc_hook_add(MEM_INVALID)', this.api.uc_hook_mem(this.live(), out, type, cb, null, 1n, 0n));
  }
  /** Every CPU exception and interrupt (UC_HOOK_INTR); the callback must only record and stop. */
  hookIntr(fn: HookIntr): void {
    const cb = koffi.register((_uc: Ptr, intno: number) => fn(intno), koffi.pointer(this.api.HookIntrProto));
    this.callbacks.push(cb);
    const out = [0n];
    this.check('uc_hook_add(INTR)', this.api.uc_hook_intr(this.live(), out, C.hookType.UC_HOOK_INTR, cb, null, 1n, 0n));
  }
  /** An x86 instruction Unicorn hands to a hook instead of emulating (X86_INSN); the callback must only record and stop. */
  hookInsn(insn: number, fn: HookInsn): void {
    const cb = koffi.register(() => fn(), koffi.pointer(this.api.HookInsnProto));
    this.callbacks.push(cb);
    const out = [0n];
    this.check('uc_hook_add(INSN)', this.api.uc_hook_insn(this.live(), out, C.hookType.UC_HOOK_INSN, cb, null, 1n, 0n, insn));
  }
  /** Each newly translated block, before it first runs (UC_HOOK_EDGE_GENERATED); the callback must only record and stop. */
  hookBlockTranslated(fn: HookBlockTranslated): void {
    const tbType = this.api.UcTb;
    const cb = koffi.register((_uc: Ptr, cur: Ptr) => {
      const tb = koffi.decode(cur, tbType) as { pc: bigint | number; icount: number; size: number };
      fn(BigInt(tb.pc), tb.icount, tb.size);
    }, koffi.pointer(this.api.HookEdgeProto));
    this.callbacks.push(cb);
    const out = [0n];
    this.check('uc_hook_add(EDGE_GENERATED)', this.api.uc_hook_edge(this.live(), out, C.hookType.UC_HOOK_EDGE_GENERATED, cb, null, 1n, 0n));
  }
  close(): void {
    if (this.handle === null) return;
    for (const ctx of this.spareContexts.splice(0)) this.api.uc_context_free(ctx);
    this.api.uc_close(this.handle);
    this.handle = null;
    for (const cb of this.callbacks) koffi.unregister(cb);
    this.callbacks.length = 0;
    for (const cb of this.removable.values()) koffi.unregister(cb);
    this.removable.clear();
  }
}
