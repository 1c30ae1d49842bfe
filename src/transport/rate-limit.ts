/**
 * Token buckets: a new key starts full and pays for its first request; tokens refill at `rate` per second up to
 * `burst`. Buckets that have refilled completely carry no information: the limiter drops them itself, once a
 * minute, and the map has a hard cap so a flood of distinct keys cannot grow memory without bound.
 */
export interface BucketOptions {
  rate: number; // tokens per second
  burst: number;
  /** What a refused client is told to wait (`Retry-After`). */
  retryAfterSeconds: number;
  maxKeys?: number;
}

interface Bucket {
  tokens: number;
  last: number; // ms
}

const PRUNE_EVERY_MS = 60_000;

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly maxKeys: number;
  private lastPrune = Number.NEGATIVE_INFINITY;
  constructor(readonly options: BucketOptions) {
    this.maxKeys = options.maxKeys ?? 100_000;
  }

  /** True when the request may proceed. */
  take(key: string, now = Date.now()): boolean {
    const { rate, burst } = this.options;
    if (now - this.lastPrune >= PRUNE_EVERY_MS) this.prune(now);
    const b = this.buckets.get(key);
    if (b === undefined) {
      // A full map is pruned at most once a second: a flood of new keys must not buy a full scan per request.
      if (this.buckets.size >= this.maxKeys && now - this.lastPrune >= 1000) this.prune(now);
      // Still full of busy keys: fail closed for newcomers rather than forget a throttled key.
      if (this.buckets.size >= this.maxKeys) return false;
      this.buckets.set(key, { tokens: burst - 1, last: now });
      return true;
    }
    b.tokens = Math.min(burst, b.tokens + ((now - b.last) / 1000) * rate);
    b.last = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /** Drops buckets that would be full by now; returns how many. */
  prune(now = Date.now()): number {
    this.lastPrune = now;
    const { rate, burst } = this.options;
    let n = 0;
    for (const [key, b] of this.buckets) {
      if (b.tokens + ((now - b.last) / 1000) * rate >= burst) {
        this.buckets.delete(key);
        n++;
      }
    }
    return n;
  }

  get size(): number {
    return this.buckets.size;
  }
}
