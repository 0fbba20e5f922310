// The emulated machine: one Unicorn CPU with mapped memory, a guest heap, stacks,
// a host-trap page, typed register access and a run loop that hands traps to the host.
import { UsageError } from '../errors.ts';
import { Unicorn, UC, X86_INSN } from './unicorn.ts';
import { Assembler, Disassembler } from './asm.ts';
import { TARGETS, type TargetName, type TargetProfile } from './targets.ts';
import { GuestHeap } from './heap.ts';
import { x87BytesToNumber } from './x87.ts';
import {
  DEFAULT_MEMORY_LIMIT, GuestMemoryError, hexRange, LAYOUT, MAX_REGIONS, PAGE, alignDown, alignUp, type Perms, type Region,
} from './memory-map.ts';
import { ElfError, linkElf, type ElfSymbol, type LinkedImage, type LinkInput, type LinkOptions } from './elf.ts';
import {
  BudgetExhaustedFault, CpuExceptionFault, MemoryFault, StackOverflowFault, SystemCallFault, TimeoutFault, WildJumpFault,
  type FaultContext, type GuestFault,
} from './faults.ts';
import {
  describeAt, haltEndingBlock, haltFault, interruptFault, invalidInstructionFault, privilegedFault, privilegedInBlock,
  type HaltSite, type PrivilegedSite,
} from './stop-reasons.ts';
import { callChain } from './backtrace.ts';

export interface RunLimits {
  /** Instructions per run before BudgetExhaustedFault (default 50 million). */
  budget?: number;
  /** Wall-clock limit per run in milliseconds (default none: the budget bounds every run, and a timed run costs a Unicorn watchdog thread, ~150 us). */
  timeoutMs?: number;
}

/** A run ended at a host-trap slot: slot 0 is the call-out return sentinel. */
export interface TrapStop { slot: number; address: number }

/** What Machine.attachTrace calls (sandbox/trace.ts records it). */
export interface TraceSink {
  instruction(address: number, size: number): void;
  memory(write: boolean, address: number, size: number, value: bigint): void;
  /** The guest reached the host-trap page (the run stops there: a call-back, the return sentinel). */
  reached(address: number): void;
}

export interface GuestStack { name: string; top: number; bottom: number; guard: number }

const PERM_BITS: Record<Perms, number> = { r: 1, rw: 3, rx: 5, rwx: 7 };

interface PendingFault { type: number; address: bigint }

/**
 * What a hook saw before it stopped the run (hooks only record and stop): an interrupt or
 * exception, an x86 system-call instruction (with its own pc, read in the hook), or a freshly
 * translated block holding a privileged x86 instruction, stopped before any of it ran.
 */
type StopEvent =
  | { kind: 'interrupt'; intno: number }
  | { kind: 'x86-system-call'; mnemonic: 'syscall' | 'sysenter'; pc: bigint }
  | { kind: 'privileged'; site: PrivilegedSite; blockStart: number; blockEnd: number };

/** `until` of every run: the last trap slot. Traps stop through the hook; reaching it is a wild jump. */
const RUN_UNTIL = LAYOUT.trapBase + PAGE - LAYOUT.trapSlotBytes;

/** Code given to assembleAt is longer than the room it may take. */
export class SnippetTooLargeError extends UsageError {
  constructor(readonly bytes: number, readonly room: number) {
    super(`code snippet of ${bytes} bytes exceeds its ${room}-byte slot`);
    this.name = 'SnippetTooLargeError';
  }
}

export interface MachineOptions {
  /** Guest memory mapped in all, in bytes (default 1 GiB): loads, stacks and the heap count. */
  memoryLimit?: number;
}

/** The heap, the main stack and what a sandbox maps for itself (call-back entries...) fit in this. */
const MIN_MEMORY = 128 * 1024 * 1024;

export class Machine {
  readonly heap = new GuestHeap(LAYOUT.heapBase, LAYOUT.heapSize);
  readonly regions: Region[] = [];
  readonly symbols = new Map<string, ElfSymbol>();
  /** Static functions of loaded files: they name code addresses, but nothing links to them. */
  private readonly localFunctions: ElfSymbol[] = [];
  readonly stacks: GuestStack[] = [];
  private readonly uc: Unicorn;
  private nextLoad: number = LAYOUT.loadBase;
  private trapHit: TrapStop | undefined;
  private memFault: PendingFault | undefined;
  private stopEvent: StopEvent | undefined;
  /** ARM/AArch64 blocks ending in `wfi`, by their end address (see haltEndingBlock). */
  private readonly haltSites = new Map<number, HaltSite>();
  private trapSlotsUsed = 1;
  private closed = false;
  /** Code abiscope assembled itself (stubs, thunks, call-back entries), never checked for privileged instructions. */
  private readonly trustedCode: [number, number][] = [];
  /** Regions mapped in Unicorn and their bytes, against MAX_REGIONS and the memory limit. */
  private mappedRegions = 0;
  private mappedBytes = 0;
  readonly memoryLimit: number;

