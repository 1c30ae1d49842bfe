import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { AgentWritError } from '../errors.js';
import { type Ed25519KeyPair, generateKeyPair, keyPairFromSeed } from './ed25519.js';
import { decodeFirstPemBlock, encodePemBlock } from './pem.js';
import { decodeEd25519Pkcs8, encodeEd25519Pkcs8, Pkcs8Error } from './pkcs8.js';

/** Every failure to obtain the signing key; the message is what the operator sees after `FATAL: signing key: `. */
export class SigningKeyError extends AgentWritError {
  readonly code = 'AW_ERR_SIGNING_KEY';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SigningKeyError';
  }
}

const PEM_TYPE = 'PRIVATE KEY';

export async function loadOrCreateSigningKey(path: string): Promise<{ keyPair: Ed25519KeyPair; created: boolean }> {
  let contents: Buffer;
  try {
    contents = await readFile(path);
  } catch (err) {
    if (errorCode(err) !== 'ENOENT') {
      throw new SigningKeyError(`keystore: read ${path}: ${describeFsError(err, path)}`, { cause: err });
    }
    return { keyPair: await createKeyFile(path), created: true };
  }
  return { keyPair: parseSigningKey(contents), created: false };
}

/** Parses key file contents (PEM, PKCS#8, Ed25519). Throws SigningKeyError. */
export function parseSigningKey(contents: Uint8Array): Ed25519KeyPair {
  // latin1 keeps one char per byte, so non-UTF-8 noise around the block cannot shift or corrupt it.
  const block = decodeFirstPemBlock(Buffer.from(contents).toString('latin1'));
  if (block === null) throw new SigningKeyError('keystore: no PEM block found');
  if (block.type !== PEM_TYPE) {
    throw new SigningKeyError(`keystore: unexpected PEM block type ${JSON.stringify(block.type)}, want "${PEM_TYPE}"`);
  }
  let decoded;
  try {
    decoded = decodeEd25519Pkcs8(block.bytes);
  } catch (err) {
    if (err instanceof Pkcs8Error && err.foreignAlgorithm !== undefined) {
      throw new SigningKeyError(`keystore: key is ${err.foreignAlgorithm}, want Ed25519`, { cause: err });
    }
    throw new SigningKeyError(`keystore: parse PKCS8: ${errorMessage(err)}`, { cause: err });
  }
  const keyPair = keyPairFromSeed(decoded.seed);
  // A v2 file carries its own public key; disagreeing with the seed means the file is corrupt, and signing with
  // it would publish a kid that verifiers cannot match.
  if (decoded.publicKey !== null && !Buffer.from(decoded.publicKey).equals(keyPair.publicKey)) {
    throw new SigningKeyError('keystore: parse PKCS8: public key does not match private key');
  }
  return keyPair;
}

/**
 * Writes a fresh key to a temporary file, makes it durable, then hard-links it into place: the link fails if
 * another process created the key meanwhile (exclusive, as Go's O_EXCL), and a crash never leaves a torn key
 * file at `path`.
 */
async function createKeyFile(path: string): Promise<Ed25519KeyPair> {
  const dir = dirname(path);
  await createDirectories(dir);

  const keyPair = generateKeyPair();
  const pem = encodePemBlock(PEM_TYPE, encodeEd25519Pkcs8(keyPair.seed));
  const tmpPath = `${path}.${randomBytes(6).toString('hex')}.tmp`;

  let handle;
  try {
    handle = await open(tmpPath, 'wx', 0o600);
  } catch (err) {
    throw new SigningKeyError(`keystore: create file: ${describeFsError(err, tmpPath)}`, { cause: err });
  }
  try {
    try {
      await handle.writeFile(pem);
    } catch (err) {
      throw new SigningKeyError(`keystore: write key: ${describeFsError(err, tmpPath)}`, { cause: err });
    }
    try {
      await handle.sync();
    } catch (err) {
      throw new SigningKeyError(`keystore: sync key: ${describeFsError(err, tmpPath)}`, { cause: err });
    }
    await handle.close();
    handle = undefined;
    try {
      await link(tmpPath, path);
    } catch (err) {
      throw new SigningKeyError(`keystore: create file: ${describeFsError(err, path)}`, { cause: err });
    }
  } finally {
    await handle?.close().catch(() => undefined);
    await unlink(tmpPath).catch(() => undefined);
  }
  await syncDirectory(dir);
  return keyPair;
}

