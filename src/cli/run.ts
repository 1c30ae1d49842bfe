/** Dispatch: argv → command → exit code. Everything that can go wrong ends as one `awrit: …` line on stderr. */

import { AdminApi } from './admin.js';
import { checkFlags, type RawArgs, splitArgv } from './args.js';
import { BrokerClient } from './client.js';
import type { CommandContext, CommandSpec } from './command.js';
import { COMMANDS, GROUPS } from './commands/index.js';
import { completionCommands, completionScript, isShell } from './completion.js';
import { CONNECTION_FLAGS, connectionFrom } from './connection.js';
import { CliError, EXIT, type ExitCode, UsageError } from './errors.js';
import { commandHelp, globalFlags, groupHelp, HELP_FLAG, JSON_FLAG, rootHelp, VERSION_FLAG } from './help.js';
import { type Io, printable } from './output.js';
import type { Env, FlagSpec } from './spec.js';
import { version } from './version.js';

const COMPLETION_HELP = `Print a shell completion script.

Usage:
  awrit completion bash|zsh|fish

  bash: source <(awrit completion bash)
  zsh:  source <(awrit completion zsh)
  fish: awrit completion fish | source
`;

function knownFlags(): FlagSpec[] {
  const byName = new Map<string, FlagSpec>();
  for (const f of [JSON_FLAG, HELP_FLAG, VERSION_FLAG, ...CONNECTION_FLAGS, ...COMMANDS.flatMap((c) => c.flags)]) {
    byName.set(f.name, f);
  }
  return [...byName.values()];
}

type Target =
  | { kind: 'root' }
  | { kind: 'group'; group: string }
  | { kind: 'command'; cmd: CommandSpec; rest: string[] };

/** Longest match of the leading words against the tree. */
function resolve(words: readonly string[]): Target {
  const [first, second, ...more] = words;
  if (first === undefined) return { kind: 'root' };
  if (GROUPS.some((g) => g.name === first)) {
    if (second === undefined) return { kind: 'group', group: first };
    const cmd = COMMANDS.find((c) => c.path[0] === first && c.path[1] === second);
    if (cmd === undefined) throw new UsageError(`unknown command "${first} ${second}"`, first);
    return { kind: 'command', cmd, rest: more };
  }
  const cmd = COMMANDS.find((c) => c.path.length === 1 && c.path[0] === first);
  if (cmd === undefined) throw new UsageError(`unknown command "${first}"`, '');
  return { kind: 'command', cmd, rest: words.slice(1) };
}

function helpFor(words: readonly string[]): string {
  const t = resolve(words);
  if (t.kind === 'root') return rootHelp(version());
  if (t.kind === 'group') return groupHelp(t.group);
  if (t.rest.length > 0) throw new UsageError(`unknown command "${[...t.cmd.path, ...t.rest].join(' ')}"`, '');
  return commandHelp(t.cmd);
}

function only(raw: RawArgs, allowed: readonly FlagSpec[], helpPath: string): void {
  checkFlags({ positionals: [], flags: raw.flags }, allowed, helpPath);
}

async function dispatch(argv: readonly string[], env: Env, io: Io): Promise<ExitCode> {
  const raw = splitArgv(argv, knownFlags());
  const [first, ...rest] = raw.positionals;
  if (first === 'help') {
    only(raw, [HELP_FLAG], '');
    io.stdout(helpFor(rest));
    return EXIT.ok;
  }
  if (first === 'completion') {
    only(raw, [HELP_FLAG], '');
    if (raw.flags.get('help') === true) {
      io.stdout(COMPLETION_HELP);
      return EXIT.ok;
    }
    const [shell, ...extra] = rest;
    if (shell === undefined) throw new UsageError('completion needs a shell: bash, zsh or fish', '');
    if (!isShell(shell) || extra.length > 0)
      throw new UsageError(`unsupported shell "${rest.join(' ')}": use bash, zsh or fish`, '');
    io.stdout(completionScript(shell, completionCommands(COMMANDS, globalFlags)));
    return EXIT.ok;
  }
  const target = resolve(raw.positionals);
  if (target.kind === 'root') {
    only(raw, [HELP_FLAG, VERSION_FLAG, JSON_FLAG], '');
    io.stdout(raw.flags.get('version') === true ? `awrit ${version()}\n` : rootHelp(version()));
    return EXIT.ok;
  }
  if (target.kind === 'group') {
    only(raw, [HELP_FLAG, JSON_FLAG], target.group);
    io.stdout(groupHelp(target.group));
    return EXIT.ok;
  }
  const { cmd } = target;
  const helpPath = cmd.path.join(' ');
  if (raw.flags.get('help') === true) {
    io.stdout(commandHelp(cmd));
    return EXIT.ok;
  }
  const args = checkFlags(
    { positionals: target.rest, flags: raw.flags },
    [...cmd.flags, ...globalFlags(cmd)],
    helpPath,
  );
  const expected = cmd.positionals ?? [];
  if (args.positionals.length > expected.length) {
    throw args.usage(`unexpected argument "${args.positionals[expected.length] ?? ''}"`);
  }
  const missing = expected[args.positionals.length];
  if (missing !== undefined) throw args.usage(`missing argument ${missing.name}`);

  let client: BrokerClient | undefined;
  let admin: AdminApi | undefined;
  const ctx: CommandContext = {
    args,
    env,
    io,
    json: args.bool('json'),
    broker: () => (client ??= new BrokerClient(connectionFrom(args, env))),
    admin: () => (admin ??= new AdminApi(ctx.broker(), env, (line) => io.stderr(`${line}\n`))),
  };
  return cmd.run(ctx);
}

export async function run(argv: readonly string[], env: Env, io: Io): Promise<ExitCode> {
  try {
    return await dispatch(argv, env, io);
  } catch (err) {
    if (err instanceof CliError) {
      const hint =
        err instanceof UsageError && err.helpPath !== undefined
          ? ` (see 'awrit ${err.helpPath === '' ? '' : `${err.helpPath} `}--help')`
          : '';
      io.stderr(`awrit: ${printable(err.message)}${hint}\n`);
      return err.exitCode;
    }
    // A bug, not an operator mistake: still one line, never a stack trace that could carry request data.
    const message = err instanceof Error ? err.message : String(err);
    io.stderr(`awrit: internal error: ${printable(message)}\n`);
    return EXIT.refused;
  }
}
