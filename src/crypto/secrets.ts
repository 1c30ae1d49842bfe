import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { CryptoPool } from './crypto-pool.js';

export function sha256Hex(text: string | Uint8Array): string {
  return createHash('sha256').update(text).digest('hex');
}

export function randomHex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

/**
 * Equality of two digests in time independent of where they differ: the one constant-time comparison every secret
 * check goes through (secrets are hashed first, so their lengths never leak either).
 */
export function digestsEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** `$2a$`/`$2b$`/`$2y$` and exactly 60 characters: the rule the Go broker uses to recognise a stored bcrypt hash. */
export function isBcryptHash(s: string): boolean {
  return s.length === 60 && (s.startsWith('$2a$') || s.startsWith('$2b$') || s.startsWith('$2y$'));
}

const SHA256_PREFIX = 'sha256';
const SALT_BYTES = 16;
const SHA256_HASH_FORMAT = /^sha256\$([0-9a-f]{32})\$([0-9a-f]{64})$/;

/**
 * Client secrets are 256-bit random values, so a salted SHA-256 is as strong as bcrypt against guessing and
 * costs microseconds instead of a quarter second per authentication.
 * Format: `sha256$<16-byte salt hex>$<hex sha256(salt || utf8(secret))>`.
 */
export function hashClientSecret(secret: string): string {
  const salt = randomBytes(SALT_BYTES);
  return `${SHA256_PREFIX}$${salt.toString('hex')}$${saltedDigest(salt, secret).toString('hex')}`;
}

/**
 * Checks a presented secret against a stored hash: the salted SHA-256 form in constant time, a bcrypt hash
 * (imported from a Go broker database) on the pool, anything else never matches.
 */
export async function verifyClientSecret(secret: string, stored: string, pool: CryptoPool): Promise<boolean> {
  const m = SHA256_HASH_FORMAT.exec(stored);
  if (m !== null) {
    const salt = Buffer.from(m[1] as string, 'hex');
    const expected = Buffer.from(m[2] as string, 'hex');
    return digestsEqual(saltedDigest(salt, secret), expected);
  }
  if (isBcryptHash(stored)) return pool.bcryptCompare(secret, stored);
  return false;
}

/** True for stored hashes in a legacy form; after a successful verification the caller should store a new hash. */
export function clientSecretNeedsRehash(stored: string): boolean {
  return !SHA256_HASH_FORMAT.test(stored);
}

/**
 * A well-formed hash of a random secret nobody knows. When a client_id is unknown, run
 * `verifyClientSecret(presented, DUMMY_CLIENT_SECRET_HASH, pool)` and discard the result, so the unknown-id path
 * does the same work as a wrong secret for an app with a sha256 hash. Apps still holding an imported bcrypt hash
 * remain distinguishable by timing until they are rehashed (see clientSecretNeedsRehash).
 */
export const DUMMY_CLIENT_SECRET_HASH: string = hashClientSecret(randomHex(32));

function saltedDigest(salt: Uint8Array, secret: string): Buffer {
  return createHash('sha256').update(salt).update(secret, 'utf8').digest();
}
