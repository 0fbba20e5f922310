// The host half of abiscope's guest C runtime: the C library functions whose honest home is
// the host. The C half (runtime/src: string functions, printf, stdio on top of
// __abiscope_write) is compiled per target and linked from runtime/lib; these are call-backs,
// made only when a loaded object leaves one of their names undefined (docs/runtime.md).
//  - malloc, calloc, realloc, free: the sandbox's guest heap, whose book-keeping the host
//    keeps (live blocks and bytes are visible in sb.heapStats());
//  - exit, _exit, abort, raise, __assert_fail, __stack_chk_fail, __abiscope_fail: a typed
//    GuestTermination reaching the caller of the outermost call-out;
//  - __errno_location: one errno word per guest thread;
//  - __abiscope_write: the bytes printf, puts... produce, captured per call-out.
import type { GuestThread } from './guest-thread.ts';
import type { Machine } from '../emu/machine.ts';
import type { Callback, CallbackContext } from './callback.ts';
import type { JsValue } from '../layout/values.ts';
import { GuestAbort, GuestExit } from './termination.ts';
import { HeapError } from '../emu/heap.ts';

const ENOMEM = 12;
const EBADF = 9;
/** Largest single write accepted from the guest: a corrupt length must not read the whole address space. */
const MAX_WRITE = 16 << 20;
const SIGNALS: Record<number, string> = { 4: 'SIGILL', 6: 'SIGABRT', 8: 'SIGFPE (integer division by zero in libgcc)', 11: 'SIGSEGV' };

/** What the host functions need from their sandbox. */
export interface HostRuntimeEnv {
  machine: Machine;
  callback(prototype: string, fn: (this: CallbackContext, ...args: JsValue[]) => unknown): Callback;
  /** The guest thread whose call-back is running now. */
  currentThread(): GuestThread;
  /** Bytes written to fd 1 or 2 by guest code running on `thread`. */
  output(thread: GuestThread, fd: 1 | 2, bytes: Uint8Array): void;
}

type HostFunction = (this: CallbackContext, ...args: JsValue[]) => unknown;

/** Where a host function was called from, for GuestTermination: 'check+0x1c (0x10234)'. */
function caller(ctx: CallbackContext): string {
  const d = ctx.describe;
  const at = d.indexOf(' called from ');
  return at < 0 ? d : d.slice(at + ' called from '.length);
}

const num = (v: JsValue): number => Number(v as number | bigint);

export class HostRuntime {
  private readonly made = new Map<string, Callback>();
  private readonly errnoOf = new WeakMap<GuestThread, number>();
  private readonly functions: Record<string, { prototype: string; fn: HostFunction }>;

