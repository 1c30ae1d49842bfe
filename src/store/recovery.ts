import { open, readFile, stat, truncate, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Database, SqlJsStatic } from 'sql.js';
import { AgentWritError } from '../errors.js';
import { fsyncDir, replaceFileDurably } from '../platform/durable-file.js';
import { type AuditState, MutationApplier } from './apply.js';
import { parseBatch } from './batch-codec.js';
import { openImage, readWithCapacity } from './image.js';
import { JOURNAL_MAGIC, JournalCorruptError, scanJournal } from './journal-format.js';
import type { OpenResult, WorkerInit } from './protocol.js';
import { auditHead, establishAuditState, loadApps } from './queries.js';
import { ensureSchema, readLastSeq } from './schema.js';
import { timestampKey } from './timestamps.js';

export type Log = (level: 'ok' | 'warn' | 'fail', message: string, ...ctx: string[]) => void;

/** Anything that must stop the broker from starting; the message names the file. */
export class RecoveryError extends AgentWritError {
  override readonly name = 'RecoveryError';
  readonly code = 'AW_ERR_RECOVERY';
}

const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');
/** Below this size a full structural check is cheap enough to run at every start. */
const QUICK_CHECK_MAX_BYTES = 64 * 1024 * 1024;
const REPLAY_CHUNK = 2000;

async function readOptional(path: string): Promise<Buffer | null> {
  try {
    return await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new RecoveryError(`cannot read ${path}: ${(err as Error).message}`);
  }
}

async function nonEmptyFileExists(path: string): Promise<boolean> {
  try {
    return (await stat(path)).size > 0;
  } catch {
    return false;
  }
}

async function checkDatabaseBytes(path: string, bytes: Buffer): Promise<void> {
  // `bytes` is the memory the database will run from: the WAL fix-up below edits it in place.
  if (bytes.length < 100 || !bytes.subarray(0, 16).equals(SQLITE_MAGIC)) {
    throw new RecoveryError(`${path} is not a SQLite database (bad header)`);
  }
  if (await nonEmptyFileExists(`${path}-wal`)) {
    throw new RecoveryError(
      `${path} has a write-ahead log (${path}-wal); fold it in first: sqlite3 ${path} 'PRAGMA wal_checkpoint(TRUNCATE)'`,
    );
  }
  if (await nonEmptyFileExists(`${path}-journal`)) {
    throw new RecoveryError(
      `${path} has a hot rollback journal (${path}-journal); open it once with sqlite3 to roll it back`,
    );
  }
  const rawPageSize = bytes.readUInt16BE(16);
  const pageSize = rawPageSize === 1 ? 65536 : rawPageSize;
  const changeCounter = bytes.readUInt32BE(24);
  const pageCount = bytes.readUInt32BE(28);
  if (bytes.readUInt32BE(92) === changeCounter && pageCount * pageSize !== bytes.length) {
    throw new RecoveryError(
      `${path} is corrupt: header says ${pageCount} pages of ${pageSize} bytes, file has ${bytes.length} bytes`,
    );
  }
  // A WAL-mode file without a WAL is a complete database; sql.js can only read it in rollback mode.
  if (bytes[18] === 2) bytes[18] = 1;
  if (bytes[19] === 2) bytes[19] = 1;
}

export function configureDatabase(db: Database): void {
  db.exec('PRAGMA journal_mode = MEMORY; PRAGMA cache_size = -16384; PRAGMA foreign_keys = OFF');
  db.create_function('aw_ts_key', (ts: unknown) => (typeof ts === 'string' ? timestampKey(ts) : null));
}

export interface Opened {
  db: Database;
  applier: MutationApplier;
  /** The array MEMFS keeps the database file in, when it could be handed over without a copy (see image.ts). */
  live: Uint8Array | null;
  result: OpenResult;
}

