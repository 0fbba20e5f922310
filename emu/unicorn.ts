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
  uc_emu_start(uc: Ptr, begin: bigint, until: bigint, timeoutUs: bigint, count: number): number;
  uc_emu_stop(uc: Ptr): number;
  uc_hook_code(uc: Ptr, out: bigint[], type: number, cb: Ptr, user: Ptr, begin: bigint, end: bigint): number;
  uc_hook_mem(uc: Ptr, out: bigint[], type: number, cb: Ptr, user: Ptr, begin: bigint, end: bigint): number;
  uc_hook_del(uc: Ptr, hook: bigint): number;
  uc_ctl_int(uc: Ptr, control: number, value: number): number;
  uc_context_alloc(uc: Ptr, out: Ptr[]): number;
  uc_context_save(uc: Ptr, ctx: Ptr): number;
  uc_context_restore(uc: Ptr, ctx: Ptr): number;
  uc_context_free(ctx: Ptr): number;
  HookCodeProto: KoffiType;
  HookMemProto: KoffiType;
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
  // uc_hook_add is variadic; each hook kind gets its own fixed prototype (ABI-FACTS).
  const HookCodeProto = koffi.proto(`void abiscope_hook_code(void *uc, uint64_t address, uint32_t size, void *user)`);
  const HookMemProto = koffi.proto(
    `bool abiscope_hook_mem(void *uc, int type, uint64_t address, int size, int64_t value, void *user)`,
  );
  return {
    uc_open: lib.func('int uc_open(int arch, int mode, _Out_ void **uc)'),
    uc_close: lib.func('int uc_close(void *uc)'),
    uc_strerror: lib.func('const char *uc_strerror(int code)'),
    uc_version: lib.func('unsigned int uc_version(void *major, void *minor)'),
    uc_mem_map: lib.func('int uc_mem_map(void *uc, uint64_t address, size_t size, uint32_t perms)'),
    uc_mem_protect: lib.func('int uc_mem_protect(void *uc, uint64_t address, size_t size, uint32_t perms)'),
    uc_mem_write: lib.func('int uc_mem_write(void *uc, uint64_t address, const void *bytes, size_t size)'),
    uc_mem_read: lib.func('int uc_mem_read(void *uc, uint64_t address, _Out_ void *bytes, size_t size)'),
    uc_reg_write: lib.func('int uc_reg_write(void *uc, int regid, const void *value)'),
    uc_reg_read: lib.func('int uc_reg_read(void *uc, int regid, _Out_ void *value)'),
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
    uc_hook_del: lib.func('int uc_hook_del(void *uc, uint64_t hook)'),
    // uc_ctl is variadic too: one fixed prototype for "control with one int argument".
    uc_ctl_int: lib.func('uc_ctl', 'int', ['void *', 'int', 'int']),
    uc_context_alloc: lib.func('int uc_context_alloc(void *uc, _Out_ void **ctx)'),
    uc_context_save: lib.func('int uc_context_save(void *uc, void *ctx)'),
    uc_context_restore: lib.func('int uc_context_restore(void *uc, void *ctx)'),
    uc_context_free: lib.func('int uc_context_free(void *ctx)'),
    HookCodeProto,
    HookMemProto,
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
  private readonly api = api();

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
  memRead(address: number, size: number): Uint8Array {
    const out = new Uint8Array(size);
    if (size > 0) this.check('uc_mem_read', this.api.uc_mem_read(this.live(), BigInt(address), out, size));
    return out;
  }
  /** `bytes` is the register's width in bytes (little-endian host order). */
  regRead(reg: number, bytes: number): Uint8Array {
    const out = new Uint8Array(Math.max(bytes, 8));
    this.check('uc_reg_read', this.api.uc_reg_read(this.live(), reg, out));
    return out.subarray(0, bytes);
  }
  regWrite(reg: number, value: Uint8Array): void {
    const buf = new Uint8Array(Math.max(value.length, 8));
    buf.set(value);
    this.check('uc_reg_write', this.api.uc_reg_write(this.live(), reg, buf));
  }
  /** Runs until `until`, a fault, the instruction count or the timeout; returns the uc_err code. */
  emuStart(begin: number, until: number, timeoutUs: number, count: number): number {
    return this.api.uc_emu_start(this.live(), BigInt(begin), BigInt(until), BigInt(timeoutUs), count);
  }
  emuStop(): void {
    this.check('uc_emu_stop', this.api.uc_emu_stop(this.live()));
  }
  /** Saves every CPU register; the returned handle restores them and must be freed. */
  saveContext(): { restore(): void; free(): void } {
    const out: Ptr[] = [null];
    this.check('uc_context_alloc', this.api.uc_context_alloc(this.live(), out));
    const ctx = out[0];
    this.check('uc_context_save', this.api.uc_context_save(this.live(), ctx));
    return {
      restore: () => this.check('uc_context_restore', this.api.uc_context_restore(this.live(), ctx)),
      free: () => void this.api.uc_context_free(ctx),
    };
  }
  setCpuModel(model: number): void {
    const ctl = C.controlType.UC_CTL_CPU_MODEL | (1 << 26) | (1 << 30);
    this.check('uc_ctl(CPU_MODEL)', this.api.uc_ctl_int(this.live(), ctl, model));
  }
  /** Code hook on [begin, end]; the callback must only record and stop (never start a nested emulation). */
  hookCode(begin: number, end: number, fn: HookCode): void {
    const cb = koffi.register((_uc: Ptr, address: bigint, size: number) => fn(address, size), koffi.pointer(this.api.HookCodeProto));
    this.callbacks.push(cb);
    const out = [0n];
    this.check('uc_hook_add(CODE)', this.api.uc_hook_code(this.live(), out, C.hookType.UC_HOOK_CODE, cb, null, BigInt(begin), BigInt(end)));
  }
  hookMemInvalid(fn: HookMemInvalid): void {
    const cb = koffi.register(
      (_uc: Ptr, type: number, address: bigint, size: number, value: bigint) => fn(type, address, size, value),
      koffi.pointer(this.api.HookMemProto),
    );
    this.callbacks.push(cb);
    const out = [0n];
    const type =
      C.hookType.UC_HOOK_MEM_READ_UNMAPPED | C.hookType.UC_HOOK_MEM_WRITE_UNMAPPED | C.hookType.UC_HOOK_MEM_FETCH_UNMAPPED |
      C.hookType.UC_HOOK_MEM_READ_PROT | C.hookType.UC_HOOK_MEM_WRITE_PROT | C.hookType.UC_HOOK_MEM_FETCH_PROT;
    this.check('uc_hook_add(MEM_INVALID)', this.api.uc_hook_mem(this.live(), out, type, cb, null, 1n, 0n));
  }
  close(): void {
    if (this.handle === null) return;
    this.api.uc_close(this.handle);
    this.handle = null;
    for (const cb of this.callbacks) koffi.unregister(cb);
    this.callbacks.length = 0;
  }
}
