import { createHash } from 'node:crypto';
import type { Claims } from './claims.js';

export interface CachedToken {
  claims: Claims;
  /** The key that signed it: the entry only answers while that key still verifies (a retired key's tokens die). */
  kid: string;
}

/**
 * Tokens whose signature is known good, keyed by a hash of the whole token, so a token this process issued (or
 * already verified once) never costs an Ed25519 verify again. Only the signature check is cached: the signing
 * key's state, expiry, issuer and revocation are evaluated on every use. Bounded; entries leave at `exp`.
 */
export class VerifiedTokenCache {
  private readonly entries = new Map<string, CachedToken>();
  constructor(private readonly maxEntries = 100_000) {}

  static keyOf(token: string): string {
    return createHash('sha256').update(token).digest('base64');
  }

  get(key: string, nowSeconds: number): CachedToken | undefined {
    const c = this.entries.get(key);
    if (c !== undefined && c.claims.exp < nowSeconds) {
      this.entries.delete(key);
      return undefined;
    }
    return c;
  }

  set(key: string, claims: Claims, kid: string): void {
    if (this.entries.size >= this.maxEntries) {
      // Insertion order approximates age; dropping the oldest only costs a re-verify later.
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(key, { claims, kid });
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  /** Drops expired entries; returns how many. */
  prune(nowSeconds: number): number {
    let n = 0;
    for (const [k, c] of this.entries) {
      if (c.claims.exp < nowSeconds) {
        this.entries.delete(k);
        n++;
      }
    }
    return n;
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
