// The emulated machine: one Unicorn CPU with mapped memory, a guest heap, stacks,
// a host-trap page, typed register access and a run loop that hands traps to the host.
import { UsageError } from '../errors.ts';
import { Unicorn, UC } from './unicorn.ts';
import { Assembler, Disassembler } from './asm.ts';
import { TARGETS, type TargetName, type TargetProfile } from './targets.ts';
import { GuestHeap } from './heap.ts';
import { x87BytesToNumber } from './x87.ts';
import { LAYOUT, PAGE, alignDown, alignUp, type Perms, type Region } from './memory-map.ts';
import { ElfError, linkElf, type ElfSymbol, type LinkedImage, type LinkInput, type LinkOptions } from './elf.ts';
import {
  BudgetExhaustedFault, CpuExceptionFault, InvalidInstructionFault, MemoryFault, StackOverflowFault, TimeoutFault,
  type FaultContext,
} from './faults.ts';

export interface RunLimits {
  /** Instructions per run before BudgetExhaustedFault (default 50 million). */
  budget?: number;
  /** Wall-clock limit per run in milliseconds (default none: the budget bounds every run, and a timed run costs a Unicorn watchdog thread, ~150 us). */
  timeoutMs?: number;
}

/** A run ended at a host-trap slot: slot 0 is the call-out return sentinel. */
export interface TrapStop { slot: number; address: number }

export interface GuestStack { name: string; top: number; bottom: number; guard: number }

const PERM_BITS: Record<Perms, number> = { r: 1, rw: 3, rx: 5, rwx: 7 };

