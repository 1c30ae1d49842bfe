import type { Worker } from 'node:worker_threads';
import { encodeBatch } from './batch-codec.js';
import { encodeRecord } from './journal-format.js';
import type { JournalWriter } from './journal-writer.js';
import { MemoryNonceBook } from './memory-nonces.js';
import { DB_OPERATION, type FromWorker, type OpenResult, type ToWorker } from './protocol.js';
import {
  type AuditFilter,
  type AuditPage,
  type AuditRow,
  type CommitReceipt,
  type Mutation,
  type Snapshot,
  type Store,
  type StoreEvents,
  StoreWriteError,
} from './store.js';
import { UniquenessGuard } from './validate.js';

interface PendingBatch {
  seq: number;
  batch: readonly Mutation[];
  payload: string;
  record: Buffer;
  started: number;
  resolve(receipt: CommitReceipt): void;
  reject(err: Error): void;
}

interface PendingRequest {
  resolve(msg: FromWorker): void;
  reject(err: Error): void;
}

type Request = ToWorker extends infer T ? (T extends { id: number } ? Omit<T, 'id'> : never) : never;

const CHECKPOINT_RETRY_MS = 10_000;

/**
 * The request thread's side of the store. Journaling runs here with async fs calls (the write and fdatasync happen
 * on libuv's thread pool, so the event loop never blocks): a commit is acknowledged as soon as its record is on disk,
 * even while the storage worker is stuck for seconds in a checkpoint `export()`. The worker receives each durable
 * group afterwards, in order, and applies it to SQLite.
 */
export class DurableStore implements Store {
  private readonly queue: PendingBatch[] = [];
  private pumping: Promise<void> | null = null;
  private nextSeq: number;
  private lastPostedSeq: number;
  private readonly guard: UniquenessGuard;
  private isHealthy = true;
  private closing: Promise<void> | null = null;
  /** The worker's database no longer matches the journal (apply failed or the worker died): restart required. */
  private broken: Error | null = null;
  private checkpointRunning: Promise<void> | null = null;
  private checkpointNotBefore = 0;
  private rotationCut: number | null = null;
  private rotationDone: (() => void) | null = null;
  private readonly requests = new Map<number, PendingRequest>();
  private nextRequestId = 1;

  constructor(
    private readonly worker: Worker,
    private readonly journal: JournalWriter,
    opened: OpenResult,
    private readonly events: StoreEvents,
    private readonly checkpointBytes: number,
  ) {
    this.nextSeq = opened.lastSeq + 1;
    this.lastPostedSeq = opened.lastSeq;
    this.guard = new UniquenessGuard(opened.lastAuditSeq, opened.apps);
    worker.on('message', (msg: FromWorker) => this.onWorkerMessage(msg));
    worker.on('error', (err) => this.breakDown('worker', err));
    worker.on('exit', (code) => {
      if (this.closing === null) this.breakDown('worker', new Error(`storage worker exited with code ${code}`));
    });
  }

  healthy(): boolean {
    return this.isHealthy && this.broken === null;
  }

  /** The only writer is this process: there is no change feed to follow. */
  readonly feed = null;
  readonly nonces = new MemoryNonceBook();

  commit(batch: readonly Mutation[]): Promise<CommitReceipt> {
    if (this.closing !== null) return Promise.reject(new StoreWriteError('store is closed'));
    if (this.broken !== null) return Promise.reject(new StoreWriteError(`storage unavailable: ${this.broken.message}`));
    const invalid = this.guard.reserve(batch);
    if (invalid !== null) {
      const err = new StoreWriteError(`batch refused: ${invalid}`);
      const kind = batch.find((m) => invalid.startsWith(m.kind))?.kind;
      this.events.onError?.(kind !== undefined ? DB_OPERATION[kind] : 'commit', err);
      return Promise.reject(err);
    }
    const payload = encodeBatch(batch);
    const seq = this.nextSeq++;
    return new Promise<CommitReceipt>((resolve, reject) => {
      this.queue.push({
        seq,
        batch,
        payload,
        record: encodeRecord(seq, Buffer.from(payload, 'utf8')),
        started: performance.now(),
        resolve,
        reject,
      });
      this.pump();
    });
  }