  private constructor(readonly target: TargetProfile, readonly assembler: Assembler, opts: MachineOptions) {
    this.memoryLimit = opts.memoryLimit ?? DEFAULT_MEMORY_LIMIT;
    this.uc = new Unicorn(target.arch, target.mode);
    if (target.name === 'arm') this.uc.setCpuModel(UC.cpuArm.UC_CPU_ARM_CORTEX_A15);
    target.powerOn(this.uc);
    this.map(LAYOUT.trapBase, PAGE, 'rx', 'host-trap', 'trap');
    const translatedBlocks = target.name !== 'ppc32';
    if (translatedBlocks) this.primeBlockHook();
    this.uc.hookCode(LAYOUT.trapBase, LAYOUT.trapBase + PAGE - 1, (address) => {
      const a = Number(address);
      this.trapHit = { slot: Math.floor((a - LAYOUT.trapBase) / LAYOUT.trapSlotBytes), address: a };
      this.uc.emuStop();
    });
    this.uc.hookMemInvalid((type, address) => {
      this.memFault = { type, address };
      return false;
    });
    // Every interrupt and CPU exception (int3, svc, sc, trap, #DE...): without this hook Unicorn
    // ends the run with UC_ERR_EXCEPTION and no number; with it, the run would go on, so it stops.
    this.uc.hookIntr((intno) => {
      this.stopEvent ??= { kind: 'interrupt', intno };
      this.uc.emuStop();
    });
    if (target.name === 'x86' || target.name === 'x86_64') {
      // Unicorn does not emulate syscall/sysenter: without a hook it runs on as if they were nops.
      for (const [mnemonic, insn] of [['syscall', X86_INSN.UC_X86_INS_SYSCALL], ['sysenter', X86_INSN.UC_X86_INS_SYSENTER]] as const) {
        this.uc.hookInsn(insn, () => {
          this.stopEvent ??= { kind: 'x86-system-call', mnemonic, pc: this.readReg(target.pc) };
          this.uc.emuStop();
        });
      }
    }
    if (translatedBlocks) {
      // Each block once, when Unicorn translates it (cached blocks cost nothing): x86 privileged
      // instructions, which Unicorn would run at privilege level 0, stop the run before the block
      // runs; ARM blocks ending in wfi are remembered, to tell its halt from a spent budget.
      this.uc.hookBlockTranslated((pc, _icount, size) => {
        const start = Number(pc);
        if (start >= LAYOUT.trapBase && start < LAYOUT.trapBase + PAGE) return;
        // abiscope's own stubs and thunks hold no such instruction: checking them would load Capstone on every first call.
        if (this.trustedCode.some(([s, e]) => start >= s && start < e)) return;
        if (target.name === 'x86' || target.name === 'x86_64') {
          const site = this.stopEvent ? undefined : privilegedInBlock(this, start, size);
          if (site) {
            this.stopEvent = { kind: 'privileged', site, blockStart: start, blockEnd: start + size };
            this.uc.emuStop();
          }
        } else {
          const halt = haltEndingBlock(this, start, size);
          if (halt) this.haltSites.set(start + size, halt);
        }
      });
    }
    this.map(LAYOUT.heapBase, LAYOUT.heapSize, 'rw', 'heap', 'heap');
    this.addStack('main', LAYOUT.stackTop, LAYOUT.stackSize);
  }

  static async open(name: TargetName, opts: MachineOptions = {}): Promise<Machine> {
    const target = TARGETS[name];
    if (!target) throw new UsageError(`unknown target '${name}': expected one of ${Object.keys(TARGETS).join(', ')}`);
    if (opts.memoryLimit !== undefined && !(Number.isSafeInteger(opts.memoryLimit) && opts.memoryLimit >= MIN_MEMORY && opts.memoryLimit <= 2 ** 32)) {
      throw new UsageError(`memoryLimit ${opts.memoryLimit}: expected a whole number of bytes from ${MIN_MEMORY} to 2^32 (default ${DEFAULT_MEMORY_LIMIT})`);
    }
    return new Machine(target, await Assembler.create(target.isa), opts);
  }

  /** Capstone for this target, made on first use (a fault report, a call chain): opening a machine does not load it. */
  get disassembler(): Disassembler {
    return Disassembler.for(this.target.isa);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.uc.close();
  }

  // ---- memory ----

  /**
   * Maps [start, start+size) page-aligned; overlapping an existing region is an error, and so
   * is going past MAX_REGIONS or the memory limit (checked before Unicorn is asked).
   */
  map(start: number, size: number, perms: Perms, name: string, kind: Region['kind']): Region {
    const s = alignDown(start, PAGE);
    const e = alignUp(start + size, PAGE);
    if (!(Number.isSafeInteger(s) && Number.isSafeInteger(e) && s >= 0 && e > s && e <= this.addressLimit)) {
      throw new GuestMemoryError(`cannot map ${name} at ${hexRange(s, e)}: outside the guest address space`);
    }
    const clash = this.regions.find((r) => r.start < e && s < r.end);
    if (clash) throw new GuestMemoryError(`cannot map ${name} at ${hexRange(s, e)}: it overlaps ${clash.name} ${hexRange(clash.start, clash.end)}`);
    if (kind !== 'guard') {
      this.checkRoom(1, e - s, name);
      this.uc.memMap(s, e - s, PERM_BITS[perms]);
      this.mappedRegions++;
      this.mappedBytes += e - s;
    }
    const region = { name, start: s, end: e, perms, kind };
    this.regions.push(region);
    return region;
  }

