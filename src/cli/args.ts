/**
 * Command-line parsing. mri splits argv once with every flag name awrit knows (so a value flag always swallows
 * its value, wherever it appears); each command then accepts only its own flags and the global ones.
 */
import mri from 'mri';
import { UsageError } from './errors.js';
import type { FlagSpec } from './spec.js';

export type FlagValue = string | true;

export interface RawArgs {
  positionals: string[];
  /** As mri produced them, keyed by long name (`-h` is folded into `help`). */
  flags: Map<string, unknown>;
}

export function splitArgv(argv: readonly string[], known: readonly FlagSpec[]): RawArgs {
  const booleans = known.filter((f) => f.kind === 'boolean').map((f) => f.name);
  const strings = known.filter((f) => f.kind === 'string').map((f) => f.name);
  const parsed = mri(joinDashValues(argv, strings), { boolean: booleans, string: strings, alias: { h: 'help' } });
  const flags = new Map<string, unknown>();
  for (const [key, value] of Object.entries(parsed)) {
    if (key === '_' || key === 'h') continue;
    flags.set(key, value);
  }
  return { positionals: parsed._.map(String), flags };
}

/** mri drops a lone `-`, which is how `--token -` asks for stdin; keep it as the flag's value. */
function joinDashValues(argv: readonly string[], strings: readonly string[]): string[] {
  const out: string[] = [];
  for (const arg of argv) {
    const prev = out[out.length - 1];
    if (arg === '-' && prev !== undefined && strings.includes(prev.replace(/^--/, '')) && prev.startsWith('--')) {
      out[out.length - 1] = `${prev}=-`;
    } else {
      out.push(arg);
    }
  }
  return out;
}

const flagName = (key: string): string => (key.length === 1 ? `-${key}` : `--${key}`);

/** Checks the flags against what one command accepts and returns them typed. */
export function checkFlags(raw: RawArgs, allowed: readonly FlagSpec[], helpPath: string): ParsedArgs {
  const byName = new Map(allowed.map((f) => [f.name, f]));
  // A value flag left empty is checked first: `--limit -5` makes mri see a flag `-5`, and the real mistake is the
  // missing value.
  for (const [key, value] of raw.flags) {
    if (byName.get(key)?.kind === 'string' && (value === '' || typeof value === 'boolean')) {
      throw new UsageError(`flag --${key} needs a value (write --${key}=VALUE if the value starts with "-")`, helpPath);
    }
  }
  const values = new Map<string, FlagValue>();
  for (const [key, value] of raw.flags) {
    const spec = byName.get(key);
    if (spec === undefined) throw new UsageError(`unknown flag ${flagName(key)}`, helpPath);
    if (Array.isArray(value)) throw new UsageError(`flag --${key} given more than once`, helpPath);
    if (spec.kind === 'boolean') {
      if (typeof value !== 'boolean') throw new UsageError(`flag --${key} takes no value`, helpPath);
      if (value) values.set(key, true);
    } else if (typeof value === 'string') {
      values.set(key, value);
    }
  }
  return new ParsedArgs(raw.positionals, values, helpPath);
}

export interface IntBounds {
  min?: number;
  max?: number;
}

export class ParsedArgs {
  constructor(
    readonly positionals: readonly string[],
    private readonly values: ReadonlyMap<string, FlagValue>,
    readonly helpPath: string,
  ) {}

  has(name: string): boolean {
    return this.values.has(name);
  }

  bool(name: string): boolean {
    return this.values.get(name) === true;
  }

  string(name: string): string | undefined {
    const v = this.values.get(name);
    return typeof v === 'string' ? v : undefined;
  }

  required(name: string): string {
    const v = this.string(name);
    if (v === undefined) throw new UsageError(`--${name} is required`, this.helpPath);
    return v;
  }

  int(name: string, bounds: IntBounds = {}): number | undefined {
    const v = this.string(name);
    if (v === undefined) return undefined;
    if (!/^[+-]?\d{1,15}$/.test(v)) throw new UsageError(`--${name} must be an integer, got "${v}"`, this.helpPath);
    const n = Number(v);
    if (bounds.min !== undefined && n < bounds.min) {
      throw new UsageError(`--${name} must be at least ${bounds.min}, got ${n}`, this.helpPath);
    }
    if (bounds.max !== undefined && n > bounds.max) {
      throw new UsageError(`--${name} must be at most ${bounds.max}, got ${n}`, this.helpPath);
    }
    return n;
  }

  usage(message: string): UsageError {
    return new UsageError(message, this.helpPath);
  }
}
