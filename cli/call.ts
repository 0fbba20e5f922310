// `abiscope call`: one call-out from the command line, result as JSON on stdout.
import { Sandbox } from '../marshal/sandbox.ts';
import { convention } from '../abis/index.ts';
import type { AbiName } from '../abis/abi.ts';
import { fromJsonArg, toJson } from './json.ts';
import { GuestFault } from '../emu/faults.ts';
import { UnicornMissingError } from '../emu/unicorn.ts';

export async function runCall(o: { abi: string; elf: string[]; sig: string; args: string; symbol?: string }): Promise<number> {
  let sb: Sandbox | undefined;
  try {
    convention(o.abi);
    let args: unknown;
    try {
      args = JSON.parse(o.args);
    } catch (e) {
      throw new Error(`--args is not valid JSON: ${(e as Error).message}`);
    }
    if (!Array.isArray(args)) throw new Error('--args must be a JSON array');
    sb = await Sandbox.open(o.abi as AbiName);
    sb.load(...o.elf);
    const f = sb.func(o.sig, { symbol: o.symbol });
    const result = f(...(args.map(fromJsonArg)));
    process.stdout.write(`${JSON.stringify({ result: toJson(result) })}\n`);
    return 0;
  } catch (e) {
    if (e instanceof UnicornMissingError) throw e;
    const err = e as Error;
    const extra = e instanceof GuestFault ? { pc: e.pc, instruction: e.instruction, callChain: e.callChain } : {};
    process.stderr.write(`${JSON.stringify({ error: { type: err.name, message: err.message, ...extra } })}\n`);
    return 1;
  } finally {
    sb?.close();
  }
}