  /** Throws unless `regions` more regions of `bytes` in all still fit. */
  private checkRoom(regions: number, bytes: number, what: string): void {
    if (this.mappedRegions + regions > MAX_REGIONS) {
      throw new GuestMemoryError(`cannot map ${what}: the machine has ${this.mappedRegions} memory regions, the most abiscope maps (MAX_REGIONS: Unicorn aborts the process past about 4,096 and slows down long before)`);
    }
    if (this.mappedBytes + bytes > this.memoryLimit) {
      throw new GuestMemoryError(`cannot map ${what} (${bytes} bytes): ${this.mappedBytes} bytes of the machine's ${this.memoryLimit}-byte memory limit are mapped (Sandbox.open option memoryLimit)`);
    }
  }

  /** Where guest memory may go: below 2^32 on 32-bit targets; all targets use the low 2 GiB (memory-map.ts). */
  private get addressLimit(): number {
    return this.target.pointerSize === 8 ? 2 ** 47 : 2 ** 32;
  }

  regionAt(address: number): Region | undefined {
    return this.regions.find((r) => address >= r.start && address < r.end);
  }

  /**
   * Writes guest memory. A write into code drops Unicorn's translation of that range: Unicorn
   * does not notice host writes to code it already translated (a re-assembled call-back entry,
   * a patched function) and would go on running the old instructions.
   */
  write(address: number, bytes: Uint8Array): void {
    this.uc.memWrite(address, bytes);
    const end = address + bytes.length;
    if (bytes.length && this.regions.some((r) => r.perms.includes('x') && r.start < end && address < r.end)) this.uc.removeCache(address, end);
  }
  read(address: number, size: number): Uint8Array {
    return this.uc.memRead(address, size);
  }
  /** Reads into a view the caller reuses (no allocation: the hot paths use it). */
  readInto(address: number, out: Uint8Array): void {
    this.uc.memReadInto(address, out);
  }
  view(address: number, size: number): DataView {
    const b = this.read(address, size);
    return new DataView(b.buffer, b.byteOffset, b.byteLength);
  }
  get littleEndian(): boolean {
    return this.target.endian === 'little';
  }

  readU8(a: number): number { return this.read(a, 1)[0]; }
  readU16(a: number): number { return this.view(a, 2).getUint16(0, this.littleEndian); }
  readU32(a: number): number { return this.view(a, 4).getUint32(0, this.littleEndian); }
  readI32(a: number): number { return this.view(a, 4).getInt32(0, this.littleEndian); }
  readU64(a: number): bigint { return this.view(a, 8).getBigUint64(0, this.littleEndian); }
  readF32(a: number): number { return this.view(a, 4).getFloat32(0, this.littleEndian); }
  readF64(a: number): number { return this.view(a, 8).getFloat64(0, this.littleEndian); }
  readPointer(a: number): number {
    return this.target.pointerSize === 8 ? Number(this.readU64(a)) : this.readU32(a);
  }
  writeU8(a: number, v: number): void { this.write(a, Uint8Array.of(v & 0xff)); }
  writeU16(a: number, v: number): void { this.write(a, this.encode(2, (d) => d.setUint16(0, v, this.littleEndian))); }
  writeU32(a: number, v: number): void { this.write(a, this.encode(4, (d) => d.setUint32(0, v >>> 0, this.littleEndian))); }
  writeU64(a: number, v: bigint): void { this.write(a, this.encode(8, (d) => d.setBigUint64(0, BigInt.asUintN(64, v), this.littleEndian))); }
  writeF32(a: number, v: number): void { this.write(a, this.encode(4, (d) => d.setFloat32(0, v, this.littleEndian))); }
  writeF64(a: number, v: number): void { this.write(a, this.encode(8, (d) => d.setFloat64(0, v, this.littleEndian))); }
  writePointer(a: number, v: number): void {
    if (this.target.pointerSize === 8) this.writeU64(a, BigInt(v));
    else this.writeU32(a, v);
  }
  private encode(n: number, f: (d: DataView) => void): Uint8Array {
    const b = new Uint8Array(n);
    f(new DataView(b.buffer));
    return b;
  }

  /** Copies a NUL-terminated string out of guest memory (at most `max` bytes). */
  readCString(a: number, max = 1 << 16): string {
    const out: number[] = [];
    for (let i = 0; i < max; i++) {
      const c = this.readU8(a + i);
      if (c === 0) break;
      out.push(c);
    }
    return new TextDecoder().decode(Uint8Array.from(out));
  }

  // ---- stacks ----

  /** Maps a stack of `size` bytes ending at `top`, with an unmapped guard page below. */
  addStack(name: string, top: number, size: number): GuestStack {
    const bottom = top - size;
    this.map(bottom - PAGE, PAGE, 'r', `${name} stack guard`, 'guard');
    this.map(bottom, size, 'rw', `${name} stack`, 'stack');
    const stack = { name, top, bottom, guard: bottom - PAGE };
    this.stacks.push(stack);
    return stack;
  }

  /** A new independent stack (for a guest thread) below the existing ones. */
  newThreadStack(name: string, size: number = LAYOUT.threadStackSize): GuestStack {
    const lowest = Math.min(...this.stacks.map((s) => s.guard));
    return this.addStack(name, lowest - PAGE, size);
  }

  get mainStack(): GuestStack {
    return this.stacks[0];
  }

  // ---- registers ----

