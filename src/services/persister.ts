/**
 * Group commit in front of the store. One commit is in flight at a time; everything that arrives meanwhile
 * rides on the next one, so one fsync acknowledges many requests. A failed commit fails its group and every
 * group queued behind it (their audit rows are chained onto rows that never became durable), rewinds the audit
 * head, and runs the callers' undo functions newest first, so memory ends up exactly as it is on disk.
 */
import type { AuditRow, Mutation, Store } from '../store/store.js';
import type { AuditInput, AuditLog } from './audit.js';

interface Waiter {
  batch: readonly Mutation[];
  undo: (() => void) | undefined;
  resolve(): void;
  reject(err: unknown): void;
}

export class Persister {
  private queue: Waiter[] = [];
  private inFlight = false;

  constructor(
    private readonly store: Store,
    private readonly audit: AuditLog,
    /** Receives the audit rows of each durable commit, in chain order (the JSONL audit log). */
    private readonly onDurable?: (rows: AuditRow[]) => void,
  ) {}

  /**
   * Chains the audit events and queues them with the mutations, in one synchronous step: an audit row must be
   * queued the moment it is chained, or a rewind could reuse its id.
   */
  commit(mutations: readonly Mutation[], events: readonly AuditInput[] = [], undo?: () => void): Promise<void> {
    const batch: Mutation[] = [...mutations];
    for (const e of events) batch.push({ kind: 'audit.insert', row: this.audit.record(e) });
    return new Promise((resolve, reject) => {
      this.queue.push({ batch, undo, resolve, reject });
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
      () => {
        const rows: AuditRow[] = [];
        for (const m of all) if (m.kind === 'audit.insert') rows.push(m.row);
        for (const r of rows) this.audit.markDurable(r);
        if (rows.length > 0) this.onDurable?.(rows);
        this.inFlight = false;
        for (const w of group) w.resolve();
        this.flush();
      },
      (err: unknown) => {
        const failed = [...group, ...this.queue];
        this.queue = [];
        this.audit.rewind();
        this.inFlight = false;
        // Newest first: two requests that changed the same record must restore it in the reverse order of change.
        for (const w of failed.reverse()) w.undo?.();
        for (const w of failed) w.reject(err);
      },
    );
  }
}