  load(): Promise<Snapshot> {
    return this.request({ type: 'load', nowMs: Date.now() }).then((msg) => {
      if (msg.type !== 'loaded') throw new Error(`unexpected worker reply ${msg.type}`);
      return msg.snapshot;
    });
  }

  queryAudit(filter: AuditFilter): Promise<AuditPage> {
    return this.request({ type: 'query', filter }).then((msg) => {
      if (msg.type !== 'queried') throw new Error(`unexpected worker reply ${msg.type}`);
      return msg.page;
    });
  }

  auditRange(afterSeq: number, limit: number): Promise<AuditRow[]> {
    return this.request({ type: 'auditRange', afterSeq, limit }).then((msg) => {
      if (msg.type !== 'auditRows') throw new Error(`unexpected worker reply ${msg.type}`);
      return msg.rows;
    });
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    while (this.pumping !== null) await this.pumping;
    while (this.checkpointRunning !== null) await this.checkpointRunning;
    if (this.broken === null && this.journal.recordBytes > 0) {
      this.startCheckpoint(true);
      while (this.checkpointRunning !== null) await this.checkpointRunning;
    }
    if (this.broken === null) await this.request({ type: 'close' }).catch(() => undefined);
    await this.journal.close().catch(() => undefined);
    await this.worker.terminate();
  }

  /** Writes every queued batch with one write and one fdatasync per round (group commit). */
  private pump(): void {
    if (this.pumping !== null) return;
    this.pumping = (async () => {
      for (;;) {
        if (this.rotationCut !== null) {
          await this.rotate(this.rotationCut);
          continue;
        }
        const group = this.queue.splice(0);
        if (group.length === 0) break;
        try {
          await this.journal.append(group.length === 1 ? group[0]!.record : Buffer.concat(group.map((b) => b.record)));
        } catch (err) {
          this.failGroup(group, err as Error);
          continue;
        }
        this.acknowledge(group);
      }
    })().finally(() => {
      this.pumping = null;
      if (this.queue.length > 0 || this.rotationCut !== null) this.pump();
    });
  }

  private acknowledge(group: PendingBatch[]): void {
    this.isHealthy = true;
    for (const b of group) this.guard.markDurable(b.batch);
    // Posted before resolving, so a query issued after the commit resolves sees its rows.
    this.post({ type: 'apply', entries: group.map((b) => ({ seq: b.seq, payload: b.payload })) });
    this.lastPostedSeq = group[group.length - 1]!.seq;
    const now = performance.now();
    for (const b of group) {
      b.resolve({ audit: auditRows(b.batch), changeSeq: 0 });
      if (this.events.onAuditWrite !== undefined) {
        for (const m of b.batch) if (m.kind === 'audit.insert') this.events.onAuditWrite((now - b.started) / 1000);
      }
    }
    if (this.journal.recordBytes > this.checkpointBytes) this.startCheckpoint(false);
  }

  /** A failed write takes every batch queued behind it down too: later batches may depend on it (audit chain). */
  private failGroup(group: PendingBatch[], err: Error): void {
    const rejected = [...group, ...this.queue.splice(0)];
    this.nextSeq = group[0]!.seq;
    this.guard.rollback();
    this.isHealthy = false;
    this.events.onError?.('journal_write', err);
    this.events.onLog?.('fail', 'store', `journal write failed, ${rejected.length} batches rejected`, err.message);
    const failure = new StoreWriteError(`journal write failed: ${err.message}`);
    for (const b of rejected) {
      for (const op of new Set(b.batch.map((m) => DB_OPERATION[m.kind]))) this.events.onError?.(op, err);
      b.reject(failure);
    }
  }

