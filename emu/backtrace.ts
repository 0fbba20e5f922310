// Call chains of a stopped guest, from frames that are live.
//
// GCC's -O2 code keeps no frame pointers and abiscope loads no unwind tables, so return
// addresses are found by looking at the places they can be: the link register (ARM, PowerPC),
// the PowerPC back chain (the ABI requires one), and on x86 and ARM the words of the stack above
// sp. A word there may be a dead return address: left by a call that has returned, in a slot the
// live frames never overwrote. Such a word is kept only if it is a return address whose call
// can be the one that made the inner frame: the instruction before it must be a call, and a
// direct call must target the function the inner frame is in (after following a PLT entry or
// a veneer), or a function that jumps there (a tail call, GCC's -O2 `return f(x);`, leaves no
// frame: up to two such jumps are followed in the functions' code). An indirect call cannot be
// checked and is kept.
//
// The chain ends at abiscope's return sentinel, or at the first return into code no symbol
// covers (abiscope's call stub: the outer levels are the sandbox's, not this run's).
import { Disassembler, type Instruction } from './asm.ts';
import type { ElfSymbol } from './elf.ts';
import type { Machine } from './machine.ts';

/** Frames kept at most (after repeats of one frame are merged, `xN`). */
const MAX_FRAMES = 16;
/** Stack scanned above sp at most, in bytes (a frame with a larger array hides what is above it). */
const SCAN_BYTES = 64 * 1024;

/** Loaded functions by address, built once per chain (a chain asks for many addresses). */
export class FunctionIndex {
  private readonly sorted: { start: number; end: number; symbol: ElfSymbol }[];
  private readonly starts: Set<number>;

  constructor(private readonly m: Machine, functions: ElfSymbol[]) {
    this.sorted = functions
      .map((symbol) => ({ start: m.codeAddress(symbol.address), end: m.codeAddress(symbol.address) + Math.max(symbol.size, 1), symbol }))
      .sort((a, b) => a.start - b.start || b.end - a.end);
    this.starts = new Set(this.sorted.map((f) => f.start));
  }

  /** The function whose code contains `address`: the innermost (latest-starting) one, as symbolize names it. */
  containing(address: number): { start: number; end: number; symbol: ElfSymbol } | undefined {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.sorted[mid].start <= address) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo - 1; i >= 0 && i >= lo - 64; i--) {
      const f = this.sorted[i];
      if (address < f.end) return f;
    }
    return undefined;
  }

  startsAt(address: number): boolean {
    return this.starts.has(this.m.codeAddress(address));
  }

  private readonly tails = new Map<number, Set<number>>();

  /** The function starts that the function at `start` jumps to (its tail calls), decoded once per chain. */
  tailCalls(start: number): Set<number> {
    const known = this.tails.get(start);
    if (known) return known;
    const out = new Set<number>();
    this.tails.set(start, out);
    const f = this.containing(start);
    if (!f || f.start !== start) return out;
    const m = this.m;
    const region = m.regionAt(start);
    if (!region || region.kind !== 'code') return out;
    const end = Math.min(f.end, region.end, start + 4096);
    const isa = m.target.name === 'arm' ? (f.symbol.thumb ? 'thumb' : 'arm') : m.target.isa;
    let insns: Instruction[];
    try {
      insns = Disassembler.for(isa).disassemble(m.read(start, end - start), start);
    } catch {
      return out;
    }
    for (const insn of insns) {
      if (!isJump(m, insn.mnemonic)) continue;
      const target = immediate(insn.operands.split(',').pop() ?? '');
      if (target === undefined) continue;
      const t = m.codeAddress(target);
      if ((t < f.start || t >= f.end) && this.starts.has(t)) out.add(t);
      else if (t < f.start || t >= f.end) out.add(resolveTrampoline(m, t, this));
    }
    return out;
  }
}

interface CallSite {
  insn: Instruction;
  /** A direct call's target (code address), undefined for an indirect call. */
  target?: number;
}

