import type { AuditFilter, AuditPage, AuditRow, Mutation, Snapshot } from './store.js';

/** The `agentwrit_db_errors_total{operation}` label of each mutation kind. */
export const DB_OPERATION: Record<Mutation['kind'], string> = {
  'audit.insert': 'save_audit_event',
  'revocation.put': 'save_revocation',
  'app.put': 'save_app',
  'launchToken.put': 'save_launch_token',
  'launchToken.consume': 'save_launch_token',
  'agent.put': 'save_agent',
  'issuedToken.put': 'save_issued_token',
  'signingKey.put': 'save_signing_key',
  prune: 'prune',
  'audit.archive': 'archive_audit_events',
};

/** Messages between the request thread's Store proxy and the storage worker that owns the sql.js database. */

export interface WorkerInit {
  path: string;
  journalPath: string;
}

export interface AppKey {
  app_id: string;
  name: string;
  client_id: string;
}

export interface OpenResult {
  /** Highest sequence number in the database or the journal; the next journal record gets lastSeq + 1. */
  lastSeq: number;
  /** Offset just past the last intact journal record, after recovery cut off any torn tail. */
  journalEnd: number;
  replayed: number;
  /** The database file on disk lags the worker's copy (replay or migration happened): checkpoint soon. */
  checkpointWanted: boolean;
  lastAuditSeq: number;
  apps: AppKey[];
  /** Where the open spent its time: file read, schema check/migration, journal replay, the rest. */
  phasesMs: { read: number; schema: number; replay: number; finish: number };
}

export interface JournalEntry {
  seq: number;
  payload: string;
}

export type ToWorker =
  | { type: 'apply'; entries: JournalEntry[] }
  | { type: 'load'; id: number; nowMs: number }
  | { type: 'query'; id: number; filter: AuditFilter }
  | { type: 'checkpoint'; id: number }
  | { type: 'close'; id: number }
  | { type: 'auditRange'; id: number; afterSeq: number; limit: number };

export type FromWorker =
  | { type: 'opened'; result: OpenResult }
  | { type: 'openFailed'; message: string }
  | { type: 'applyFailed'; seq: number; message: string; operation: string }
  | { type: 'loaded'; id: number; snapshot: Snapshot }
  | { type: 'queried'; id: number; page: AuditPage }
  | { type: 'checkpointed'; id: number; seq: number; bytes: number; ms: number; direct: boolean }
  | { type: 'closed'; id: number }
  | { type: 'auditRows'; id: number; rows: AuditRow[] }
  | { type: 'failed'; id: number; message: string }
  | { type: 'log'; level: 'ok' | 'warn' | 'fail'; message: string; ctx: string[] };
