// `--help` of every subcommand ends with an example, `abiscope --help` documents the exit codes,
// `--version` is package.json's. Subcommands are found from the help itself, so a command added
// to cli/main.ts without an example in cli/help.ts fails here.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from './cli-run.ts';
import { packageJsonPath } from '../cli/version.ts';

const root = join(import.meta.dirname, '..');
const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;

/** The command names of a help text's "Commands:" section (without commander's own `help`). */
function commandsIn(help: string): string[] {
  const section = help.split(/\nCommands:\n/)[1];
  if (!section) return [];
  return [...section.split(/\n\n/)[0].matchAll(/^ {2}([a-z][a-z-]*)/gm)].map((m) => m[1]).filter((n) => n !== 'help');
}

/** Every subcommand path, depth first: ['info'], ['info', 'elf'], ['disasm']... */
async function allCommands(prefix: string[] = []): Promise<string[][]> {
  const r = await run(...prefix, '--help');
  expect(r.code).toBe(0);
  const out: string[][] = [];
  for (const name of commandsIn(r.stdout)) out.push([...prefix, name], ...await allCommands([...prefix, name]));
  return out;
}

describe('abiscope --help', () => {
  it('every subcommand\'s help ends with an example of it', async () => {
    const commands = await allCommands();
    // the commands there are today, at least (others may be added, with their examples)
    expect(commands.map((c) => c.join(' '))).toEqual(expect.arrayContaining(['info', 'info elf', 'disasm', 'explain', 'call', 'demo', 'layout']));
    for (const c of commands) {
      const r = await run(...c, '--help');
      expect({ command: c.join(' '), code: r.code }).toEqual({ command: c.join(' '), code: 0 });
      const example = r.stdout.split('\n').findIndex((l) => /^Examples?:$/.test(l));
      expect({ command: c.join(' '), hasExample: example >= 0 }).toEqual({ command: c.join(' '), hasExample: true });
      // the example runs this command: `$ abiscope <command> ...`
      expect(r.stdout.split('\n')[example + 1]).toMatch(new RegExp(`^ {2}\\$ abiscope ${c.join(' ')}( |$)`));
    }
  });

  it('documents the exit codes main() returns', async () => {
    const help = (await run('--help')).stdout;
    expect(help).toMatch(/\nExit codes:\n {2}0 {2}success/);
    for (const code of [1, 2, 3]) expect(help).toMatch(new RegExp(`\\n {2}${code} {2}\\S`));
    // and they are what happens: 1 for a usage error, 0 for help
    expect((await run('layout', '--abi', 'nope', 'int')).code).toBe(1);
    expect((await run('explain')).code).toBe(1);
    expect((await run('layout', '--help')).code).toBe(0);
  });
});

describe('abiscope --version', () => {
  it('prints package.json\'s version, exit 0', async () => {
    for (const flag of ['--version', '-V']) expect(await run(flag)).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
  });

  it('finds the package.json from the sources and from dist/', () => {
    expect(packageJsonPath(join(root, 'cli'))).toBe(join(root, 'package.json'));
    expect(packageJsonPath(join(root, 'dist', 'cli'))).toBe(join(root, 'package.json'));
    // node_modules/commander has a package.json of its own: not abiscope's, so it is skipped
    expect(packageJsonPath(join(root, 'node_modules', 'commander', 'lib'))).toBe(join(root, 'package.json'));
  });
});
