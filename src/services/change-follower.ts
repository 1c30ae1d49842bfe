/**
 * Keeps this broker's memory current with a shared store (docs/internals.md, "Several brokers on one database").
 * Every batch any broker commits lands in the store's change feed, numbered in commit order; the follower applies
 * them in that order, woken by the store's notifications and by a timer, so a lost notification costs at most one
 * interval. With a private store (no feed) it does nothing: memory is the truth there.
 *
 * Freshness is what makes revocation fail closed: `caughtUpAt` is the start of the last read that reached the end
 * of the feed, so every change committed before that instant has been applied. Past `maxLagMs` the broker refuses
 * to accept tokens (`stale()`), because a revocation it has not seen could be among the missing changes.
 *
 * Own batches: their changes were made in memory when the request ran, so they are applied again only when a
 * foreign batch was applied after that request began (`epoch`); a foreign change to the same record may have
 * overwritten the request's, and applying both in feed order again leaves memory as the database is.
 */
import type { ChangeBatch, ChangeFeed } from '../store/store.js';

const PAGE = 500;
/** Own batches whose epoch is remembered; older ones are applied again when they come (harmless). */
const MAX_OWN = 10_000;

export interface FollowerOptions {
  /**
   * Takes one batch in: its audit rows always (they advance the chain head), its other changes when `toMemory` (a
   * batch of this broker's whose changes memory already holds is not applied twice).
   */
  apply(batch: ChangeBatch, toMemory: boolean): void;
  /** The feed skipped seqs (they were pruned): memory must be rebuilt from a fresh snapshot. */
  resync(): Promise<number>;
  /** How often to read the feed without a notification. */
  pollMs: number;
  /** AA_REVOCATION_MAX_LAG in milliseconds. */
  maxLagMs: number;
  now?: () => number;
  onLog?(level: 'ok' | 'warn' | 'fail', message: string, ...ctx: string[]): void;
}

export class ChangeFollower {
  /** The last seq applied. */
  private seq: number;
  private caughtUpAt: number;
  private running: Promise<void> | null = null;
  private queued: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private failing = false;
  private mustResync = false;
  private closed = false;
  /** Foreign batches applied so far. */
  epoch = 0;
  private readonly own = new Map<number, number>();
  private readonly now: () => number;

  constructor(
    private readonly feed: ChangeFeed | null,
    startSeq: number,
    private readonly o: FollowerOptions,
  ) {
    this.seq = startSeq;
    // A monotonic clock: a wall-clock step back must not hide a real lag.
    this.now = o.now ?? ((): number => performance.now());
    this.caughtUpAt = this.now();
  }

  /** Starts listening and polling; resolves once the first catch-up is done. */
  async start(): Promise<void> {
    if (this.feed === null) return;
    await this.feed.listen((seq) => this.notified(seq));
    this.timer = setInterval(() => void this.catchUp().catch(() => undefined), this.o.pollMs);
    this.timer.unref();
    await this.catchUp();
  }

  stop(): void {
    this.closed = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** The last change seq applied to memory. */
  get applied(): number {
    return this.seq;
  }

  /** Milliseconds since the follower last confirmed it had every change (0 without a feed). */
  lagMs(): number {
    return this.feed === null ? 0 : Math.max(0, this.now() - this.caughtUpAt);
  }

  /** True when revocations committed elsewhere may be missing from memory for longer than allowed. */
  stale(): boolean {
    return this.mustResync || this.lagMs() > this.o.maxLagMs;
  }

  /**
   * A batch this broker just committed, with its feed seq and the epoch its requests began at. When it is the next
   * seq, it is taken in at once (no need to read back what this broker wrote); otherwise the epoch is remembered
   * until the feed brings it.
   */
  noteOwn(batch: ChangeBatch, epoch: number): void {
    if (this.feed === null || batch.seq <= this.seq) return;
    if (batch.seq === this.seq + 1) {
      this.take(batch, epoch < this.epoch);
      this.seq = batch.seq;
      return;
    }
    this.own.set(batch.seq, epoch);
    if (this.own.size > MAX_OWN) {
      const oldest = this.own.keys().next();
      if (oldest.done !== true) this.own.delete(oldest.value);
    }
  }

  /** A notification named `seq`: nothing to read if that change is already applied. */
  notified(seq: number): void {
    if (Number.isSafeInteger(seq) && seq <= this.seq) return;
    void this.catchUp().catch(() => undefined);
  }

  /**
   * Applies everything committed up to now. Resolves after a read that started after the call, so a caller that
   * missed a record created elsewhere can look again afterwards. Concurrent callers share reads.
   */
  catchUp(): Promise<void> {
    if (this.feed === null || this.closed) return Promise.resolve();
    if (this.queued !== null) return this.queued;
    if (this.running === null) {
      this.running = this.run(this.feed).finally(() => {
        this.running = null;
      });
      return this.running;
    }
    this.queued = this.running
      .catch(() => undefined)
      .then(() => {
        this.queued = null;
        return this.catchUp();
      });
    return this.queued;
  }

  private async run(feed: ChangeFeed): Promise<void> {
    try {
      if (this.mustResync) {
        this.seq = await this.o.resync();
        this.own.clear();
        this.epoch++;
        this.mustResync = false;
      }
      for (;;) {
        const started = this.now();
        const batches = await feed.since(this.seq, PAGE);
        // This broker's own commits may have been taken in meanwhile (noteOwn): those are skipped.
        const fresh = batches.filter((b) => b.seq > this.seq);
        const first = fresh[0];
        if (first !== undefined && first.seq !== this.seq + 1) {
          this.o.onLog?.(
            'warn',
            'change feed skipped changes; reloading state',
            `after=${this.seq}`,
            `next=${first.seq}`,
          );
          this.seq = await this.o.resync();
          this.own.clear();
          this.epoch++;
          continue;
        }
        for (const b of fresh) if (b.seq === this.seq + 1) this.applyOne(b, feed.origin);
        if (batches.length < PAGE) {
          this.caughtUpAt = Math.max(this.caughtUpAt, started);
          break;
        }
      }
      if (this.failing) this.o.onLog?.('ok', 'change feed readable again', `seq=${this.seq}`);
      this.failing = false;
    } catch (err) {
      if (!this.failing) this.o.onLog?.('fail', 'cannot read the change feed', `error=${(err as Error).message}`);
      this.failing = true;
      throw err;
    }
  }

  private applyOne(b: ChangeBatch, origin: string): void {
    const own = b.origin === origin;
    if (own) {
      const epoch = this.own.get(b.seq);
      this.own.delete(b.seq);
      // Unknown (not yet noted, or forgotten): applying again is always safe.
      this.take(b, epoch === undefined || epoch < this.epoch);
    } else {
      this.take(b, true);
    }
    this.seq = b.seq;
  }

  /**
   * Every batch applied to memory moves the epoch, this broker's own replays included: a request that began before
   * it may hold an older view of the same record, and its batch must then be applied again in turn.
   */
  private take(b: ChangeBatch, toMemory: boolean): void {
    this.o.apply(b, toMemory);
    if (toMemory) this.epoch++;
  }

  /**
   * A commit of this broker failed after changing memory; its undo may have restored values that changes of other
   * brokers had replaced meanwhile. Memory is rebuilt from the store before it is trusted again.
   */
  requireResync(): void {
    if (this.feed === null) return;
    this.mustResync = true;
    void this.catchUp().catch(() => undefined);
  }
}
