import { closeSync, constants, fstatSync, lstatSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { goTrimSpace } from './env-values.js';

export interface ConfigFileValues {
  mode?: string;
  adminSecret?: string;
}

export interface ConfigFile {
  path: string;
  values: ConfigFileValues;
}

/** Receives a config-file problem as (component, message, context). */
export type ConfigFileWarn = (component: string, message: string, ctx: string) => void;

export const DEFAULT_ETC_CONFIG_PATH = '/etc/broker/config';

// bufio.Scanner's default token limit in the Go broker: a line of this many bytes or more (excluding the newline)
// ends parsing, keeping what was read before it.
export const MAX_LINE_BYTES = 64 * 1024;
const READ_CHUNK = 64 * 1024;

export interface CandidateOptions {
  /** Directory for `$HOME/.broker/config`; null = home unknown (candidate skipped); undefined = `env.HOME`. */
  homeDir?: string | null;
  etcPath?: string;
}

export function configFileCandidates(env: NodeJS.ProcessEnv, opts: CandidateOptions = {}): string[] {
  const out: string[] = [];
  const explicit = env.AA_CONFIG_PATH;
  if (explicit !== undefined && explicit !== '') out.push(explicit);
  out.push(opts.etcPath ?? DEFAULT_ETC_CONFIG_PATH);
  const home = opts.homeDir === undefined ? env.HOME : opts.homeDir;
  if (home !== null && home !== undefined && home !== '') out.push(join(home, '.broker', 'config'));
  return out;
}

function applyLine(raw: string, values: ConfigFileValues): void {
  const line = goTrimSpace(raw);
  if (line === '' || line.startsWith('#')) return;
  const eq = line.indexOf('=');
  if (eq === -1) return;
  const key = goTrimSpace(line.slice(0, eq));
  const value = goTrimSpace(line.slice(eq + 1));
  if (key === 'MODE') values.mode = value;
  else if (key === 'ADMIN_SECRET') values.adminSecret = value;
}

/**
 * Incremental KEY=VALUE parser working on bytes, so the line-length limit counts bytes as the Go broker does
 * and an enormous file is never held in memory.
 */
export class ConfigFileParser {
  readonly values: ConfigFileValues = {};
  private carry: Buffer = Buffer.alloc(0);
  private stopped = false;

  /** Feeds the next chunk; returns false once parsing has stopped (an over-long line was met). */
  push(chunk: Buffer): boolean {
    if (this.stopped) return false;
    const buf = this.carry.length === 0 ? chunk : Buffer.concat([this.carry, chunk]);
    let start = 0;
    for (let nl = buf.indexOf(0x0a, start); nl !== -1; nl = buf.indexOf(0x0a, start)) {
      if (nl - start >= MAX_LINE_BYTES) return this.stop();
      applyLine(buf.toString('utf8', start, nl), this.values);
      start = nl + 1;
    }
    this.carry = Buffer.from(buf.subarray(start));
    if (this.carry.length >= MAX_LINE_BYTES) return this.stop();
    return true;
  }

  /** Handles a last line without a newline. */
  end(): ConfigFileValues {
    if (!this.stopped && this.carry.length > 0) applyLine(this.carry.toString('utf8'), this.values);
    this.stopped = true;
    this.carry = Buffer.alloc(0);
    return this.values;
  }

  private stop(): false {
    this.stopped = true;
    this.carry = Buffer.alloc(0);
    return false;
  }
}

export function parseConfigText(data: Buffer | string): ConfigFileValues {
  const parser = new ConfigFileParser();
  parser.push(typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
  return parser.end();
}

function readValues(fd: number): ConfigFileValues {
  const parser = new ConfigFileParser();
  const chunk = Buffer.alloc(READ_CHUNK);
  for (;;) {
    let n: number;
    try {
      n = readSync(fd, chunk, 0, READ_CHUNK, null);
    } catch {
      // Like the Go broker's scanner: an I/O error ends parsing and keeps the complete lines read so far.
      return parser.values;
    }
    if (n === 0) break;
    if (!parser.push(chunk.subarray(0, n))) break;
  }
  return parser.end();
}

function formatPerms(mode: number): string {
  return (mode & 0o777).toString(8).padStart(4, '0');
}

/** Opens a candidate, or returns null when it must be skipped (after warning where the operator should know). */
function openCandidate(path: string, warn: ConfigFileWarn): number | null {
  try {
    if (lstatSync(path).isSymbolicLink()) {
      warn('configfile', 'config path is a symlink, skipping', `path=${path}`);
      return null;
    }
  } catch {
    return null;
  }
  let fd: number;
  try {
    // O_NOFOLLOW closes the window between lstat and open; O_NONBLOCK keeps a FIFO from hanging startup.
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return null;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) {
      warn('configfile', 'config path is not a regular file, skipping', `path=${path}`);
    } else if ((st.mode & 0o077) !== 0) {
      warn(
        'configfile',
        'config file has insecure permissions, skipping',
        `path=${path} perms=${formatPerms(st.mode)} expected=0600`,
      );
    } else {
      return fd;
    }
  } catch {
    // fall through to close
  }
  closeSync(fd);
  return null;
}

/** The first acceptable candidate, parsed; null when none is acceptable. */
export function findConfigFile(candidates: readonly string[], warn: ConfigFileWarn): ConfigFile | null {
  for (const path of candidates) {
    const fd = openCandidate(path, warn);
    if (fd === null) continue;
    try {
      return { path, values: readValues(fd) };
    } finally {
      closeSync(fd);
    }
  }
  return null;
}