/** Innermost first: `symbol+0xoff (0xaddr)`; one frame repeated (recursion) is shown once with `xN`. */
export function callChain(m: Machine, pc: bigint): string[] {
  const fns = new FunctionIndex(m, m.functions());
  const frames: string[] = [m.symbolize(pc)];
  const pcNumber = pc <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(pc) : undefined;
  let innerStart = pcNumber === undefined ? undefined : fns.containing(m.codeAddress(pcNumber))?.start;
  const calls = new Map<number, CallSite | undefined>();
  const sentinel = m.returnSentinel;
  let lrAccepted: number | undefined;
  let ended = false;

  /** Tries return address `r`: true when the chain ends with it. */
  const consider = (r: number, fromLinkRegister: boolean): boolean => {
    if (r === sentinel) return true;
    if (!fromLinkRegister && lrAccepted !== undefined && r === lrAccepted) {
      // The inner function's saved copy of the link register: the same frame, once.
      lrAccepted = undefined;
      return false;
    }
    let site = calls.get(r);
    if (!calls.has(r)) calls.set(r, (site = callBefore(m, r)));
    if (!site) return false;
    const at = m.codeAddress(r);
    if (site.target !== undefined) {
      // A call to the next instruction reads the pc (PowerPC PIC `bcl 20,31`): no frame.
      if (site.target === at) return false;
      const target = resolveTrampoline(m, site.target, fns);
      if (innerStart !== undefined && fns.startsAt(target) && target !== innerStart && !tailCallsReach(m, fns, target, innerStart)) return false;
    }
    frames.push(m.symbolize(r, { returnAddress: true }));
    if (fromLinkRegister) lrAccepted = r;
    else lrAccepted = undefined;
    const caller = fns.containing(at - 1);
    innerStart = caller?.start;
    // Code no symbol covers (abiscope's call stub, assembly loaded by hand): nothing to check beyond.
    return !caller || frames.length >= 4 * MAX_FRAMES;
  };

  const lrName = m.target.linkRegister;
  if (lrName) {
    const lr = m.readReg(lrName);
    if (lr <= BigInt(Number.MAX_SAFE_INTEGER)) ended = consider(Number(lr), true);
  }
  if (!ended) {
    for (const r of stackCandidates(m)) {
      if (consider(r, false)) break;
    }
  }
  return mergeRepeats(frames).slice(0, MAX_FRAMES);
}

const ARM_CONDITIONS = 'eq|ne|cs|hs|cc|lo|mi|pl|vs|vc|hi|ls|ge|lt|gt|le|al';
const ARM_BRANCH = new RegExp(`^b(l?)(${ARM_CONDITIONS})?(\\.w|\\.n)?$`);

/** A jump or branch without link (conditional or not): x86 j*, ARM b<cond> and cbz, PowerPC b, bc, beq... */
function isJump(m: Machine, mnemonic: string): boolean {
  switch (m.target.name) {
    case 'x86':
    case 'x86_64':
      return mnemonic.startsWith('j');
    case 'arm': {
      if (/^cbn?z$/.test(mnemonic)) return true;
      const b = ARM_BRANCH.exec(mnemonic);
      return b !== null && b[1] === '';
    }
    case 'ppc32':
      // bl, bla, bcl, beql... link (and so call); blr, bctr and their conditional forms take no immediate.
      return mnemonic.startsWith('b') && !/l[a+-]?$|la$|lr|ctr/.test(mnemonic);
    default:
      return /^(b(\.[a-z]{2})?|cbn?z|tbn?z)$/.test(mnemonic);
  }
}

/**
 * Whether the function at `from` can have become the one at `to` by tail calls (a jump to
 * another function's start instead of a call, GCC's -O2 `return f(x);`), directly or through
 * one more function doing the same: then a call to `from` is the live frame of `to`.
 */
function tailCallsReach(m: Machine, fns: FunctionIndex, from: number, to: number): boolean {
  const first = fns.tailCalls(from);
  if (first.has(to)) return true;
  for (const next of first) if (fns.tailCalls(next).has(to)) return true;
  return false;
}

/** Return-address candidates above sp: the PowerPC back chain's LR save words, else every stack word. */
function* stackCandidates(m: Machine): Generator<number> {
  const sp = m.sp;
  const stack = m.stacks.find((s) => sp >= s.bottom && sp <= s.top);
  if (!stack) return;
  const word = m.target.pointerSize;
  if (m.target.name === 'ppc32') {
    // Each frame starts with the caller's sp (the back chain); the word after the caller's
    // back chain is the LR save word, where a function that calls others keeps its return address.
    let frame = sp;
    for (let i = 0; i < 4 * MAX_FRAMES; i++) {
      if (frame + 8 > stack.top) return;
      const next = m.readU32(frame);
      if (next <= frame || next > stack.top || next % 8 !== 0) return;
      if (next + 8 <= stack.top) yield m.readU32(next + 4);
      frame = next;
    }
    return;
  }
  const start = Math.ceil(sp / word) * word;
  const end = Math.min(stack.top, start + SCAN_BYTES);
  if (end <= start) return;
  const bytes = m.read(start, end - start);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let off = 0; off + word <= bytes.length; off += word) {
    const v = word === 8 ? dv.getBigUint64(off, m.littleEndian) : BigInt(dv.getUint32(off, m.littleEndian));
    if (v <= BigInt(Number.MAX_SAFE_INTEGER)) yield Number(v);
  }
}

function mergeRepeats(frames: string[]): string[] {
  const out: string[] = [];
  let run = 1;
  for (let i = 0; i < frames.length; i++) {
    if (i + 1 < frames.length && frames[i + 1] === frames[i]) {
      run++;
      continue;
    }
    out.push(run > 1 ? `${frames[i]} x${run}` : frames[i]);
    run = 1;
  }
  return out;
}

/** The ISA of code at `address` (ARM: bit 0 of a return address or pointer says Thumb). */
function isaAt(m: Machine, address: number): Disassembler['isa'] {
  return m.target.name === 'arm' && (address & 1) === 1 ? 'thumb' : m.target.isa;
}

