// What `--help` adds after commander's own text: an example for every subcommand, and the
// exit codes for `abiscope --help`. Kept here, by command name, so that main.ts stays a list of
// commands and a new command without an example fails tests/cli-help.test.ts.
import type { Command } from 'commander';

/** Examples by command path ('info elf'): commands that run as written from the package's directory. */
export const EXAMPLES: Readonly<Record<string, readonly string[]>> = {
  info: ['abiscope info elf demo/obj/x86_64/demo.o'],
  'info elf': ['abiscope info elf demo/obj/armhf/demo.o', 'abiscope info elf --json runtime/lib/x86_64/libabiscope.a'],
  disasm: ['abiscope disasm demo/obj/armhf/demo.o dot', "abiscope disasm --abi x86_64-sysv --stub 'int f(int, double)'"],
  explain: [
    "abiscope explain --abi x86_64-sysv 'double f(int a, struct V { float x, y; } v, double d)'",
    "abiscope explain --abi i386-sysv --varargs double,int 'int printf(const char *fmt, ...)'",
  ],
  compare: ["abiscope compare --sig 'double f(int a, struct V { float x, y; } v, double d)'"],
  call: ["abiscope call --abi arm-aapcs-vfp --elf demo/obj/armhf/demo.o --sig 'int count_char(const char *s, char c)' --args '[\"banana\", \"a\"]'"],
  trace: ["abiscope trace --abi x86_64-sysv --elf demo/obj/x86_64/demo.o --sig 'double int_double_float(int i, double d, float f)' --args '[1, 2.5, 0.5]'"],
  layout: [
    "abiscope layout --abi x86_64-sysv 'struct S { char c; double d; }'",
    "abiscope layout --abi all 'struct P { short x; long long y; }; struct P[2]'",
    "abiscope layout --abi arm-aapcs --json 'long double'",
  ],
  demo: ['abiscope demo'],
};

/** What main() returns (bin/abiscope.js makes it the process's exit status). */
export const EXIT_CODES = `
Exit codes:
  0  success (also --help and --version)
  1  an error: a bad option or input (UsageError, SignatureError, ElfError...), or a call that failed
     (a guest fault, exit() or abort() in the guest, a typed error): one line on stderr
     (call: {"error": ...} as JSON)
  2  dist/ is missing: run \`npm run build\` (bin/abiscope.js, before any command runs)
  3  the Unicorn library (libunicorn) is not installed: the message says how to install it
`;

/** The path of a command below the program: 'info elf'. */
export function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** Every command below `program`, depth first. */
export function subcommands(program: Command): Command[] {
  return program.commands.flatMap((c) => [c, ...subcommands(c)]);
}

/** Adds the examples after each subcommand's help and the exit codes after the program's. */
export function addHelpTexts(program: Command): void {
  for (const cmd of subcommands(program)) {
    const examples = EXAMPLES[commandPath(cmd)];
    if (!examples) continue; // tests/cli-help.test.ts fails for it
    cmd.addHelpText('after', `\n${examples.length > 1 ? 'Examples' : 'Example'}:\n${examples.map((e) => `  $ ${e}`).join('\n')}\n`);
  }
  program.addHelpText('after', EXIT_CODES);
}
