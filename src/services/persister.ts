/**
 * Group commit in front of the store. One commit is in flight at a time; everything that arrives meanwhile
 * rides on the next one, so one fsync acknowledges many requests. A failed commit fails its group and every
 * group queued behind it (their audit rows are chained onto rows that never became durable), rewinds the audit
 * head, and runs the callers' undo functions newest first, so memory ends up exactly as it is on disk.
 */
import { type AuditRow, type ChangeBatch, type Mutation, type Store, StoreConflictError } from '../store/store.js';
import type { AuditInput, AuditLog } from './audit.js';

interface Waiter {
  batch: readonly Mutation[];
  /** The change follower's epoch when the request began changing memory (see ChangeFollower). */
  epoch: number;
  undo: (() => void) | undefined;
  resolve(): void;
  reject(err: unknown): void;
}

/**
 * A shared store can refuse one request's changes because another broker got there first (StoreConflictError).
 * That request fails alone: the rest of its group is committed again without it.
 */

export class Persister {
  private queue: Waiter[] = [];
  private inFlight = false;

  constructor(
    private readonly store: Store,
    private readonly audit: AuditLog,
    /** Receives the audit rows of each durable commit, in chain order (the JSONL audit log). */
    private readonly onDurable?: (rows: AuditRow[]) => void,
    /** Receives each commit as it is in the change feed, and the earliest epoch of its requests (shared stores). */
    private readonly onCommitted?: (batch: ChangeBatch, epoch: number) => void,
    /** Called after a failed commit was undone in memory. */
    private readonly onUndone?: () => void,
  ) {}

  /**
   * Chains the audit events and queues them with the mutations, in one synchronous step: an audit row must be
   * queued the moment it is chained, or a rewind could reuse its id.
   */
  commit(
    mutations: readonly Mutation[],
    events: readonly AuditInput[] = [],
    undo?: () => void,
    epoch = Number.POSITIVE_INFINITY,
  ): Promise<void> {
    const batch: Mutation[] = [...mutations];
    for (const e of events) batch.push({ kind: 'audit.insert', row: this.audit.record(e) });
    return new Promise((resolve, reject) => {
      this.queue.push({ batch, epoch, undo, resolve, reject });
      if (!this.inFlight) this.flush();
    });
  }

  /** Resolves when everything submitted so far has been committed or failed. */
  async drain(): Promise<void> {
    while (this.inFlight || this.queue.length > 0) await new Promise((r) => setTimeout(r, 5));
  }

  private flush(): void {
    const group = this.queue;
    this.queue = [];
    if (group.length === 0) return;
    this.inFlight = true;
    const all: Mutation[] = [];
    for (const w of group) for (const m of w.batch) all.push(m);
    this.store.commit(all).then(
      (receipt) => {
        const rows: readonly AuditRow[] = receipt.audit;
        for (const r of rows) this.audit.markDurable(r);
        if (rows.length > 0) this.onDurable?.([...rows]);
        if (receipt.changeSeq > 0) {
          let epoch = Number.POSITIVE_INFINITY;
          for (const w of group) epoch = Math.min(epoch, w.epoch);
          const mutations: Mutation[] = all.filter((m) => m.kind !== 'audit.insert');
          for (const row of rows) mutations.push({ kind: 'audit.insert', row });
          this.onCommitted?.({ seq: receipt.changeSeq, origin: '', mutations }, epoch);
        }
        this.inFlight = false;
        for (const w of group) w.resolve();
        this.flush();
      },
      (err: unknown) => {
        if (err instanceof StoreConflictError) {
          this.refuse(group, err);
          return;
        }
        const failed = [...group, ...this.queue];
        this.queue = [];
        this.audit.rewind();
        this.inFlight = false;
        // Newest first: two requests that changed the same record must restore it in the reverse order of change.
        for (const w of failed.reverse()) w.undo?.();
        this.onUndone?.();
        for (const w of failed) w.reject(err);
      },
    );
  }

  /** Fails the request whose mutation conflicted; the others of its group go first in the next commit. */
  private refuse(group: Waiter[], err: StoreConflictError): void {
    let offset = 0;
    let culprit = group.length - 1;
    for (let i = 0; i < group.length; i++) {
      const size = (group[i] as Waiter).batch.length;
      if (err.index < offset + size) {
        culprit = i;
        break;
      }
      offset += size;
    }
    const [refused] = group.splice(culprit, 1);
    // The store numbers a shared chain itself: the provisional rows of the others are committed again as they are.
    this.audit.rewind();
    this.queue = [...group, ...this.queue];
    this.inFlight = false;
    refused?.undo?.();
    refused?.reject(err);
    this.flush();
  }
}