function decodeOne(m: Machine, isa: Disassembler['isa'], address: number, len: number): Instruction | undefined {
  const region = m.regionAt(address);
  if (!region || region.kind !== 'code' || address + len > region.end) return undefined;
  try {
    const [insn] = Disassembler.for(isa).disassemble(m.read(address, len), address, 1);
    return insn && insn.size === len ? insn : undefined;
  } catch {
    return undefined;
  }
}

/** An immediate operand (`0x1234`, `#0x1234`, `4660`) as a number. */
function immediate(operands: string): number | undefined {
  const t = /^#?(-?(?:0x[0-9a-f]+|\d+))$/i.exec(operands.trim());
  return t ? Number(t[1]) : undefined;
}

/**
 * The call instruction that ends right before return address `ret`, if there is one in
 * loaded code, with its target when it is direct (or a pointer in memory at a fixed address).
 */
export function callBefore(m: Machine, ret: number): CallSite | undefined {
  const isa = isaAt(m, ret);
  const a = m.codeAddress(ret);
  const region = m.regionAt(a);
  if (!region || region.kind !== 'code') return undefined;
  const lengths = isa === 'x86' || isa === 'x86_64' ? [5, 2, 3, 6, 7, 4, 8, 9] : isa === 'thumb' ? [4, 2] : [4];
  for (const len of lengths) {
    if (a - len < region.start) continue;
    const insn = decodeOne(m, isa, a - len, len);
    if (!insn || !/^(call|callq|bl|blx|bla|blr|bctrl|blrl|bcl|bcctrl|bclrl)$/.test(insn.mnemonic)) continue;
    return { insn, target: callTarget(m, insn, a) };
  }
  return undefined;
}

function callTarget(m: Machine, insn: Instruction, next: number): number | undefined {
  const direct = immediate(insn.operands);
  if (direct !== undefined) {
    if (insn.mnemonic === 'bcl') return undefined;
    // ARM `blx #imm` switches to the other state: the target's address is all the check needs.
    return m.codeAddress(direct);
  }
  if (insn.mnemonic === 'bcl') {
    // `bcl 20, 31, target`: the last operand.
    const last = insn.operands.split(',').pop();
    return last === undefined ? undefined : immediate(last);
  }
  // x86 calls through a pointer at a fixed place: [rip + d] (x86-64 GOT), [abs] (i386).
  const mem = /\[(?:rip \+ )?(0x[0-9a-f]+|\d+)\]$/.exec(insn.operands);
  if (mem && /ptr \[/.test(insn.operands)) {
    const slot = insn.operands.includes('rip') ? next + Number(mem[1]) : Number(mem[1]);
    const region = m.regionAt(slot);
    if (!region || region.kind === 'guard') return undefined;
    try {
      return m.codeAddress(m.readPointer(slot));
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/**
 * Where a call to `target` really goes when target is a PLT entry or a linker veneer: up to
 * three unconditional jumps with a known target are followed. Anything else is `target` itself.
 */
export function resolveTrampoline(m: Machine, target: number, fns: FunctionIndex): number {
  let at = target;
  for (let hop = 0; hop < 3 && !fns.startsAt(at); hop++) {
    const next = m.target.name === 'arm' ? armVeneerTarget(m, at) : jumpTarget(m, at);
    if (next === undefined) break;
    at = m.codeAddress(next);
  }
  return at;
}

/** abiscope's ARM interworking veneers (elf-reloc-arm.ts): `ldr pc, [pc, #-4]` or `ldr.w pc, [pc, #0]`, then the target word. */
function armVeneerTarget(m: Machine, at: number): number | undefined {
  const region = m.regionAt(at);
  if (!region || region.kind !== 'code' || at + 8 > region.end) return undefined;
  const w = m.readU32(at);
  return w === 0xe51ff004 || w === 0xf000f8df ? m.readU32(at + 4) : undefined;
}

/** x86 and PowerPC: an unconditional jump with a target known without running it. */
function jumpTarget(m: Machine, at: number): number | undefined {
  const region = m.regionAt(at);
  if (!region || region.kind !== 'code') return undefined;
  let insn: Instruction | undefined;
  try {
    [insn] = Disassembler.for(m.target.isa).disassemble(m.read(at, Math.min(16, region.end - at)), at, 1);
  } catch {
    return undefined;
  }
  if (!insn || !/^(jmp|b|ba)$/.test(insn.mnemonic)) return undefined;
  const direct = immediate(insn.operands);
  if (direct !== undefined) return direct;
  // x86 PLT entries: jmp through a GOT slot at [rip + d] or an absolute address.
  const mem = /ptr \[(?:rip \+ )?(0x[0-9a-f]+|\d+)\]$/.exec(insn.operands);
  if (!mem) return undefined;
  const slot = insn.operands.includes('rip') ? at + insn.size + Number(mem[1]) : Number(mem[1]);
  try {
    return m.readPointer(slot);
  } catch {
    return undefined;
  }
}
