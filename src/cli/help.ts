/** Help texts, generated from the command specs so every flag is listed exactly once, with its meaning. */

import type { CommandSpec } from './command.js';
import { COMMANDS, GROUPS } from './commands/index.js';
import { CONNECTION_FLAGS } from './connection.js';
import type { FlagSpec } from './spec.js';

export const JSON_FLAG: FlagSpec = {
  name: 'json',
  kind: 'boolean',
  help: 'print the result as one JSON document on stdout',
};
export const HELP_FLAG: FlagSpec = { name: 'help', kind: 'boolean', help: 'show help for the command' };
export const VERSION_FLAG: FlagSpec = { name: 'version', kind: 'boolean', help: 'print the awrit version' };

const EXIT_CODES = `Exit codes:
  0  success
  1  refused: the broker answered with an error (HTTP >= 400) or something unusable, audit verification
     found a broken chain, or init could not write the config file
  2  usage error: unknown command or flag, missing or bad flag or argument, AACTL_* variable missing or bad
  3  cannot reach the broker: connection refused, DNS, TLS handshake or certificate failure, timeout
`;

const ENVIRONMENT = `Environment:
  AACTL_BROKER_URL     broker base URL, e.g. https://broker.example:8080 (all broker commands)
  AACTL_ADMIN_SECRET   admin secret (admin commands; only ever read from the environment)
  AACTL_CA_CERT        default for --cacert
  AACTL_CLIENT_CERT    default for --cert
  AACTL_CLIENT_KEY     default for --key
  AA_CONFIG_PATH, HOME default config path for init
`;

function flagLabel(f: FlagSpec): string {
  const name = f.name === 'help' ? '-h, --help' : `--${f.name}`;
  return f.kind === 'string' ? `${name} ${f.metavar ?? 'VALUE'}` : name;
}

function section(title: string, rows: readonly (readonly [string, string])[]): string {
  if (rows.length === 0) return '';
  const w = Math.max(...rows.map(([l]) => l.length)) + 2;
  return `${title}:\n${rows.map(([l, r]) => `  ${l.padEnd(w)}${r}`).join('\n')}\n`;
}

const flagRows = (flags: readonly FlagSpec[]): [string, string][] => flags.map((f) => [flagLabel(f), f.help]);

export function globalFlags(cmd: CommandSpec): FlagSpec[] {
  return [JSON_FLAG, ...(cmd.network ? CONNECTION_FLAGS : []), HELP_FLAG];
}

export function rootHelp(version: string): string {
  const rows = [
    ...COMMANDS.map((c) => [c.path.join(' '), c.summary] as const),
    ['completion SHELL', 'Print a shell completion script: bash, zsh or fish'] as const,
    ['help [COMMAND]', 'Show help for a command'] as const,
  ];
  return [
    `awrit ${version} — the operator CLI for the AgentWrit broker.\n`,
    'Usage:\n  awrit <command> [flags]\n  awrit <command> --help\n',
    section('Commands', rows),
    section('Global flags', flagRows([JSON_FLAG, ...CONNECTION_FLAGS, HELP_FLAG, VERSION_FLAG])),
    ENVIRONMENT,
    EXIT_CODES,
  ].join('\n');
}

export function groupHelp(group: string): string {
  const summary = GROUPS.find((g) => g.name === group)?.summary ?? '';
  const rows = COMMANDS.filter((c) => c.path[0] === group).map((c) => [c.path.join(' '), c.summary] as const);
  return [
    `${summary}.\n`,
    `Usage:\n  awrit ${group} <command> [flags]\n`,
    section('Commands', rows),
    `Run 'awrit ${group} <command> --help' for the flags of a command, 'awrit --help' for exit codes.\n`,
  ].join('\n');
}

export function commandHelp(cmd: CommandSpec): string {
  const parts = [`${cmd.summary}.\n`, `Usage:\n  awrit ${cmd.usage} [flags]\n`];
  if (cmd.description !== undefined) parts.push(`${cmd.description}\n`);
  if (cmd.positionals !== undefined)
    parts.push(
      section(
        'Arguments',
        cmd.positionals.map((p) => [p.name, p.help] as const),
      ),
    );
  parts.push(section('Flags', flagRows(cmd.flags)));
  parts.push(section('Global flags', flagRows(globalFlags(cmd))));
  if (cmd.network) {
    parts.push(
      cmd.path[0] === 'token'
        ? 'Environment: AACTL_BROKER_URL (and AACTL_CA_CERT, AACTL_CLIENT_CERT, AACTL_CLIENT_KEY for TLS).\n'
        : 'Environment: AACTL_BROKER_URL, AACTL_ADMIN_SECRET (and AACTL_CA_CERT, AACTL_CLIENT_CERT, AACTL_CLIENT_KEY for TLS).\n',
    );
  }
  parts.push(`Examples:\n${cmd.examples.map((e) => `  ${e}`).join('\n')}\n`);
  parts.push("Exit codes: 0 ok, 1 refused, 2 usage error, 3 cannot reach the broker (see 'awrit --help').\n");
  return parts.join('\n');
}
