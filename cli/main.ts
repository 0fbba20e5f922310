// abiscope command line: info, disasm, explain, compare, call, trace, demo.
import { UsageError } from '../errors.ts';
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { pc, pcErr } from './colors.js';
import { UnicornMissingError } from '../emu/unicorn.ts';
import { parseElf } from '../emu/elf.ts';
import { targetProfile, type TargetName } from '../emu/targets.ts';
import { explainText, explainJson } from './explain.ts';
import { runCall, splitTypeList } from './call.ts';
import { addTraceOptions } from './trace-files.ts';
import { runTrace, type TraceCommandOptions } from './trace.ts';
import { runCompare, type CompareOptions } from './compare.ts';
import { readInput } from '../sandbox/loader.ts';
import { isArchive, readArchive } from '../emu/elf-archive.ts';
import { runDemo } from './demo.ts';
import { runDisasm, type DisasmOptions } from './disasm.ts';
import { runLayout, type LayoutOptions } from './layout.ts';
import { addHelpTexts } from './help.ts';
import { packageVersion } from './version.ts';
import { ABI_NAMES } from '../backends/registry.ts';

/** Prints a one-line error (never a stack trace) and returns the exit code. */
function fail(e: unknown): number {
  if (e instanceof UnicornMissingError) {
    process.stderr.write(`${e.message}\n`);
    return 3;
  }
  if (e instanceof CommanderError) return e.exitCode;
  const err = e as Error;
  process.stderr.write(`${pcErr.red(`abiscope: ${err.name ?? 'Error'}`)}: ${err.message}\n`);
  return 1;
}

