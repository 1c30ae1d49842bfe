import { createHash } from 'node:crypto';
import { digestsEqual } from '../crypto/secrets.js';

export type AdminSecret = { kind: 'sha256'; digest: Buffer } | { kind: 'bcrypt'; hash: string };

export const WEAK_ADMIN_SECRET_MESSAGE =
  "admin secret is a known-weak default; run 'awrit init' to generate a secure config, or set a strong AA_ADMIN_SECRET";

const KNOWN_WEAK: ReadonlySet<string> = new Set(['', 'change-me-in-production']);
const BCRYPT_PREFIXES = ['$2a$', '$2b$', '$2y$'] as const;

/** The Go broker's test: 60 bytes starting with a bcrypt version tag. The rest of the string is not checked. */
export function looksLikeBcrypt(value: string): boolean {
  return Buffer.byteLength(value, 'utf8') === 60 && BCRYPT_PREFIXES.some((p) => value.startsWith(p));
}

export function sha256Utf8(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/**
 * Turns the configured secret into what admin auth compares against, or null when it is a known-weak default.
 * A plaintext secret is kept only as its SHA-256 digest: comparing digests in constant time is as safe as bcrypt
 * for a secret the operator chose, and it keeps a 260 ms bcrypt verification off every admin login.
 */
export function adminSecretFrom(value: string): AdminSecret | null {
  if (KNOWN_WEAK.has(value)) return null;
  if (looksLikeBcrypt(value)) return { kind: 'bcrypt', hash: value };
  return { kind: 'sha256', digest: sha256Utf8(value) };
}

/** Constant-time check of a presented secret against a `sha256` admin secret. */
export function sha256SecretMatches(digest: Buffer, presented: string): boolean {
  return digestsEqual(sha256Utf8(presented), digest);
}