async function writeJournalHeader(journalPath: string): Promise<void> {
  const fh = await open(journalPath, 'w', 0o600);
  try {
    await fh.write(JOURNAL_MAGIC, 0, JOURNAL_MAGIC.length, 0);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fsyncDir(dirname(journalPath));
}

/** Opens the database file (or creates it), migrates the schema, verifies the journal and replays it. */
export async function recover(SQL: SqlJsStatic, init: WorkerInit, log: Log): Promise<Opened> {
  const { path, journalPath } = init;
  await unlink(`${path}.tmp-checkpoint`).catch(() => undefined);
  await unlink(`${journalPath}.tmp`).catch(() => undefined);

  const t0 = performance.now();
  let bytes: Buffer | null;
  try {
    bytes = await readWithCapacity(path);
  } catch (err) {
    throw new RecoveryError(`cannot read ${path}: ${(err as Error).message}`);
  }
  const created = bytes === null || bytes.length === 0;
  if (bytes !== null && !created) await checkDatabaseBytes(path, bytes);
  const fileBytes = bytes?.length ?? 0;
  const tRead = performance.now();
  let db: Database;
  let live: Uint8Array | null = null;
  let migrated: boolean;
  let audit: { state: AuditState; changed: boolean };
  try {
    if (created) {
      db = new SQL.Database();
    } else {
      ({ db, live } = openImage(SQL, bytes!));
    }
    // From here MEMFS owns the memory (or a copy of it); this reference must not keep a second file-sized buffer.
    bytes = null;
    configureDatabase(db);
    if (!created && fileBytes <= QUICK_CHECK_MAX_BYTES) {
      const verdict = db.exec('PRAGMA quick_check')[0]?.values[0]?.[0];
      if (verdict !== 'ok') throw new Error(String(verdict));
    }
    migrated = ensureSchema(db);
    audit = establishAuditState(db);
  } catch (err) {
    throw new RecoveryError(`${path} is corrupt or unreadable: ${(err as Error).message}`);
  }
  const tSchema = performance.now();
  const applier = new MutationApplier(db);
  applier.initAudit(audit.state);
  const dbSeq = readLastSeq(db);

  const journalBytes = await readOptional(journalPath);
  let journalEnd: number;
  let replayed = 0;
  if (journalBytes === null) {
    await writeJournalHeader(journalPath);
    journalEnd = JOURNAL_MAGIC.length;
  } else {
    let scan;
    try {
      scan = scanJournal(journalBytes, journalPath);
    } catch (err) {
      if (err instanceof JournalCorruptError) throw new RecoveryError(err.message);
      throw err;
    }
    if (scan.headerMissing) {
      await writeJournalHeader(journalPath);
      journalEnd = JOURNAL_MAGIC.length;
    } else {
      journalEnd = scan.validEnd;
      if (scan.tornTail !== null) {
        await truncate(journalPath, scan.validEnd);
        const fh = await open(journalPath, 'r+');
        await fh.sync().finally(() => fh.close());
        log(
          'warn',
          `dropped torn journal tail: ${scan.tornTail.bytes} bytes at offset ${scan.tornTail.offset}`,
          journalPath,
        );
      }
    }
    const pending = scan.records.filter((r) => r.seq > dbSeq);
    const first = pending[0];
    if (first !== undefined && first.seq !== dbSeq + 1) {
      throw new RecoveryError(
        `${journalPath} starts at record ${first.seq} but ${path} ends at ${dbSeq}: records ${dbSeq + 1}..${first.seq - 1} are missing`,
      );
    }
    const lastRecord = scan.records[scan.records.length - 1];
    if (lastRecord !== undefined && lastRecord.seq < dbSeq) {
      // Everything in it is already in the database (a checkpoint finished, its journal rotation did not).
      await writeJournalHeader(journalPath);
      journalEnd = JOURNAL_MAGIC.length;
    }
    for (let i = 0; i < pending.length; i += REPLAY_CHUNK) {
      const chunk = pending.slice(i, i + REPLAY_CHUNK);
      db.exec('BEGIN');
      let current = chunk[0]!;
      try {
        for (const rec of chunk) {
          current = rec;
          for (const m of parseBatch(rec.payload.toString('utf8'))) applier.apply(m);
        }
        applier.setLastSeq(chunk[chunk.length - 1]!.seq);
        db.exec('COMMIT');
      } catch (err) {
        db.exec('ROLLBACK');
        throw new RecoveryError(
          `${journalPath}: record ${current.seq} at offset ${current.offset} cannot be applied: ${(err as Error).message}`,
        );
      }
      replayed += chunk.length;
    }
  }
  if (replayed > 0) log('ok', `replayed ${replayed} journal records`, journalPath);

  const tReplay = performance.now();
  const lastSeq = readLastSeq(db);
  if (created) {
    // Give the operator a real SQLite file right away instead of after the first checkpoint.
    applier.setLastSeq(lastSeq);
    await replaceFileDurably(path, db.export());
  }
  const head = auditHead(db, applier.audit);
  const tEnd = performance.now();
  return {
    db,
    applier,
    live,
    result: {
      lastSeq,
      journalEnd,
      replayed,
      checkpointWanted: replayed > 0 || ((migrated || audit.changed) && !created),
      lastAuditSeq: head.lastSeq,
      apps: loadApps(db).map((a) => ({ app_id: a.app_id, name: a.name, client_id: a.client_id })),
      phasesMs: {
        read: Math.round(tRead - t0),
        schema: Math.round(tSchema - tRead),
        replay: Math.round(tReplay - tSchema),
        finish: Math.round(tEnd - tReplay),
      },
    },
  };
}