  startCheckpoint(force: boolean): void {
    if (this.checkpointRunning !== null || this.broken !== null) return;
    if (!force && Date.now() < this.checkpointNotBefore) return;
    const cut = this.journal.end;
    const throughSeq = this.lastPostedSeq;
    this.checkpointRunning = this.request({ type: 'checkpoint' })
      .then(async (msg) => {
        if (msg.type !== 'checkpointed' || msg.seq !== throughSeq) {
          throw new Error(`checkpoint covered ${msg.type === 'checkpointed' ? msg.seq : '?'}, expected ${throughSeq}`);
        }
        this.events.onLog?.(
          'ok',
          'store',
          'checkpoint written',
          `records<=${msg.seq}`,
          `bytes=${msg.bytes}`,
          `ms=${Math.round(msg.ms)}`,
          `mode=${msg.direct ? 'direct' : 'export'}`,
        );
        await new Promise<void>((resolve) => {
          this.rotationDone = resolve;
          this.rotationCut = cut;
          this.pump();
        });
      })
      .catch((err: Error) => {
        this.checkpointNotBefore = Date.now() + CHECKPOINT_RETRY_MS;
        this.isHealthy = false;
        this.events.onError?.('checkpoint', err);
        this.events.onLog?.('fail', 'store', 'checkpoint failed', err.message);
      })
      .finally(() => {
        this.checkpointRunning = null;
      });
  }

  private async rotate(cut: number): Promise<void> {
    this.rotationCut = null;
    try {
      await this.journal.rotate(cut);
    } catch (err) {
      this.checkpointNotBefore = Date.now() + CHECKPOINT_RETRY_MS;
      this.events.onError?.('checkpoint', err as Error);
      this.events.onLog?.(
        'warn',
        'store',
        'journal rotation failed; the journal keeps its checkpointed records',
        (err as Error).message,
      );
    } finally {
      const done = this.rotationDone;
      this.rotationDone = null;
      done?.();
    }
  }

  private request(msg: Request): Promise<FromWorker> {
    if (this.broken !== null) return Promise.reject(new StoreWriteError(`storage unavailable: ${this.broken.message}`));
    const id = this.nextRequestId++;
    return new Promise<FromWorker>((resolve, reject) => {
      this.requests.set(id, { resolve, reject });
      this.post({ ...msg, id } as ToWorker);
    });
  }

  private post(msg: ToWorker): void {
    this.worker.postMessage(msg);
  }

  private onWorkerMessage(msg: FromWorker): void {
    switch (msg.type) {
      case 'log':
        this.events.onLog?.(msg.level, 'store', msg.message, ...msg.ctx);
        return;
      case 'applyFailed':
        this.breakDown(msg.operation, new Error(`record ${msg.seq} could not be applied: ${msg.message}`));
        return;
      case 'opened':
      case 'openFailed':
        return;
      default: {
        const pending = this.requests.get(msg.id);
        if (pending === undefined) return;
        this.requests.delete(msg.id);
        if (msg.type === 'failed') {
          pending.reject(new Error(msg.message));
        } else {
          pending.resolve(msg);
        }
      }
    }
  }

  private breakDown(operation: string, err: Error): void {
    if (this.broken !== null) return;
    this.broken = err;
    this.events.onError?.(operation, err);
    this.events.onLog?.(
      'fail',
      'store',
      'storage worker unusable; restart the broker to replay the journal',
      err.message,
    );
    for (const p of this.requests.values()) p.reject(new StoreWriteError(`storage unavailable: ${err.message}`));
    this.requests.clear();
  }
}

function auditRows(batch: readonly Mutation[]): AuditRow[] {
  const rows: AuditRow[] = [];
  for (const m of batch) if (m.kind === 'audit.insert') rows.push(m.row);
  return rows;
}