  private reg(name: string) {
    const r = this.target.registers[name];
    if (!r) throw new Error(`${this.target.name} has no register '${name}'`);
    return r;
  }
  /** Raw register bytes, little-endian as Unicorn gives them. `st0`..`st7` read the x87 stack. */
  readRegBytes(name: string): Uint8Array {
    const st = /^st([0-7])$/.exec(name);
    if (st) return this.uc.regRead(this.reg(`fp${this.x87Physical(Number(st[1]))}`).id, 10);
    const r = this.reg(name);
    return this.uc.regRead(r.id, r.bytes);
  }
  writeRegBytes(name: string, bytes: Uint8Array): void {
    this.uc.regWrite(this.reg(name).id, bytes);
  }
  /**
   * Integer values of several registers with one Unicorn call (x87 `st` names are not
   * accepted here); the ids are resolved once per list by the caller's `registerIds`.
   */
  readRegisters(ids: Int32Array, widths: number[]): bigint[] {
    const out = widths.map(() => new Uint8Array(16));
    this.uc.regReadBatch(ids, out);
    return out.map((b, i) => {
      let v = 0n;
      for (let k = widths[i] - 1; k >= 0; k--) v = (v << 8n) | BigInt(b[k]);
      return v;
    });
  }

  /** Unicorn ids and widths of registers, for readRegisters. */
  registerIds(names: readonly string[]): { ids: Int32Array; widths: number[] } {
    const infos = names.map((n) => this.reg(n));
    return { ids: Int32Array.from(infos.map((r) => r.id)), widths: infos.map((r) => r.bytes) };
  }

  /** A register's bytes (little-endian, as Unicorn gives them) into a view the caller reuses (traces: no allocation). */
  readRegInto(name: string, out: Uint8Array): void {
    this.uc.regReadInto(this.reg(name).id, out);
  }

