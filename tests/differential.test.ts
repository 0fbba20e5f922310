// Placement against GCC callers: call_<id> (tests/gen, compiled by GCC) calls the
// extern rec_<id> with literal arguments (callm_<id>: rec_make_<id>, for a struct result); the loader points rec_<id> at a host trap,
// so the run stops with the callee-entry state. readIncoming, following abiscope's
// frame plan, must decode exactly the literals from the live (poisoned) registers and
// stack: the plan predicts GCC's placement byte for byte.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Machine } from '../emu/machine.ts';
import { FIXTURE_DIRS, FIXTURES, fixtureObjects, fixtureTypes } from '../sandbox/fixtures.ts';
import { convention } from '../backends/registry.ts';
import type { ArgPiece } from '../abis/abi.ts';
import type { AbiName } from '../backends/registry.ts';
import { parseDeclarations, parseType, type TypeScope } from '../ctypes/parse.ts';
import { planCall, typedPlan, type FramePlan } from '../abis/plan.ts';
import { readIncoming, readIncomingResultPointer } from '../backends/incoming.ts';
import { casesFor, diffValues, loadGenCases, show, type GenCase } from './gen/cases.ts';

const POISON = 0xa5;
const GEN = loadGenCases();
const FIXTURE_TYPES = fixtureTypes();
const TARGETS: { abi: AbiName; dir: string }[] = (Object.keys(FIXTURE_DIRS) as AbiName[]).flatMap((abi) => FIXTURE_DIRS[abi].map((dir) => ({ abi, dir })));

/** One recorded call: the caller function, the recorder symbol and what it must receive. */
interface Probe { name: string; caller: string; recorder: string; recorderProto: string; args: unknown[]; variadicTypes?: string[]; sret: boolean }

function probesOf(c: GenCase): Probe[] {
  const out: Probe[] = [{ name: c.caller, caller: c.caller, recorder: `rec_${c.id}`, recorderProto: c.recorder, args: c.args, variadicTypes: c.variadicTypes, sret: false }];
  if (c.result) {
    const fixed = c.args.length - (c.variadicTypes?.length ?? 0);
    out.push({ name: c.result.caller, caller: c.result.caller, recorder: `rec_make_${c.id}`, recorderProto: c.result.recorder, args: c.args.slice(0, fixed), sret: true });
  }
  return out;
}
const probesFor = (abi: string) => casesFor(GEN, abi).flatMap(probesOf);
const PER_MACHINE = 240; // 255 trap slots: slot 0 is the return sentinel, one more for "someone else's recorder"

function describePlan(plan: FramePlan): string {
  return plan.args.map((a) => `  ${a.name} (${a.type}, ${a.size} bytes, ${a.passing}): ${a.pieces.map((p) => (p.kind === 'stack' ? `stack+${p.offset}${p.slotOffset ? `+${p.slotOffset}` : ''}[${p.size}]` : `${p.reg}[${p.size}${'format' in p ? ` ${p.format}` : ''}]`)).join(', ')}`).join('\n');
}