export async function main(argv: string[]): Promise<number> {
  const program = new Command('abiscope')
    .description('A reentrant FFI engine in emulated CPUs: see where every argument of a C call lands.')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  // Read when the program is built: from the package.json beside the running module (version.ts).
  program.version(packageVersion(), '-V, --version', 'print the version of abiscope');
  let code = 0;

  const info = program.command('info').description('inspect files');
  info
    .command('elf <file>')
    .description("list an ELF file's target, type and symbols (an archive: each member's)")
    .option('--json', 'print JSON')
    .action((file: string, o: { json?: boolean }) => {
      const bytes = readInput(file);
      const members = isArchive(bytes)
        ? readArchive(bytes, file).members.map((m) => ({ name: `${file}(${m.name})`, elf: parseElf(m.bytes, `${file}(${m.name})`) }))
        : [{ name: file, elf: parseElf(bytes, file) }];
      const described = members.map(({ name, elf }) => ({
        file: name, class: elf.class, endian: elf.endian, machine: elf.machine, type: elf.type, entry: elf.entry,
        symbols: elf.symbols.filter((s) => s.name && s.kind !== 'section' && s.kind !== 'file'),
      }));
      if (o.json) {
        process.stdout.write(`${JSON.stringify(isArchive(bytes) ? { file, members: described } : described[0], null, 2)}\n`);
        return;
      }
      const kinds: Record<string, string> = { rel: 'relocatable object', exec: 'static executable', dyn: 'shared object' };
      for (const d of described) {
        process.stdout.write(`${d.file}: ELF${d.class} ${d.endian}-endian ${d.machine} ${kinds[d.type] ?? d.type}\n`);
        process.stdout.write(`${'address'.padEnd(12)}${'size'.padStart(8)}  ${'kind'.padEnd(8)}${'bind'.padEnd(8)}name\n`);
        for (const s of d.symbols) {
          const addr = s.defined ? `0x${s.address.toString(16).padStart(8, '0')}` : 'UND';
          const thumb = s.thumb ? pc.cyan(' [thumb]') : '';
          process.stdout.write(`${addr.padEnd(12)}${String(s.size).padStart(8)}  ${s.kind.padEnd(8)}${s.binding.padEnd(8)}${s.name}${thumb}${s.section && s.defined ? pc.dim(`  (${s.section})`) : ''}\n`);
        }
      }
    });

  program
    .command('disasm [file] [symbol]')
    .description("disassemble one symbol of an ELF file (.o or static executable), branch targets named; or abiscope's compiled call stub or call-back thunk for a prototype")
    .option('--target <target>', 'x86 | x86_64 | arm | ppc32 | aarch64 (default: the ELF header\'s; a different one is an error)')
    .option('--abi <abi>', `with --stub or --thunk: ${ABI_NAMES.join(' | ')}`)
    .option('--stub <prototype>', "print abiscope's compiled call stub for this prototype on --abi")
    .option('--thunk <prototype>', "print abiscope's compiled call-back thunk for this prototype on --abi")
    .option('--varargs <types>', 'with --stub or --thunk: comma-separated types of the arguments passed for ...')
    .action(async (file: string | undefined, symbol: string | undefined, o: DisasmOptions) => {
      await runDisasm(file, symbol, o);
    });

  program
    .command('explain <signature>')
    .description('print where every argument and the result of a C prototype go, and the frame')
    .requiredOption('--abi <abi>', ABI_NAMES.join(' | '))
    .option('--json', 'print the plan as JSON (docs/plan-json.md)')
    .option('--varargs <types>', 'comma-separated types of the arguments passed for ...')
    .option('--compiled', 'also print the compiled back end\'s stub, each instruction tagged with the plan operations it performs')
    .action((signature: string, o: { abi: string; json?: boolean; varargs?: string; compiled?: boolean }) => {
      const varargs = o.varargs ? splitTypeList(o.varargs) : [];
      const opts = { compiled: o.compiled === true };
      process.stdout.write(o.json ? `${JSON.stringify(explainJson(o.abi, signature, varargs, opts), null, 2)}\n` : explainText(o.abi, signature, varargs, opts));
    });

  program
    .command('compare')
    .description('show where every argument and the result of one C prototype go on every convention, side by side')
    .requiredOption('--sig <prototype>', 'C prototype, optionally after the struct/union/enum/typedef declarations it uses')
    .option('--abi <abis>', 'comma-separated conventions to compare (default: all)')
    .option('--varargs <types>', 'comma-separated types of the arguments passed for ...')
    .option('--rules', 'also print the rule that placed each argument on each convention')
    .option('--json', 'print JSON: one entry per convention, with its plan (docs/compare.md)')
    .option('--html <file>', 'also write a self-contained HTML page with a picture of each frame')
    .action((o: CompareOptions) => {
      runCompare(o);
    });

  // `call` and `trace` take the same call.
  const callArguments = (cmd: Command) => cmd
    .requiredOption('--abi <abi>', 'calling convention')
    .requiredOption('--elf <file...>', 'ELF objects or static executables (repeatable)')
    .requiredOption('--sig <prototype>', 'C prototype (unnamed: give --symbol), optionally after the struct/union/enum/typedef declarations it uses')
    .option('--args <json>', 'JSON array of arguments', '[]')
    .option('--symbol <name>', 'symbol to call, if not the prototype name')
    .option('--varargs <types>', "variadic functions: comma-separated C types of the --args after the fixed ones, e.g. 'int,double,long long'");

  addTraceOptions(callArguments(program
    .command('call')
    .description('call a function in an ELF file and print {"result": ...} as JSON')
    .option('--record', 'add "record": where each argument went, the hidden result pointer, sp at the call, and what the callee left in non-const pointer arguments')))
    .action(async (o: TraceCommandOptions) => {
      code = await runCall(o);
    });

  addTraceOptions(callArguments(program
    .command('trace')
    .description('call a function like `call`, and show what it ran: arguments at the callee\'s entry, the frame, every instruction')))
    .action(async (o: TraceCommandOptions) => {
      code = await runTrace(o);
    });

  program
    .command('layout <type>')
    .description('print the size, alignment and every member\'s offset, size and alignment of a C type, as GCC lays it out')
    .requiredOption('--abi <abi>', "a convention, comma-separated conventions, or 'all' (side by side)")
    .option('--json', 'print JSON')
    .action((type: string, o: LayoutOptions) => {
      runLayout(type, o);
    });

  program
    .command('demo')
    .description('call a few fixture functions on every convention and show where each argument went')
    .action(async () => {
      await runDemo();
    });

  addHelpTexts(program);
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    return fail(e);
  }
  return code;
}

export type { TargetName };
