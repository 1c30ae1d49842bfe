/**
 * Registration challenges of a private store: kept in memory only (a restart invalidates the few outstanding ones,
 * which live 30 s). Consumed nonces are remembered until they would have expired, to tell a replay from a typo.
 */
import type { NonceBook, NonceOutcome } from './store.js';

interface NonceState {
  expiresAt: number; // ms
  consumed: boolean;
}

export class MemoryNonceBook implements NonceBook {
  private readonly nonces = new Map<string, NonceState>();

  put(nonce: string, expiresAtMs: number): Promise<void> {
    this.nonces.set(nonce, { expiresAt: expiresAtMs, consumed: false });
    return Promise.resolve();
  }

  spend(nonce: string, nowMs: number): Promise<NonceOutcome> {
    const s = this.nonces.get(nonce);
    if (s === undefined) return Promise.resolve('not_found');
    if (s.consumed) return Promise.resolve('consumed');
    if (nowMs > s.expiresAt) {
      this.nonces.delete(nonce);
      return Promise.resolve('not_found');
    }
    s.consumed = true;
    return Promise.resolve('ok');
  }

  /** Every nonce lives equally long and the map keeps insertion order, so the expired ones are exactly a prefix. */
  prune(nowMs: number): Promise<number> {
    let n = 0;
    for (const [k, s] of this.nonces) {
      if (nowMs <= s.expiresAt) break;
      this.nonces.delete(k);
      n++;
    }
    return Promise.resolve(n);
  }
}
