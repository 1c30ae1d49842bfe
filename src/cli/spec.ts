/**
 * The plain shapes a command is described with: flags, arguments, environment, groups. This module imports nothing,
 * so parsing and connection code can use it without depending on the command layer (command.ts).
 */

export type FlagKind = 'string' | 'boolean';

export interface FlagSpec {
  name: string;
  kind: FlagKind;
  /** Placeholder shown in help for a string flag, e.g. `NAME`. */
  metavar?: string;
  help: string;
}

export interface PositionalSpec {
  name: string;
  help: string;
}

export type Env = Readonly<Record<string, string | undefined>>;

export interface GroupSpec {
  name: string;
  summary: string;
}