  constructor(private readonly env: HostRuntimeEnv) {
    const m = env.machine;
    const heap = m.heap;
    const rt = this;
    const allocate = (size: number, zero: boolean): number => {
      try {
        const p = heap.allocate(size);
        if (zero) m.write(p, new Uint8Array(heap.sizeOf(p) ?? size));
        return p;
      } catch (e) {
        if (!(e instanceof HeapError)) throw e;
        rt.setErrno(ENOMEM);
        return 0;
      }
    };
    const release = (p: number, ctx: CallbackContext, what: string): void => {
      if (heap.sizeOf(p) === undefined) throw new GuestAbort(`${what}(): invalid pointer 0x${p.toString(16)} (not a live block of the guest heap: freed twice, or never allocated)`, caller(ctx));
      heap.release(p);
    };
    this.functions = {
      malloc: { prototype: 'void *(unsigned long size)', fn: (size) => allocate(num(size), false) },
      calloc: {
        prototype: 'void *(unsigned long n, unsigned long size)',
        fn: (n, size) => {
          const bytes = num(n) * num(size);
          if (!Number.isSafeInteger(bytes) || bytes > heap.size) {
            rt.setErrno(ENOMEM);
            return 0;
          }
          return allocate(bytes, true);
        },
      },
      realloc: {
        prototype: 'void *(void *p, unsigned long size)',
        fn(p, size) {
          const old = num(p), n = num(size);
          if (old === 0) return allocate(n, false);
          const had = heap.sizeOf(old);
          if (had === undefined) throw new GuestAbort(`realloc(): invalid pointer 0x${old.toString(16)}`, caller(this));
          if (n === 0) { // glibc: frees the block and returns NULL
            heap.release(old);
            return 0;
          }
          const fresh = allocate(n, false);
          if (fresh === 0) return 0; // the old block stays valid, as C says
          m.write(fresh, m.read(old, Math.min(had, n)));
          heap.release(old);
          return fresh;
        },
      },
      free: {
        prototype: 'void (void *p)',
        fn(p) {
          if (num(p) !== 0) release(num(p), this, 'free');
        },
      },
      exit: { prototype: 'void (int status)', fn(status) { throw new GuestExit(num(status), 'exit', caller(this)); } },
      _exit: { prototype: 'void (int status)', fn(status) { throw new GuestExit(num(status), '_exit', caller(this)); } },
      abort: { prototype: 'void (void)', fn() { throw new GuestAbort('the guest called abort()', caller(this)); } },
      raise: {
        prototype: 'int (int sig)',
        fn(sig) {
          const s = num(sig);
          throw new GuestAbort(`the guest raised signal ${s}${SIGNALS[s] ? ` (${SIGNALS[s]})` : ''}`, caller(this));
        },
      },
      __assert_fail: {
        prototype: 'void (const char *expression, const char *file, unsigned int line, const char *function)',
        fn(expression, file, line, fn) {
          const a = { expression: m.readCString(num(expression)), file: m.readCString(num(file)), line: num(line), function: m.readCString(num(fn)) };
          throw new GuestAbort(`${a.file}:${a.line}: ${a.function}: Assertion \`${a.expression}' failed.`, caller(this), a);
        },
      },
      __stack_chk_fail: { prototype: 'void (void)', fn() { throw new GuestAbort('*** stack smashing detected ***: the stack protector found its canary overwritten', caller(this)); } },
      __abiscope_fail: { prototype: 'void (const char *message)', fn(message) { throw new GuestAbort(m.readCString(num(message)), caller(this)); } },
      __errno_location: { prototype: 'int *(void)', fn: () => rt.errnoAddress(env.currentThread()) },
      __abiscope_write: {
        prototype: 'long (int fd, const void *buf, unsigned long len)',
        fn(fd, buf, len) {
          const f = num(fd), n = num(len);
          if (f !== 1 && f !== 2) {
            rt.setErrno(EBADF);
            return -1;
          }
          if (n > MAX_WRITE) throw new GuestAbort(`__abiscope_write(${f}, 0x${num(buf).toString(16)}, ${n}): more than ${MAX_WRITE} bytes in one write`, caller(this));
          if (n > 0) env.output(env.currentThread(), f, m.read(num(buf), n));
          return n;
        },
      },
    };
  }

  /** Names this runtime implements. */
  get names(): string[] {
    return Object.keys(this.functions);
  }

  /** The guest address of host function `name` (made on first use), or undefined if it is not one. */
  address(name: string): number | undefined {
    if (!Object.hasOwn(this.functions, name)) return undefined;
    let cb = this.made.get(name);
    if (!cb) {
      const f = this.functions[name];
      cb = this.env.callback(f.prototype, f.fn);
      this.made.set(name, cb);
    }
    return cb.address;
  }

  /** The errno word of `thread` (allocated on first use, 0 at first). */
  errnoAddress(thread: GuestThread): number {
    let at = this.errnoOf.get(thread);
    if (at === undefined) {
      at = this.env.machine.heap.allocate(4, 4);
      this.env.machine.write(at, new Uint8Array(4));
      this.errnoOf.set(thread, at);
    }
    return at;
  }

  private setErrno(value: number): void {
    const m = this.env.machine;
    const at = this.errnoAddress(this.env.currentThread());
    const b = new Uint8Array(4);
    new DataView(b.buffer).setInt32(0, value, m.littleEndian);
    m.write(at, b);
  }
}