interface PendingFault { type: number; address: number }

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
  private trapSlotsUsed = 1;
  private closed = false;

  private constructor(readonly target: TargetProfile, readonly assembler: Assembler) {
    this.uc = new Unicorn(target.arch, target.mode);
    if (target.name === 'arm') this.uc.setCpuModel(UC.cpuArm.UC_CPU_ARM_CORTEX_A15);
    target.powerOn(this.uc);
    this.map(LAYOUT.trapBase, PAGE, 'rx', 'host-trap', 'trap');
    this.uc.hookCode(LAYOUT.trapBase, LAYOUT.trapBase + PAGE - 1, (address) => {
      const a = Number(address);
      this.trapHit = { slot: Math.floor((a - LAYOUT.trapBase) / LAYOUT.trapSlotBytes), address: a };
      this.uc.emuStop();
    });
    this.uc.hookMemInvalid((type, address) => {
      this.memFault = { type, address: Number(address) };
      return false;
    });
    this.map(LAYOUT.heapBase, LAYOUT.heapSize, 'rw', 'heap', 'heap');
    this.addStack('main', LAYOUT.stackTop, LAYOUT.stackSize);
  }

  static async open(name: TargetName): Promise<Machine> {
    const target = TARGETS[name];
    if (!target) throw new UsageError(`unknown target '${name}': expected one of ${Object.keys(TARGETS).join(', ')}`);
    return new Machine(target, await Assembler.create(target.isa));
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

  /** Maps [start, start+size) page-aligned; overlapping an existing region is an error. */
  map(start: number, size: number, perms: Perms, name: string, kind: Region['kind']): Region {
    const s = alignDown(start, PAGE);
    const e = alignUp(start + size, PAGE);
    const clash = this.regions.find((r) => r.start < e && s < r.end);
    if (clash) throw new Error(`cannot map ${name} at 0x${s.toString(16)}-0x${e.toString(16)}: overlaps ${clash.name}`);
    if (kind !== 'guard') this.uc.memMap(s, e - s, PERM_BITS[perms]);
    const region = { name, start: s, end: e, perms, kind };
    this.regions.push(region);
    return region;
  }

  regionAt(address: number): Region | undefined {
    return this.regions.find((r) => address >= r.start && address < r.end);
  }

  write(address: number, bytes: Uint8Array): void {
    this.uc.memWrite(address, bytes);
  }
  read(address: number, size: number): Uint8Array {
    return this.uc.memRead(address, size);
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
  /** Integer view of a register, zero-extended. */
  readReg(name: string): bigint {
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
  /** x87 ST(i) lives in physical register (TOP + i) mod 8, TOP = FPSW bits 11..13 (ABI-FACTS). */
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
      resolve: (n) => opts.resolve?.(n) ?? this.symbols.get(n)?.address,
    }));
  }

  /** Maps an image built for the next free load address (`build` gets that address); its symbols become known. */
  loadImage(build: (base: number) => LinkedImage): LinkedImage {
    const image = build(this.nextLoad);
    if (image.segments.length && image.machine !== this.target.name) {
      throw new ElfError(`the image is ${image.machine} code, but this machine is ${this.target.name}`);
    }
    for (const seg of image.segments) {
      const perms: Perms = seg.perms === 'rx' ? 'rx' : seg.perms === 'rw' ? 'rw' : 'r';
      this.mapSegment(seg.address, seg.bytes.length, perms, seg.name);
      this.write(seg.address, seg.bytes);
    }
    for (const [name, sym] of image.symbols) if (sym.defined) this.symbols.set(name, sym);
    this.localFunctions.push(...image.locals);
    this.nextLoad = Math.max(this.nextLoad, alignUp(image.end, PAGE));
    return image;
  }

  /** Segments of one image may share pages: widen permissions of pages already mapped. */
  private mapSegment(address: number, size: number, perms: Perms, name: string): void {
    for (let p = alignDown(address, PAGE); p < address + Math.max(size, 1); p += PAGE) {
      const r = this.regionAt(p);
      if (!r) {
        this.map(p, PAGE, perms, name, perms.includes('x') ? 'code' : 'data');
      } else if (r.kind === 'code' || r.kind === 'data') {
        const union = new Set([...r.perms, ...perms]);
        const widened = (['r', 'w', 'x'].filter((c) => union.has(c)).join('') as Perms);
        if (widened !== r.perms) {
          if (r.end - r.start !== PAGE) throw new Error(`segment ${name} overlaps ${r.name} with other permissions`);
          this.uc.memProtect(r.start, PAGE, PERM_BITS[widened]);
          r.perms = widened;
          r.kind = widened.includes('x') ? 'code' : 'data';
        }
      } else {
        throw new Error(`segment ${name} at 0x${address.toString(16)} overlaps ${r.name}`);
      }
    }
  }

  /** Assembles and maps code in a fresh executable region; returns its address. */
  loadAssembly(text: string, name: string): { address: number; bytes: Uint8Array } {
    const address = this.nextLoad;
    const bytes = this.assembler.assemble(text, address);
    this.map(address, bytes.length, 'rx', name, 'code');
    this.write(address, bytes);
    this.nextLoad = alignUp(address + bytes.length, PAGE);
    return { address, bytes };
  }

  /**
   * Reserves an executable region for many small code snippets (call-back entries):
   * one mapping, so thousands of snippets do not exhaust Unicorn's memory sections.
   */
  reserveCode(size: number, name: string): number {
    const address = this.nextLoad;
    this.map(address, size, 'rx', name, 'code');
    this.nextLoad = alignUp(address + size, PAGE);
    return address;
  }

  /** Assembles `text` at `address` (inside reserved code) and writes it; returns its size. */
  assembleAt(text: string, address: number, maxBytes: number): number {
    const bytes = this.assembler.assemble(text, address);
    if (bytes.length > maxBytes) throw new Error(`code snippet of ${bytes.length} bytes exceeds its ${maxBytes}-byte slot`);
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
   * not return, it is already past the end of its caller.
   */
  symbolize(address: number, opts: { returnAddress?: boolean } = {}): string {
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
   * the host handles the trap between runs (never a nested uc_emu_start, see ABI-FACTS).
   * ARM: an odd `pc` starts in Thumb state.
   */
  run(pc: number, limits: RunLimits = {}): TrapStop {
    const budget = limits.budget ?? 50_000_000;
    // No wall-clock limit unless asked: Unicorn starts a watchdog thread for each timed
    // uc_emu_start, which made every call-out and call-back ~10x slower (measured).
    const timeoutMs = limits.timeoutMs ?? 0;
    this.trapHit = undefined;
    this.memFault = undefined;
    const started = performance.now();
    // `until` is the last trap slot, never a real target: traps stop via the hook.
    const code = this.uc.emuStart(pc, LAYOUT.trapBase + PAGE - LAYOUT.trapSlotBytes, timeoutMs * 1000, budget);
    const hit = this.trapHit as TrapStop | undefined;
    if (hit && code === UC.err.UC_ERR_OK) return hit;
    if (code !== UC.err.UC_ERR_OK) throw this.faultFromError(code);
    const elapsed = performance.now() - started;
    if (timeoutMs > 0 && elapsed >= timeoutMs) throw new TimeoutFault(timeoutMs, this.faultContext());
    throw new BudgetExhaustedFault(budget, this.faultContext());
  }

  private faultFromError(code: number): Error {
    const E = UC.err;
    const ctx = this.faultContext();
    const f = this.memFault;
    if (f) {
      const M = UC.memType;
      const access = f.type === M.UC_MEM_WRITE_UNMAPPED || f.type === M.UC_MEM_WRITE_PROT ? 'write'
        : f.type === M.UC_MEM_FETCH_UNMAPPED || f.type === M.UC_MEM_FETCH_PROT ? 'fetch' : 'read';
      const region = this.regionAt(f.address);
      if (region?.kind === 'guard') {
        const stack = this.stacks.find((s) => s.guard === region.start);
        return new StackOverflowFault(f.address, stack?.name ?? region.name, ctx);
      }
      const prot = f.type === M.UC_MEM_WRITE_PROT || f.type === M.UC_MEM_READ_PROT || f.type === M.UC_MEM_FETCH_PROT;
      return new MemoryFault(access, f.address, prot, ctx);
    }
    if (code === E.UC_ERR_INSN_INVALID) return new InvalidInstructionFault(ctx);
    return new CpuExceptionFault(this.uc.strerror(code), ctx);
  }

  /** pc, the instruction there, registers and a best-effort call chain. */
  faultContext(): FaultContext {
    const pc = this.pc;
    const registers: Record<string, bigint> = {};
    for (const r of this.target.reportRegisters) registers[r] = this.readReg(r);
    return { target: this.target.name, pc, instruction: this.instructionAt(pc), registers, callChain: this.callChain(pc) };
  }

  /** The instruction at `address` (Thumb if the CPU is in Thumb state). */
  instructionAt(address: number): string {
    try {
      const dis = Disassembler.for(this.thumb ? 'thumb' : this.target.isa);
      const [insn] = dis.disassemble(this.read(address, 16), address, 1);
      return insn ? insn.text : '(undecodable)';
    } catch {
      return '(unreadable)';
    }
  }

  /**
   * Innermost first: pc, the link register, then return addresses found by scanning
   * the stack for words that point just after a call instruction in loaded code.
   */
  callChain(pc: number): string[] {
    const chain = [this.symbolize(pc)];
    const seen = new Set<number>();
    const push = (a: number) => {
      if (seen.has(a)) return;
      seen.add(a);
      chain.push(this.symbolize(a, { returnAddress: true }));
    };
    if (this.target.linkRegister) {
      const lr = this.readRegNumber(this.target.linkRegister);
      if (this.followsCall(lr)) push(lr);
    }
    const sp = this.sp;
    const stack = this.stacks.find((s) => sp >= s.bottom && sp <= s.top);
    if (!stack) return chain;
    const word = this.target.pointerSize;
    const end = Math.min(stack.top, sp + 4096);
    const bytes = this.read(sp, Math.max(0, end - sp));
    const dv = new DataView(bytes.buffer);
    for (let off = 0; off + word <= bytes.length && chain.length < 12; off += word) {
      const v = word === 8 ? Number(dv.getBigUint64(off, this.littleEndian)) : dv.getUint32(off, this.littleEndian);
      if (v === this.returnSentinel) break;
      if (this.followsCall(v)) push(v);
    }
    return chain;
  }

  /** Whether `ret` is in loaded code right after a call instruction. */
  private followsCall(ret: number): boolean {
    const a = this.codeAddress(ret);
    const region = this.regionAt(a);
    if (!region || region.kind !== 'code' || a - 8 < region.start) return false;
    const thumb = this.target.name === 'arm' && (ret & 1) === 1;
    const lengths = this.target.isa === 'x86' || this.target.isa === 'x86_64' ? [5, 2, 3, 6, 7] : thumb ? [4, 2] : [4];
    for (const len of lengths) {
      try {
        const [insn] = Disassembler.for(thumb ? 'thumb' : this.target.isa).disassemble(this.read(a - len, len), a - len, 1);
        if (insn && insn.size === len && /^(call|bl|blx|blr|bctrl|blrl)\b/.test(insn.mnemonic)) return true;
      } catch {
        /* not decodable at this length */
      }
    }
    return false;
  }
}