/**
 * Replaces the key file with `keyPair` (key rotation): the same durable temporary file, then an atomic rename over
 * `path`, so a crash leaves either the old key or the new one there, never a torn file, and the old private key
 * is gone from the file once this resolves.
 */
export async function replaceSigningKeyFile(path: string, keyPair: Ed25519KeyPair): Promise<void> {
  const dir = dirname(path);
  const tmpPath = await writeTempKey(path, keyPair);
  try {
    await rename(tmpPath, path);
  } catch (err) {
    await unlink(tmpPath).catch(() => undefined);
    throw new SigningKeyError(`keystore: replace key: ${describeFsError(err, path)}`, { cause: err });
  }
  await syncDirectory(dir);
}

/** Writes the PEM of `keyPair` to a fresh 0600 temporary file beside `path` and syncs it; returns its path. */
async function writeTempKey(path: string, keyPair: Ed25519KeyPair): Promise<string> {
  const pem = encodePemBlock(PEM_TYPE, encodeEd25519Pkcs8(keyPair.seed));
  const tmpPath = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  let handle;
  try {
    handle = await open(tmpPath, 'wx', 0o600);
  } catch (err) {
    throw new SigningKeyError(`keystore: create file: ${describeFsError(err, tmpPath)}`, { cause: err });
  }
  try {
    await handle.writeFile(pem);
    await handle.sync();
  } catch (err) {
    await unlink(tmpPath).catch(() => undefined);
    throw new SigningKeyError(`keystore: write key: ${describeFsError(err, tmpPath)}`, { cause: err });
  } finally {
    await handle.close().catch(() => undefined);
  }
  return tmpPath;
}

/**
 * `mkdir -p` with mode 0700 for each directory created. Node's `recursive: true` can spin forever on paths
 * whose parent refuses new entries with ENOENT (e.g. under /proc), which would hang startup.
 */
async function createDirectories(dir: string): Promise<void> {
  const missing: string[] = [];
  for (let current = resolve(dir); ; ) {
    try {
      if ((await stat(current)).isDirectory()) break;
      throw new SigningKeyError(`keystore: create directory: mkdir ${current}: not a directory`);
    } catch (err) {
      if (err instanceof SigningKeyError) throw err;
      if (errorCode(err) !== 'ENOENT') {
        throw new SigningKeyError(`keystore: create directory: ${describeFsError(err, current)}`, { cause: err });
      }
    }
    missing.push(current);
    const parent = dirname(current);
    if (parent === current) break;
    current = parent;
  }
  for (const path of missing.reverse()) {
    try {
      await mkdir(path, { mode: 0o700 });
    } catch (err) {
      // Someone else created it meanwhile; fine as long as it is a directory.
      if (errorCode(err) === 'EEXIST' && (await stat(path).catch(() => null))?.isDirectory() === true) continue;
      throw new SigningKeyError(`keystore: create directory: ${describeFsError(err, path)}`, { cause: err });
    }
  }
}

async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (err) {
    throw new SigningKeyError(`keystore: sync key: ${describeFsError(err, dir)}`, { cause: err });
  }
}

function errorCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string'
    ? err.code
    : undefined;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Go-style "<op> <path>: <reason>" from Node's "CODE: reason, op 'path'" messages. */
function describeFsError(err: unknown, path: string): string {
  const message = errorMessage(err);
  const reason = /^[A-Z0-9_]+: ([^,]+)/.exec(message)?.[1] ?? message;
  const syscall =
    typeof err === 'object' && err !== null && 'syscall' in err && typeof err.syscall === 'string'
      ? err.syscall
      : undefined;
  return syscall === undefined ? reason : `${syscall} ${path}: ${reason}`;
}
