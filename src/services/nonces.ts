/**
 * Registration challenges: 32 random bytes as 64 hex chars, valid `ttlSeconds`, single use, kept by the store's
 * nonce book (shared by every broker on a shared store). The nonces this process handed out are capped, so
 * anonymous callers cannot grow memory or the store without bound.
 */
import { LIMITS } from '../config/limits.js';
import { randomHex } from '../crypto/secrets.js';
import { RequestError } from '../errors.js';
import type { NonceBook, NonceOutcome } from '../store/store.js';

/** Challenges being recorded at once, at most; a memory book records at once, so only a shared store reaches it. */
const MAX_RECORDING = 256;

/** A shared store that cannot be reached: the challenge cannot be recorded or checked. */
const unavailable = (cause: unknown): RequestError =>
  new RequestError('service_unavailable', 'the store cannot be reached, try again shortly', { retryAfter: 1, cause });

export class Nonces {
  /** Expiry times (ms) of the nonces this process issued, oldest first: every nonce lives equally long. */
  private readonly outstanding: number[] = [];
  private head = 0;
  private recording = 0;

  constructor(
    private readonly book: NonceBook,
    private readonly max: number = LIMITS.maxNonces,
    readonly ttlSeconds: number = LIMITS.nonceTtlSeconds,
  ) {}

  /**
   * A fresh nonce, spendable once it resolves; null when the ceiling is reached even after dropping expired ones, or
   * when too many are still being recorded (a shared store is slower than a flood of anonymous challenges).
   */
  async issue(now = Date.now()): Promise<string | null> {
    if (this.size >= this.max) this.dropExpired(now);
    if (this.size >= this.max || this.recording >= MAX_RECORDING) return null;
    const nonce = randomHex(32);
    const expiresAt = now + this.ttlSeconds * 1000;
    this.outstanding.push(expiresAt);
    this.recording++;
    try {
      await this.book.put(nonce, expiresAt);
    } catch (err) {
      throw unavailable(err);
    } finally {
      this.recording--;
    }
    return nonce;
  }

  /** Consumes the nonce if it is live; any attempt that names a live nonce burns it. */
  async consume(nonce: string, now = Date.now()): Promise<NonceOutcome> {
    try {
      return await this.book.spend(nonce, now);
    } catch (err) {
      throw unavailable(err);
    }
  }

  async prune(now = Date.now()): Promise<number> {
    this.dropExpired(now);
    return this.book.prune(now);
  }

  /** Nonces this process issued that have not expired yet. */
  get size(): number {
    return this.outstanding.length - this.head;
  }

  private dropExpired(now: number): void {
    while (this.head < this.outstanding.length && (this.outstanding[this.head] as number) < now) this.head++;
    // Compact once the dropped prefix dominates, so the array does not grow forever.
    if (this.head > 1024 && this.head * 2 > this.outstanding.length) {
      this.outstanding.splice(0, this.head);
      this.head = 0;
    }
  }
}
