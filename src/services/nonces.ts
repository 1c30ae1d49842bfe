/**
 * Registration challenges: 32 random bytes as 64 hex chars, valid `ttlSeconds`, single use. Outstanding nonces are capped
 * so anonymous callers cannot grow memory without bound; consumed ones are remembered until they would have
 * expired, to tell a replay apart from a typo.
 */
import { LIMITS } from '../config/limits.js';
import { randomHex } from '../crypto/secrets.js';

interface NonceState {
  expiresAt: number; // ms
  consumed: boolean;
}

export type NonceOutcome = 'ok' | 'not_found' | 'consumed';

export class Nonces {
  private readonly nonces = new Map<string, NonceState>();
  constructor(
    private readonly max: number = LIMITS.maxNonces,
    readonly ttlSeconds: number = LIMITS.nonceTtlSeconds,
  ) {}

  /** A fresh nonce, or null when the ceiling is reached even after dropping expired ones. */
  issue(now = Date.now()): string | null {
    if (this.nonces.size >= this.max) this.prune(now);
    if (this.nonces.size >= this.max) return null;
    const nonce = randomHex(32);
    this.nonces.set(nonce, { expiresAt: now + this.ttlSeconds * 1000, consumed: false });
    return nonce;
  }

  /** Checks without consuming. */
  peek(nonce: string, now = Date.now()): NonceOutcome {
    const s = this.nonces.get(nonce);
    if (s === undefined) return 'not_found';
    if (s.consumed) return 'consumed';
    if (now > s.expiresAt) {
      this.nonces.delete(nonce);
      return 'not_found';
    }
    return 'ok';
  }

  /** Consumes the nonce if it is live; any attempt that names a live nonce burns it. */
  consume(nonce: string, now = Date.now()): NonceOutcome {
    const outcome = this.peek(nonce, now);
    if (outcome === 'ok') (this.nonces.get(nonce) as NonceState).consumed = true;
    return outcome;
  }

  /** Every nonce lives equally long and the map keeps issue order, so the expired ones are exactly a prefix. */
  prune(now = Date.now()): number {
    let n = 0;
    for (const [k, s] of this.nonces) {
      if (now <= s.expiresAt) break;
      this.nonces.delete(k);
      n++;
    }
    return n;
  }

  get size(): number {
    return this.nonces.size;
  }
}
