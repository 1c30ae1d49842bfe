/**
 * The storage worker owns the sql.js database: it replays the journal at open, applies journaled batches, answers
 * queries and writes checkpoints. `export()` blocks this thread for seconds on a large database, which is why none of
 * this runs on the request thread and why journaling does not run here.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Database } from 'sql.js';
import initSqlJs from 'sql.js';
import { replaceFileDurably, replaceFileDurablyFromLive } from '../platform/durable-file.js';
import type { MutationApplier } from './apply.js';
import { parseBatch } from './batch-codec.js';
import { ensureCapacity, liveImage } from './image.js';
import { DB_OPERATION, type FromWorker, type JournalEntry, type ToWorker, type WorkerInit } from './protocol.js';
import { AuditTotals, auditRange, establishAuditState, loadSnapshot, queryAudit } from './queries.js';
import { type Log, recover } from './recovery.js';

const port = parentPort;
if (port === null) throw new Error('storage-worker must run in a worker thread');
const init = workerData as WorkerInit;

const send = (msg: FromWorker): void => port.postMessage(msg);
const log: Log = (level, message, ...ctx) => send({ type: 'log', level, message, ctx });

let db: Database;
let applier: MutationApplier;
/** The array MEMFS holds the database file in, while it can be written out directly (see image.ts). */
let live: Uint8Array | null = null;
let capacityWarned = false;
const totals = new AuditTotals();
let replayedAtOpen = 0;
/** Set when an apply failed: the database copy no longer matches the journal, so it must never be checkpointed. */
let diverged = false;

function applyEntries(entries: JournalEntry[]): void {
  if (diverged || entries.length === 0) return;
  let operation = 'apply';
  let seq = entries[0]!.seq;
  let pruned = false;
  let archived = false;
  db.exec('BEGIN');
  try {
    for (const e of entries) {
      seq = e.seq;
      for (const m of parseBatch(e.payload)) {
        operation = DB_OPERATION[m.kind] ?? 'apply';
        applier.apply(m);
        if (m.kind === 'prune') pruned = true;
        else if (m.kind === 'audit.archive') archived = true;
      }
    }
    applier.setLastSeq(entries[entries.length - 1]!.seq);
    db.exec('COMMIT');
  } catch (err) {
    db.exec('ROLLBACK');
    diverged = true;
    send({ type: 'applyFailed', seq, message: (err as Error).message, operation });
    return;
  }
  if (archived) {
    totals.clear();
    compactAfterArchive();
  }
  const p = applier.lastPrune;
  if (pruned && p !== null) {
    log(
      'ok',
      'pruned expired state',
      `launch_tokens=${p.launchTokens}`,
      `revocations=${p.revocations}`,
      `issued_tokens=${p.issuedTokens}`,
      `agents=${p.agents}`,
    );
  }
}

/** Free pages worth reclaiming: below this the file keeps them for the next inserts. */
const COMPACT_MIN_FREE_BYTES = 16 * 1024 * 1024;

/**
 * Archiving deletes rows, but SQLite keeps the freed pages in the file, and sql.js holds the whole file in memory:
 * without this, a database that once held a long history would keep its size (RSS, startup) after the history moved
 * to the archive. VACUUM rewrites the file with the live rows only (a cost proportional to the retained window),
 * and runs only when a quarter or more of the file is free. It may renumber audit rowids (the order is kept), so
 * the audit state and the cached totals, both keyed by rowid, are rebuilt.
 */
function compactAfterArchive(): void {
  const pragma = (name: string): number => Number(db.exec(`PRAGMA ${name}`)[0]?.values[0]?.[0] ?? 0);
  const pageSize = pragma('page_size');
  const free = pragma('freelist_count');
  if (free * pageSize < COMPACT_MIN_FREE_BYTES || free * 4 < pragma('page_count')) return;
  const started = performance.now();
  try {
    applier.freeStatements();
    db.exec('VACUUM');
    applier.initAudit(establishAuditState(db).state);
    totals.clear();
    log(
      'ok',
      'database compacted after archiving',
      `freed_bytes=${free * pageSize}`,
      `ms=${Math.round(performance.now() - started)}`,
    );
  } catch (err) {
    log('warn', 'database compaction failed; the free pages are reused by later writes', (err as Error).message);
  }
}

async function checkpoint(id: number): Promise<void> {
  if (diverged) {
    send({ type: 'failed', id, message: 'database copy diverged from the journal; not checkpointing' });
    return;
  }
  const started = performance.now();
  // The seq is read before the image is taken and nothing runs in between, so the image holds exactly records ≤ seq.
  const seq = Number(db.exec("SELECT value FROM store_meta WHERE key = 'last_seq'")[0]?.values[0]?.[0] ?? 0);
  try {
    // Writing the live file directly saves export()'s full copy (another file-sized buffer, seconds of page faults).
    const image = liveImage(db, live);
    let bytes: number;
    if (image !== null) {
      bytes = image.length;
      await replaceFileDurablyFromLive(init.path, image);
      // Keep room to grow: MEMFS outgrowing the buffer would copy the whole file and end direct checkpoints.
      if (live !== null && !ensureCapacity(live, bytes) && !capacityWarned) {
        capacityWarned = true;
        log('warn', 'database buffer cannot grow in place; once the file outgrows it, checkpoints export a copy');
      }
    } else {
      live = null;
      let exported: Uint8Array | null = db.export();
      bytes = exported.length;
      const written = replaceFileDurably(init.path, exported);
      exported = null;
      await written;
    }
    send({ type: 'checkpointed', id, seq, bytes, ms: performance.now() - started, direct: image !== null });
  } catch (err) {
    send({ type: 'failed', id, message: `checkpoint of ${init.path} failed: ${(err as Error).message}` });
  }
}

function handle(msg: ToWorker): void {
  switch (msg.type) {
    case 'apply':
      applyEntries(msg.entries);
      return;
    case 'load':
      try {
        send({ type: 'loaded', id: msg.id, snapshot: loadSnapshot(db, msg.nowMs, replayedAtOpen, applier.audit) });
      } catch (err) {
        send({ type: 'failed', id: msg.id, message: (err as Error).message });
      }
      return;
    case 'query':
      try {
        send({ type: 'queried', id: msg.id, page: queryAudit(db, msg.filter, { audit: applier.audit, totals }) });
      } catch (err) {
        send({ type: 'failed', id: msg.id, message: (err as Error).message });
      }
      return;
    case 'checkpoint':
      void checkpoint(msg.id);
      return;
    case 'auditRange':
      try {
        send({ type: 'auditRows', id: msg.id, rows: auditRange(db, msg.afterSeq, msg.limit) });
      } catch (err) {
        send({ type: 'failed', id: msg.id, message: (err as Error).message });
      }
      return;
    case 'close':
      db.close();
      send({ type: 'closed', id: msg.id });
      return;
  }
}

try {
  const SQL = await initSqlJs();
  const opened = await recover(SQL, init, log);
  db = opened.db;
  applier = opened.applier;
  live = opened.live;
  replayedAtOpen = opened.result.replayed;
  port.on('message', handle);
  send({ type: 'opened', result: opened.result });
} catch (err) {
  send({ type: 'openFailed', message: (err as Error).message });
}