describe.each(TARGETS)('differential $abi ($dir)', ({ abi, dir }) => {
  const cc = convention(abi);
  const PROBES = probesFor(abi);
  let scope: TypeScope;
  const machines: { m: Machine; slots: Map<string, number>; foreign: number }[] = [];
  const where = new Map<string, { m: Machine; slot: number }>();

  beforeAll(async () => {
    scope = parseDeclarations(FIXTURE_TYPES + GEN.types).scope;
    const objects = [...fixtureObjects(dir), join(FIXTURES, 'obj', dir, 'gen_callers.o')].map((f) => ({ bytes: readFileSync(f), file: f }));
    for (let start = 0; start < PROBES.length; start += PER_MACHINE) {
      const chunk = PROBES.slice(start, start + PER_MACHINE);
      const m = await Machine.open(cc.target);
      const slots = new Map<string, number>();
      for (const p of chunk) slots.set(p.recorder, m.allocateTrapSlot());
      const foreign = m.allocateTrapSlot();
      // Thumb callers (armhf) tail-call their recorder with b.w, which cannot switch to
      // ARM state: the loader makes no interworking veneers, so give the trap as a Thumb
      // address (the slot is fetched at the even address either way).
      const thumbBit = dir === 'armhf' ? 1 : 0;
      m.load(objects, { resolve: (name) => (/^rec_/.test(name) ? m.trapAddress(slots.get(name) ?? foreign) | thumbBit : undefined) });
      machines.push({ m, slots, foreign });
      for (const p of chunk) where.set(p.name, { m, slot: slots.get(p.recorder)! });
    }
  });
  afterAll(() => machines.forEach((x) => x.m.close()));

  /**
   * Runs caller() from a poisoned machine state until it reaches its recorder's trap.
   * A struct-returning caller gets a hidden result pointer into the main stack, where
   * the convention puts it, since it may pass that pointer on to its recorder.
   */
  function runToRecorder(m: Machine, caller: string, hidden?: ArgPiece): { slot: number } {
    m.poisonRegisters(POISON);
    const top = m.mainStack.top;
    m.poisonMemory(top, 64 * 1024, POISON);
    const ret = m.returnSentinel;
    let sp = (top - 0x1000) & ~15;
    switch (m.target.name) {
      case 'x86': sp -= 4; m.writeU32(sp, ret); break; // (esp + 4) % 16 == 0 at entry
      case 'x86_64': sp -= 8; m.writeU64(sp, BigInt(ret)); break; // (rsp + 8) % 16 == 0 at entry
      case 'arm': m.writeReg('lr', ret); break;
      case 'ppc32': m.writeReg('lr', ret); m.writeU32(sp, 0); break; // back chain
      default: m.writeReg('x30', ret);
    }
    m.sp = sp;
    if (hidden) {
      const buffer = top - 0x800;
      if (hidden.kind === 'reg') m.writeReg(hidden.reg, buffer);
      else m.writePointer(sp + (m.target.linkRegister ? 0 : m.target.pointerSize) + hidden.offset + hidden.slotOffset, buffer);
    }
    return m.run(m.symbol(caller).address, { budget: 1_000_000 });
  }

  it.each(PROBES.map((p) => [`${p.name} -> ${p.recorderProto}`, p] as const))('%s', (_name, p) => {
    const { m, slot } = where.get(p.name)!;
    const sig = parseDeclarations(p.recorderProto, scope).signature!;
    const typed = typedPlan(cc, sig, (p.variadicTypes ?? []).map((t) => parseType(t, scope)));
    const { plan } = typed;
    const callerResult = p.sret ? planCall(cc, parseDeclarations(`struct R${p.recorder.slice('rec_make_'.length)} ${p.caller}(void)`, scope).signature!).result : undefined;
    const stop = runToRecorder(m, p.caller, callerResult?.kind === 'memory' ? callerResult.pointer : undefined);
    expect(stop.slot, `${p.caller} should stop at ${p.recorder}`).toBe(slot);
    const incoming = readIncoming(m, typed, m.sp);
    const problems: string[] = [];
    incoming.forEach((a, i) => problems.push(...diffValues(p.args[i], a.value, `${a.name}`).map((d) => `${d} (from ${a.from.join(', ')})`)));
    if (incoming.length !== p.args.length) problems.push(`decoded ${incoming.length} arguments, expected ${p.args.length}`);
    if (p.sret || plan.result.kind === 'memory') {
      const rp = readIncomingResultPointer(m, plan, m.sp);
      if (plan.result.kind === 'memory') {
        const st = m.mainStack;
        if (rp === undefined || rp < st.bottom || rp >= st.top) problems.push(`hidden result pointer 0x${(rp ?? 0).toString(16)} is not inside the main stack [0x${st.bottom.toString(16)}, 0x${st.top.toString(16)})`);
      }
    }
    if (problems.length) {
      expect.fail(`${p.recorderProto}${p.variadicTypes ? ` ... (${p.variadicTypes.join(', ')})` : ''}\nexpected ${show(p.args)}\n${problems.join('\n')}\nplan:\n${describePlan(plan)}`);
    }
  });
});
