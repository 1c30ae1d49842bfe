/** The shape of a command: its place in the tree, its flags and arguments, its help, and what it does. */
import type { AdminApi } from './admin.js';
import type { ParsedArgs } from './args.js';
import type { BrokerClient } from './client.js';
import type { ExitCode } from './errors.js';
import type { Io } from './output.js';
import type { Env, FlagSpec, PositionalSpec } from './spec.js';

export interface CommandContext {
  args: ParsedArgs;
  env: Env;
  io: Io;
  json: boolean;
  /** The broker connection, built from the environment and TLS flags on first use. */
  broker(): BrokerClient;
  /** Admin calls; authenticates with AACTL_ADMIN_SECRET once, before the first one. */
  admin(): AdminApi;
}

export interface CommandSpec {
  /** e.g. `['app', 'register']`. */
  path: readonly string[];
  summary: string;
  /** Usage line after `awrit `, e.g. `app get APP_ID`. */
  usage: string;
  description?: string;
  flags: readonly FlagSpec[];
  /** Exactly these, in order; anything more or less is a usage error. */
  positionals?: readonly PositionalSpec[];
  /** Talks to the broker, so it takes the connection flags. */
  network: boolean;
  examples: readonly string[];
  run(ctx: CommandContext): Promise<ExitCode>;
}