  /** Integer view of a register, zero-extended. */
  readReg(name: string): bigint {
    const r = this.target.registers[name];
    if (r && r.bytes <= 8) return BigInt.asUintN(r.bytes * 8, this.uc.regReadU64(r.id));
    const b = this.readRegBytes(name);
    let v = 0n;
    for (let i = Math.min(b.length, 16) - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
    return v;
  }
  readRegNumber(name: string): number {
    return Number(this.readReg(name));
  }
  writeReg(name: string, value: bigint | number): void {
    const r = this.reg(name);
    if (r.bytes <= 8) return this.uc.regWriteU64(r.id, BigInt(value));
    let v = BigInt.asUintN(r.bytes * 8, BigInt(value));
    const b = new Uint8Array(r.bytes);
    for (let i = 0; i < r.bytes; i++, v >>= 8n) b[i] = Number(v & 0xffn);
    this.uc.regWrite(r.id, b);
  }
  /** A double in an FP register (d0, f1, the low half of xmm0...). */
  readRegF64(name: string): number {
    return new DataView(this.readRegBytes(name).slice(0, 8).buffer).getFloat64(0, true);
  }
  readRegF32(name: string): number {
    return new DataView(this.readRegBytes(name).slice(0, 4).buffer).getFloat32(0, true);
  }
  writeRegF64(name: string, v: number): void {
    const b = new Uint8Array(Math.max(8, this.reg(name).bytes));
    new DataView(b.buffer).setFloat64(0, v, true);
    this.writeRegBytes(name, b);
  }
  writeRegF32(name: string, v: number): void {
    const b = new Uint8Array(Math.max(4, this.reg(name).bytes));
    new DataView(b.buffer).setFloat32(0, v, true);
    this.writeRegBytes(name, b);
  }
  /** x87 ST(i) lives in physical register (TOP + i) mod 8, TOP = FPSW bits 11..13 (docs/unicorn-notes.md). */
  private x87Physical(i: number): number {
    const fpsw = Number(this.readReg('fpsw'));
    return (((fpsw >> 11) & 7) + i) & 7;
  }
  /** ST(i) as a JS number (80-bit extended rounded to double). */
  readX87(i: number): number {
    return x87BytesToNumber(this.readRegBytes(`st${i}`));
  }

  get pc(): number { return this.readRegNumber(this.target.pc); }
  get sp(): number { return this.readRegNumber(this.target.sp); }
  set sp(v: number) { this.writeReg(this.target.sp, v); }

  /** Saves all CPU registers (for host work between runs, e.g. a call-back). */
  saveRegisters(): { restore(): void; free(): void } {
    return this.uc.saveContext();
  }

  /** Fills integer and FP registers with a pattern, so stale values cannot pass a test. */
  poisonRegisters(byte = 0xa5): void {
    for (const [name, r] of Object.entries(this.target.registers)) {
      if ((r.kind === 'int' || r.kind === 'fp' || r.kind === 'vec') && name !== this.target.pc && name !== this.target.sp && !/^(cpsr|msr|rflags|eflags|nzcv|cr|xer|fpcr|fpsr|al)$/.test(name)) {
        this.uc.regWrite(r.id, new Uint8Array(r.bytes).fill(byte));
      }
    }
  }

  /** Fills `size` bytes below `top` with a pattern. */
  poisonMemory(top: number, size: number, byte = 0xa5): void {
    this.write(top - size, new Uint8Array(size).fill(byte));
  }

  // ---- loading code ----

  /**
   * Loads ELF objects, static executables and archives; they resolve against each other and
   * earlier loads (see LinkOptions for the order: resolve, archives, libraries, fallback).
   */
  load(inputs: LinkInput[], opts: Omit<LinkOptions, 'base' | 'machine'> = {}): LinkedImage {
    return this.loadImage((base) => linkElf(inputs, {
      ...opts,
      base,
      machine: this.target.name,
      maxBytes: this.memoryLimit - this.mappedBytes,
      resolve: (n) => opts.resolve?.(n) ?? this.symbols.get(n)?.address,
    }));
  }

  /**
   * Maps an image built for the next free load address (`build` gets that address); its
   * symbols become known. Pages the image's segments share get the union of their
   * permissions, and each run of pages with one set of permissions is one region (not one
   * per page: Unicorn's region limit, and speed). A segment over an existing region (an
   * executable linked at abiscope's own addresses) is an ElfError naming both ranges.
   */
  loadImage(build: (base: number) => LinkedImage): LinkedImage {
    const image = build(this.nextLoad);
    if (image.segments.length && image.machine !== this.target.name) {
      throw new ElfError(`the image is ${image.machine} code, but this machine is ${this.target.name}`);
    }
    const runs = pageRuns(image.segments);
    for (const run of runs) {
      const clash = this.regions.find((r) => r.start < run.end && run.start < r.end);
      if (clash) throw new ElfError(`${run.name} ${hexRange(run.start, run.end)} overlaps ${clash.name} ${hexRange(clash.start, clash.end)}`);
      if (run.end > this.addressLimit) throw new ElfError(`${run.name} ${hexRange(run.start, run.end)} ends beyond the guest address space`);
    }
    this.checkRoom(runs.length, runs.reduce((n, r) => n + r.end - r.start, 0), `the image (${runs.map((r) => r.name).join(', ')})`);
    for (const run of runs) this.map(run.start, run.end - run.start, run.perms, run.name, run.perms.includes('x') ? 'code' : 'data');
    // Fresh memory is zero: only the initialized part is written (a large .bss costs nothing).
    for (const seg of image.segments) this.write(seg.address, seg.bytes.subarray(0, seg.initialized));
    for (const [name, sym] of image.symbols) if (sym.defined) this.symbols.set(name, sym);
    this.localFunctions.push(...image.locals);
    this.nextLoad = Math.max(this.nextLoad, alignUp(image.end, PAGE));
    return image;
  }

  /** Assembles and maps code in a fresh executable region; returns its address. */
  loadAssembly(text: string, name: string, opts: { trusted?: boolean } = {}): { address: number; bytes: Uint8Array } {
    const address = this.nextLoad;
    const bytes = this.assembler.assemble(text, address);
    const region = this.map(address, bytes.length, 'rx', name, 'code');
    if (opts.trusted) this.trustedCode.push([region.start, region.end]);
    this.write(address, bytes);
    this.nextLoad = alignUp(address + bytes.length, PAGE);
    return { address, bytes };
  }

  /**
   * Reserves an executable region for many small code snippets (call-back entries):
   * one mapping, so thousands of snippets do not exhaust Unicorn's memory sections.
   */
  reserveCode(size: number, name: string, opts: { trusted?: boolean } = {}): number {
    const address = this.nextLoad;
    const region = this.map(address, size, 'rx', name, 'code');
    if (opts.trusted) this.trustedCode.push([region.start, region.end]);
    this.nextLoad = alignUp(address + size, PAGE);
    return address;
  }

  /** Names code that has no ELF symbol (a compiled stub in reserved code), for symbolize and call chains. */
  nameCode(address: number, size: number, name: string): void {
    this.localFunctions.push({ name, address, size, kind: 'func', binding: 'local', thumb: false, defined: true });
  }

  /** Assembles `text` at `address` (inside reserved code) and writes it; returns its size. */
  assembleAt(text: string, address: number, maxBytes: number): number {
    const bytes = this.assembler.assemble(text, address);
    if (bytes.length > maxBytes) throw new SnippetTooLargeError(bytes.length, maxBytes);
    this.write(address, bytes);
    return bytes.length;
  }

  symbol(name: string): ElfSymbol {
    const s = this.symbols.get(name);
    if (!s) throw new UsageError(`no symbol '${name}' is loaded`);
    return s;
  }

  /** An instruction address without the ARM Thumb bit. */
  codeAddress(address: number): number {
    return this.target.name === 'arm' ? address & ~1 : address;
  }

  /**
   * `name+0xoff` for an address inside a loaded function, else hex. A return address
   * (`returnAddress`) is looked up one byte before it: after a call to a function that does
   * not return, it is already past the end of its caller. A bigint is printed exactly (a wild
   * 64-bit pc is no loaded code).
   */
  symbolize(address: number | bigint, opts: { returnAddress?: boolean } = {}): string {
    if (typeof address === 'bigint') {
      if (address < 0n || address > BigInt(Number.MAX_SAFE_INTEGER)) return `0x${BigInt.asUintN(64, address).toString(16)}`;
      address = Number(address);
    }
    const a = this.codeAddress(address);
    const probe = opts.returnAddress ? a - 1 : a;
    let best: ElfSymbol | undefined;
    for (const s of [...this.symbols.values(), ...this.localFunctions]) {
      const start = this.codeAddress(s.address);
      if (s.kind !== 'func' || probe < start) continue;
      if (probe < start + Math.max(s.size, 1) && (!best || start > this.codeAddress(best.address))) best = s;
    }
    const hex = `0x${address.toString(16)}`;
    if (a >= LAYOUT.trapBase && a < LAYOUT.trapBase + PAGE) return `host-trap slot ${Math.floor((a - LAYOUT.trapBase) / LAYOUT.trapSlotBytes)} (${hex})`;
    if (!best) {
      // Code without a symbol (abiscope's call stub, thunk, entries; an ELF page): its region.
      const region = this.regionAt(probe);
      return region?.kind === 'code' ? `${region.name}+0x${(a - region.start).toString(16)} (${hex})` : hex;
    }
    const off = a - this.codeAddress(best.address);
    return off ? `${best.name}+0x${off.toString(16)} (${hex})` : `${best.name} (${hex})`;
  }

  // ---- host traps ----

  /** Address of trap slot n. Fetching it stops the run with TrapStop{slot: n}. */
  trapAddress(slot: number): number {
    if (slot < 0 || slot >= PAGE / LAYOUT.trapSlotBytes) throw new Error(`trap slot ${slot} out of range`);
    return LAYOUT.trapBase + slot * LAYOUT.trapSlotBytes;
  }
  /** Reserves a fresh trap slot (slot 0 is the return sentinel). */
  allocateTrapSlot(): number {
    if (this.trapSlotsUsed >= PAGE / LAYOUT.trapSlotBytes) throw new Error('no free host-trap slots');
    return this.trapSlotsUsed++;
  }
  get returnSentinel(): number {
    return this.trapAddress(0);
  }

  // ---- running ----

  /** Whether pc is Thumb code (ARM only). */
  get thumb(): boolean {
    return this.target.name === 'arm' && (this.readRegNumber('cpsr') & 0x20) !== 0;
  }

  /**
   * Runs from `pc` until the guest fetches a host-trap slot. Hooks only record and stop:
   * the host handles the trap between runs (never a nested uc_emu_start, see docs/unicorn-notes.md).
   * ARM: an odd `pc` starts in Thumb state. Anything else that stops the guest is a GuestFault
   * (emu/stop-reasons.ts says how Unicorn reports each event).
   */
  run(pc: number, limits: RunLimits = {}): TrapStop {
    const budget = limits.budget ?? 50_000_000;
    // No wall-clock limit unless asked: Unicorn starts a watchdog thread for each timed
    // uc_emu_start, which made every call-out and call-back ~10x slower (measured).
    const timeoutMs = limits.timeoutMs ?? 0;
    const started = performance.now();
    let begin: number | bigint = pc;
    let count = budget;
    // A block with a privileged instruction was translated; the run goes on to just before it.
    let reaching: (StopEvent & { kind: 'privileged' }) | undefined;
    try {
      for (;;) {
        this.trapHit = undefined;
        this.memFault = undefined;
        this.stopEvent = undefined;
        const code = this.uc.emuStart(begin, RUN_UNTIL, timeoutMs * 1000, count);
        const hit = this.trapHit as TrapStop | undefined;
        const event = this.stopEvent as StopEvent | undefined;
        if (code !== UC.err.UC_ERR_OK) throw this.faultFromError(code);
        if (hit) return this.checkTrap(hit);
        if (event?.kind === 'privileged') {
          // None of the block ran (the hook stopped the run before it): run the instructions
          // before the privileged one (Unicorn's count stops exactly there), then report it.
          reaching = event;
          if (event.site.before === 0) throw privilegedFault(event.site, (p) => this.faultContext(p));
          begin = this.readReg(this.target.pc);
          count = event.site.before;
          continue;
        }
        if (event) throw this.faultFromError(code, event);
        const now = this.readReg(this.target.pc);
        if (reaching && now === BigInt(reaching.site.address)) throw privilegedFault(reaching.site, (p) => this.faultContext(p));
        if (now === BigInt(RUN_UNTIL)) throw new WildJumpFault(this.trapSlotName(RUN_UNTIL), this.faultContext(now));
        // A halt and a spent budget both end the run with UC_ERR_OK: a halt ended a block with wfi.
        const halt = this.target.name === 'arm' || this.target.name === 'aarch64' ? this.haltSites.get(this.codeAddress(Number(now))) : undefined;
        if (halt) throw haltFault(halt, (p) => this.faultContext(p));
        const elapsed = performance.now() - started;
        if (timeoutMs > 0 && elapsed >= timeoutMs) throw new TimeoutFault(timeoutMs, this.faultContext(now));
        throw new BudgetExhaustedFault(budget, this.faultContext(now));
      }
    } finally {
      // Never keep a block with a privileged instruction translated: the next run through it
      // must reach the block hook again (a cached block is not translated, so not seen).
      if (reaching) this.uc.removeCache(reaching.blockStart, reaching.blockEnd);
    }
  }

  /**
   * One bare uc_emu_start from `pc` until the guest fetches a host-trap slot: no budget, no
   * fault reports, no checks. It is the floor that `npm run bench` compares a call-out with
   * (bench/host.ts); abiscope's own runs go through run(). Returns the slot reached, or -1.
   */
  runBare(pc: number): number {
    this.trapHit = undefined;
    this.uc.emuStart(pc, RUN_UNTIL, 0, 0);
    const hit = this.trapHit as TrapStop | undefined;
    return hit ? hit.slot : -1;
  }

  /**
   * Unicorn calls the block hook only once some block has run to its end (uc->last_tb is set),
   * so a machine's first block would go unseen: two jumps run once in the trap page, before its
   * hook exists, and the page is cleared again.
   */
  private primeBlockHook(): void {
    const code: Record<string, number[]> = {
      x86: [0xeb, 0x00, 0xeb, 0x00], x86_64: [0xeb, 0x00, 0xeb, 0x00],
      arm: [0xff, 0xff, 0xff, 0xea, 0xff, 0xff, 0xff, 0xea], aarch64: [0x01, 0, 0, 0x14, 0x01, 0, 0, 0x14],
    };
    const bytes = Uint8Array.from(code[this.target.name] ?? []);
    if (!bytes.length) return;
    this.write(LAYOUT.trapBase, bytes);
    this.uc.emuStart(LAYOUT.trapBase, RUN_UNTIL, 0, 2);
    this.write(LAYOUT.trapBase, new Uint8Array(bytes.length));
    this.uc.removeCache(LAYOUT.trapBase, LAYOUT.trapBase + PAGE);
  }

  /** A trap slot is only reached by abiscope's own code: anywhere else is a wild jump into the page. */
  private checkTrap(hit: TrapStop): TrapStop {
    if ((hit.address - LAYOUT.trapBase) % LAYOUT.trapSlotBytes === 0 && hit.slot < this.trapSlotsUsed) return hit;
    throw new WildJumpFault(this.trapSlotName(hit.address), this.faultContext(BigInt(hit.address)));
  }

  /** What an address in the trap page is, for a wild jump's message. */
  private trapSlotName(address: number): string {
    const offset = address - LAYOUT.trapBase;
    const slot = Math.floor(offset / LAYOUT.trapSlotBytes);
    if (offset % LAYOUT.trapSlotBytes !== 0) return `abiscope's host-trap page at offset 0x${offset.toString(16)}, inside slot ${slot} but not at its start`;
    return `host-trap slot ${slot}, which is not allocated`;
  }

  private faultFromError(code: number, event?: StopEvent): GuestFault {
    const E = UC.err;
    const pc = this.readReg(this.target.pc);
    const at = (p: bigint) => this.faultContext(p);
    if (event?.kind === 'interrupt') return interruptFault(this, event.intno, pc, at);
    if (event?.kind === 'x86-system-call') {
      const reg = this.target.name === 'x86' ? 'eax' : 'rax';
      return new SystemCallFault(event.mnemonic, this.readReg(reg), reg, at(event.pc));
    }
    const f = this.memFault;
    if (f) {
      const M = UC.memType;
      const access = f.type === M.UC_MEM_WRITE_UNMAPPED || f.type === M.UC_MEM_WRITE_PROT ? 'write'
        : f.type === M.UC_MEM_FETCH_UNMAPPED || f.type === M.UC_MEM_FETCH_PROT ? 'fetch' : 'read';
      const region = f.address <= BigInt(Number.MAX_SAFE_INTEGER) ? this.regionAt(Number(f.address)) : undefined;
      if (region?.kind === 'guard') {
        const stack = this.stacks.find((s) => s.guard === region.start);
        return new StackOverflowFault(Number(f.address), stack?.name ?? region.name, at(pc));
      }
      const prot = f.type === M.UC_MEM_WRITE_PROT || f.type === M.UC_MEM_READ_PROT || f.type === M.UC_MEM_FETCH_PROT;
      return new MemoryFault(access, f.address, prot, at(pc));
    }
    if (code === E.UC_ERR_INSN_INVALID) return invalidInstructionFault(this, pc, at);
    return new CpuExceptionFault(`${this.uc.strerror(code)} in ${describeAt(this, pc, this.thumb ? 'thumb' : this.target.isa)}`, at(pc));
  }

  /**
   * The report of a stop at `pc` (default: the CPU's pc): the instruction there, the registers
   * (one batch read; the pc register shows `pc`, the instruction's own address, where Unicorn
   * stopped after it) and the call chain. Every value is exact (bigint).
   */
  faultContext(pc: bigint = this.readReg(this.target.pc)): FaultContext {
    const names = this.target.reportRegisters;
    const { ids, widths } = this.registerIds(names);
    const values = this.readRegisters(ids, widths);
    const registers: Record<string, bigint> = {};
    names.forEach((r, i) => { registers[r] = values[i]; });
    if (this.target.pc in registers) registers[this.target.pc] = pc;
    return { target: this.target.name, pc, instruction: this.instructionAt(pc), registers, callChain: this.callChain(pc) };
  }

  /** The instruction at `address` (Thumb if the CPU is in Thumb state), or why there is none. */
  instructionAt(address: number | bigint): string {
    const a = BigInt(address);
    const region = a <= BigInt(Number.MAX_SAFE_INTEGER) ? this.regionAt(Number(a)) : undefined;
    if (!region || region.kind === 'guard') return '(unmapped: no instruction there)';
    if (region.kind === 'trap') return "(abiscope's host-trap page: no instruction)";
    if (region.kind !== 'code') return `(not executable: ${region.name})`;
    return describeAt(this, a, this.thumb ? 'thumb' : this.target.isa);
  }

  /**
   * Innermost first: pc, then the frames that are live: return addresses from the link
   * register and the stack, each kept only if the call before it can have made the inner
   * frame (emu/backtrace.ts). Ends at the return sentinel or abiscope's call stub.
   */
  callChain(pc: number | bigint): string[] {
    return callChain(this, BigInt(pc));
  }

  /** Every loaded function symbol, global and local (for call chains). */
  functions(): ElfSymbol[] {
    return [...this.symbols.values(), ...this.localFunctions].filter((s) => s.kind === 'func');
  }

  // ---- tracing (sandbox/trace.ts) ----

  /**
   * Hooks every instruction (outside the host-trap page) and every guest memory read and write
   * until the returned function detaches them. Unicorn 2 calls a hook only from blocks translated
   * while it exists, so every translation is dropped on attach, and again on detach (later runs
   * go without the hooks' helper calls). The sink must only record: it may read registers and
   * memory, never run the guest. `instruction` is called before the instruction runs.
   */
  attachTrace(sink: TraceSink): () => void {
    const trapBase = BigInt(LAYOUT.trapBase);
    const trapEnd = BigInt(LAYOUT.trapBase + PAGE);
    this.dropTranslations();
    const code = this.uc.hookCodeRemovable(1, 0, (address, size) => {
      if (address >= trapBase && address < trapEnd) sink.reached(Number(address));
      else sink.instruction(Number(address), size);
    });
    let mem: bigint;
    try {
      mem = this.uc.hookMemAccessRemovable((write, address, size, value) => sink.memory(write, Number(address), size, value));
    } catch (e) {
      this.uc.hookDel(code);
      throw e;
    }
    let attached = true;
    return () => {
      if (!attached) return;
      attached = false;
      this.uc.hookDel(code);
      this.uc.hookDel(mem);
      this.dropTranslations();
    };
  }

  /**
   * Drops the translated blocks of every executable region, so that hooks added or deleted since
   * apply to all code from the next run on. Per region, not UC_CTL_TB_FLUSH: a whole flush costs
   * 50-200 ms here (measured), removing the regions' blocks well under a millisecond.
   */
  private dropTranslations(): void {
    for (const r of this.regions) if (r.perms.includes('x')) this.uc.removeCache(r.start, r.end);
  }

  /** Whether `address` is in abiscope's own code (call stubs, thunks, call-back entries). */
  isAbiscopeCode(address: number): boolean {
    return this.trustedCode.some(([s, e]) => address >= s && address < e);
  }

  /** `name+0xoff` for an address inside a loaded data object (a global), else undefined. */
  objectAt(address: number): string | undefined {
    for (const s of this.symbols.values()) {
      if (s.kind !== 'object' && s.kind !== 'common') continue;
      if (address >= s.address && address < s.address + Math.max(s.size, 1)) return address === s.address ? s.name : `${s.name}+0x${(address - s.address).toString(16)}`;
    }
    return undefined;
  }

  // ---- instruction counting (bench/instructions.ts) ----

  /**
   * Runs `fn` (e.g. one call-out) and counts the guest instructions executed meanwhile outside
   * the host-trap page (the sentinel and trap slots run nothing): a UC_HOOK_CODE over every
   * address, added before and deleted after. Unicorn 2 calls a code hook only from blocks
   * translated while it exists, so every translation is dropped before (and again after, so
   * later runs go without the hook's helper calls). An x86 `rep` instruction counts once per
   * iteration; an ARM instruction whose condition fails still counts. `onInstruction` sees each
   * counted instruction's address and size (a trace: it may read registers, never run the guest).
   */
  countInstructions<T>(fn: () => T, onInstruction?: (address: bigint, size: number) => void): { result: T; count: number } {
    let count = 0;
    const detach = this.attachTrace({
      instruction: (address, size) => {
        count++;
        onInstruction?.(BigInt(address), size);
      },
      memory: () => {},
      reached: () => {},
    });
    try {
      const result = fn();
      return { result, count };
    } finally {
      detach();
    }
  }

}

/**
 * The pages an image's segments cover, merged into runs of one set of permissions. Segments
 * do not overlap, so only a segment's first and last page can be shared with another one
 * (they get the union of the permissions); the pages between are the segment's own.
 */
function pageRuns(segments: LinkedImage['segments']): { start: number; end: number; perms: Perms; name: string }[] {
  const edges = new Map<number, { perms: Set<string>; names: Set<string> }>();
  const pieces: { start: number; end: number; perms: Set<string>; names: Set<string> }[] = [];
  for (const seg of segments) {
    const first = alignDown(seg.address, PAGE);
    const last = alignDown(seg.address + Math.max(seg.bytes.length, 1) - 1, PAGE);
    for (const p of new Set([first, last])) {
      const e = edges.get(p) ?? { perms: new Set<string>(), names: new Set<string>() };
      for (const c of seg.perms) e.perms.add(c);
      e.names.add(seg.name);
      edges.set(p, e);
    }
    if (last - first > PAGE) pieces.push({ start: first + PAGE, end: last, perms: new Set(seg.perms), names: new Set([seg.name]) });
  }
  for (const [p, e] of edges) pieces.push({ start: p, end: p + PAGE, ...e });
  pieces.sort((a, b) => a.start - b.start);
  const runs: { start: number; end: number; perms: Perms; names: Set<string> }[] = [];
  for (const piece of pieces) {
    const perms = (['r', 'w', 'x'].filter((c) => piece.perms.has(c)).join('') || 'r') as Perms;
    const last = runs[runs.length - 1];
    if (last && last.end === piece.start && last.perms === perms) {
      last.end = piece.end;
      for (const n of piece.names) last.names.add(n);
    } else {
      runs.push({ start: piece.start, end: piece.end, perms, names: new Set(piece.names) });
    }
  }
  return runs.map(({ names, ...r }) => ({ ...r, name: [...names].join(' + ') }));
}
