/**
 * Writing the broker's config file (docs/internals.md, "Configuration file") the way the broker will accept it: a regular file owned by
 * the caller with mode 0600 (the broker skips files with any group/other bit), in directories created 0700.
 */
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  constants,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  type Stats,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { CliError, EXIT } from './errors.js';

export class ConfigWriteError extends CliError {
  override readonly name = 'ConfigWriteError';
  constructor(message: string) {
    super(message, EXIT.refused);
  }
}

const errText = (err: unknown): string => {
  const e = err as NodeJS.ErrnoException;
  return e.code ?? e.message;
};

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new ConfigWriteError(`cannot inspect ${path}: ${errText(err)}`);
  }
}

/** Creates the missing ancestors of `dir` (not existing ones) with mode 0700, whatever the umask. */
function makeDirs(dir: string): void {
  const missing: string[] = [];
  for (let d = dir; lstatOrNull(d) === null; d = dirname(d)) {
    missing.unshift(d);
    if (dirname(d) === d) break;
  }
  for (const d of missing) {
    try {
      mkdirSync(d, { mode: 0o700 });
      chmodSync(d, 0o700);
    } catch (err) {
      throw new ConfigWriteError(`create config directory ${d}: ${errText(err)}`);
    }
  }
}

function writeFd(fd: number, content: string): void {
  const buf = Buffer.from(content, 'utf8');
  for (let off = 0; off < buf.length; ) off += writeSync(fd, buf, off);
  fsyncSync(fd);
}

/** Exclusive create; never follows a symlink. */
function createNew(path: string, content: string): void {
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new ConfigWriteError(`config file already exists at ${path}. Use --force to overwrite`);
    }
    throw new ConfigWriteError(`write config file ${path}: ${errText(err)}`);
  }
  try {
    writeFd(fd, content);
  } catch (err) {
    closeSync(fd);
    rmSync(path, { force: true });
    throw new ConfigWriteError(`write config content ${path}: ${errText(err)}`);
  }
  closeSync(fd);
}

/**
 * Replaces through a fresh 0600 file renamed over the old one: the result never keeps the old file's loose mode
 * or owner, and a crash leaves either the old file or the new one, never half of each.
 */
function replace(path: string, content: string): void {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  createNew(tmp, content);
  try {
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new ConfigWriteError(`write config file ${path}: ${errText(err)}`);
  }
  try {
    const dfd = openSync(dirname(path), constants.O_RDONLY);
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch {
    // Some filesystems cannot fsync a directory; the rename itself already happened.
  }
}

/** Writes the file; returns whether an existing one was replaced. */
export function writeConfigFile(path: string, content: string, force: boolean): { replaced: boolean } {
  const st = lstatOrNull(path);
  if (st?.isSymbolicLink()) throw new ConfigWriteError(`config path is a symlink: ${path}`);
  if (st !== null && !st.isFile()) throw new ConfigWriteError(`config path exists and is not a regular file: ${path}`);
  if (st !== null && !force)
    throw new ConfigWriteError(`config file already exists at ${path}. Use --force to overwrite`);
  makeDirs(dirname(path));
  if (st === null) createNew(path, content);
  else replace(path, content);
  return { replaced: st !== null };
}
