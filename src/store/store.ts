/**
 * The storage contract. Every piece of broker state that must survive a restart goes through this interface;
 * the request thread keeps the hot copy in memory and awaits `commit` before answering.
 *
 * Ordering and failure rule (the audit chain relies on it): batches become durable in the order `commit` was
 * called. If a batch fails, every batch submitted after it that is not yet durable fails too, and the on-disk state
 * is exactly the state after the last batch whose promise resolved. The one exception is a conflict
 * (`StoreConflictError`, shared stores only): that batch changed nothing and the batches behind it are unaffected.
 *
 * A store is private (this process is its only writer: memory is the truth, `feed` is null) or shared (several
 * broker processes on one database: memory is a copy kept current from `feed`; docs/internals.md, "Several brokers
 * on one database").
 */

import { AgentWritError } from '../errors.js';

export type RevocationLevel = 'token' | 'agent' | 'task' | 'chain';

/** One row of `audit_events` (Go broker columns, plus `seq` for numeric ordering past evt-999999). */
export interface AuditRow {
  seq: number;
  id: string;
  timestamp: string; // RFC3339Nano, stored verbatim (hash input)
  event_type: string;
  agent_id: string;
  task_id: string;
  orch_id: string;
  detail: string;
  resource: string; // '' ↔ NULL
  outcome: string; // '' ↔ NULL
  deleg_depth: number; // 0 ↔ NULL
  deleg_chain_hash: string; // '' ↔ NULL
  bytes_transferred: number; // 0 ↔ NULL
  hash: string;
  prev_hash: string;
}

/** One row of `revocations`. `expires_at` (unix seconds) is when every token it can match has expired; null = never. */
export interface RevocationRow {
  level: RevocationLevel;
  target: string;
  revoked_at: string; // 'YYYY-MM-DD HH:MM:SS' (SQLite CURRENT_TIMESTAMP shape, UTC)
  expires_at: number | null;
}

/** One row of `apps`. `client_secret_hash` is a bcrypt hash (Go broker) or `sha256$<salt hex>$<digest hex>`. */
export interface AppRow {
  app_id: string;
  name: string;
  client_id: string;
  client_secret_hash: string;
  scope_ceiling: string[];
  token_ttl: number;
  status: 'active' | 'inactive';
  created_at: string; // RFC3339 (Nano allowed for Go rows)
  updated_at: string;
  created_by: string;
  deregistered_at: string | null; // RFC3339 seconds
}

/** A launch token. The token itself is never stored, only its SHA-256 (hex). Times are unix milliseconds. */
export interface LaunchTokenRow {
  token_hash: string;
  agent_name: string;
  allowed_scope: string[];
  max_ttl: number;
  single_use: boolean;
  created_at: number;
  expires_at: number;
  consumed_at: number | null;
  created_by: string;
  app_id: string;
}

/** A registered agent. `expires_at` (unix seconds) is the expiry of the newest token issued to it. */
export interface AgentRow {
  agent_id: string;
  public_key: string; // standard base64 of the raw 32-byte Ed25519 key
  orch_id: string;
  task_id: string;
  scope: string[];
  registered_at: number; // unix ms
  app_id: string;
  expires_at: number;
  status: 'active' | 'revoked';
}

/** A token issued to a non-agent subject (`admin`, `app:…`), so agent-level revocation can kill exactly those. */
export interface IssuedTokenRow {
  jti: string;
  sub: string;
  exp: number; // unix seconds
}

export type SigningKeyState = 'active' | 'retiring' | 'retired';

/**
 * One row of `signing_keys`: a broker signing key's public half and its place in the rotation (docs/operator-guide.md,
 * "Key rotation"). Times are unix seconds. The private half of the active key lives only in the key file.
 */
export interface SigningKeyRow {
  kid: string; // RFC 7638 thumbprint
  public_key: string; // base64url of the raw 32-byte Ed25519 key (the JWK `x`)
  state: SigningKeyState;
  created_at: number;
  rotated_at: number | null; // when it stopped signing
  retire_at: number | null; // while retiring: the latest expiry a token it signed can have
  retired_at: number | null;
}

/**
 * The last event moved out of the database into an archive segment: the rows after it continue the chain from
 * `hash`, so the database part stays verifiable on its own (docs/internals.md, "Audit retention").
 */
export interface AuditAnchor {
  seq: number;
  id: string;
  hash: string;
  archived_at: string; // RFC 3339, when the rows were deleted
}

export type Mutation =
  | { kind: 'audit.insert'; row: AuditRow }
  | { kind: 'revocation.put'; row: RevocationRow } // insert; on (level,target) conflict keep the later expires_at (null wins)
  | { kind: 'app.put'; row: AppRow } // insert or replace by app_id
  | { kind: 'launchToken.put'; row: LaunchTokenRow }
  | { kind: 'launchToken.consume'; token_hash: string; consumed_at: number }
  | { kind: 'agent.put'; row: AgentRow } // insert or replace by agent_id
  | { kind: 'issuedToken.put'; row: IssuedTokenRow }
  | { kind: 'signingKey.put'; row: SigningKeyRow } // insert or replace by kid
  /**
   * Housekeeping, replayed deterministically: delete launch tokens expired or consumed before `now_ms`, revocations
   * with expires_at < now_s, issued tokens with exp < now_s, and mark agents with expires_at < now_s as expired
   * (delete them only when also revoked or expired for longer than `agent_retention_s`).
   */
  | { kind: 'prune'; now_ms: number; agent_retention_s: number }
  /** Deletes the audit rows with seq ≤ anchor.seq (already in a durable archive segment) and records the anchor. */
  | { kind: 'audit.archive'; anchor: AuditAnchor };

/** What a commit made durable. */
export interface CommitReceipt {
  /**
   * The batch's audit rows as stored. A shared store numbers and chains them itself, after every event any process
   * committed before; a private store stores them as given.
   */
  audit: readonly AuditRow[];
  /** The batch's seq in a shared store's change feed; 0 for a private store. */
  changeSeq: number;
}

/** One committed batch in a shared store's change feed, numbered in commit order. */
export interface ChangeBatch {
  seq: number;
  /** The process that committed it (`ChangeFeed.origin`). */
  origin: string;
  mutations: Mutation[];
}

/** The order in which every process on a shared store committed, for each to bring its memory up to date. */
export interface ChangeFeed {
  /** This process's name in the feed. */
  readonly origin: string;
  /** Up to `limit` batches with seq > `afterSeq`, oldest first. The first seq is not `afterSeq + 1` after a gap. */
  since(afterSeq: number, limit: number): Promise<ChangeBatch[]>;
  /**
   * Calls `wake` whenever another process committed (with the new seq), and after each reconnection (with NaN:
   * notifications may have been lost meanwhile).
   */
  listen(wake: (seq: number) => void): Promise<void>;
}

export type NonceOutcome = 'ok' | 'not_found' | 'consumed';

/** Registration challenges: short-lived and single use across every process on the store. */
export interface NonceBook {
  /** Records a nonce; once this resolves, any process on the store can spend it until `expiresAtMs`. */
  put(nonce: string, expiresAtMs: number): Promise<void>;
  /** Spends a live nonce; of concurrent spends of one nonce exactly one gets 'ok'. */
  spend(nonce: string, nowMs: number): Promise<NonceOutcome>;
  /** Drops the nonces expired before `nowMs`; returns how many. */
  prune(nowMs: number): Promise<number>;
}

export interface AuditFilter {
  agent_id?: string;
  task_id?: string;
  event_type?: string;
  outcome?: string;
  since?: string; // RFC3339Nano, compared as instants
  until?: string;
  limit: number; // 1..1000
  offset: number; // ≥ 0
}

export interface AuditPage {
  events: AuditRow[];
  total: number;
}

/** What the request thread needs in memory at startup. Audit rows stay on disk; only the chain head is loaded. */
export interface Snapshot {
  apps: AppRow[];
  revocations: RevocationRow[];
  launchTokens: LaunchTokenRow[]; // unexpired, consumed ones included (a reuse is reported as such)
  agents: AgentRow[];
  issuedTokens: IssuedTokenRow[]; // unexpired
  signingKeys: SigningKeyRow[]; // every key, retired ones included, oldest first
  audit: { count: number; lastSeq: number; lastHash: string };
  /** The last archived event, or null when the database still holds the chain from its start. */
  auditAnchor: AuditAnchor | null;
  /** Journal records replayed into the database file at open (0 after a clean shutdown). */
  replayed: number;
  /** Shared stores: the change feed's seq this snapshot includes (0 for a private store). */
  changeSeq: number;
}

export interface StoreEvents {
  /** A storage operation failed; `operation` is a `agentwrit_db_errors_total` label value. */
  onError?(operation: string, err: Error): void;
  /** Seconds an audit insert took to become durable (observed once per audit row committed). */
  onAuditWrite?(seconds: number): void;
  /** Log line hook: level 'ok' | 'warn' | 'fail', a component, a message, context items. */
  onLog?(level: 'ok' | 'warn' | 'fail', component: string, message: string, ...ctx: string[]): void;
}

export interface Store {
  /** Loads everything the broker keeps in memory. Called once, right after open. */
  load(): Promise<Snapshot>;
  /**
   * Makes the batch durable (fsync) and resolves; rejects with StoreWriteError if it could not, or (shared store)
   * with StoreConflictError when another process got there first.
   */
  commit(batch: readonly Mutation[]): Promise<CommitReceipt>;
  /** Audit query: filters AND-ed, oldest first by seq, total = matches before paging. */
  queryAudit(filter: AuditFilter): Promise<AuditPage>;
  /** Up to `limit` (≤ 1000) audit rows with seq > `afterSeq`, oldest first: the chain read in order. */
  auditRange(afterSeq: number, limit: number): Promise<AuditRow[]>;
  /** Whether the last write reached the disk. */
  healthy(): boolean;
  /** Null for a private store; a shared store's change feed. */
  readonly feed: ChangeFeed | null;
  /** Where registration challenges are kept (in memory for a private store). */
  readonly nonces: NonceBook;
  /** Flushes pending writes, checkpoints, and releases the file. */
  close(): Promise<void>;
}

/** The database or journal cannot be opened or is corrupt: the broker must refuse to start. */
export class StoreOpenError extends AgentWritError {
  override readonly name = 'StoreOpenError';
  readonly code = 'AW_ERR_STORE_OPEN';
}

/**
 * Another process on a shared store got there first: a single-use launch token already consumed, an app name or
 * client_id just taken. Nothing of the batch is durable; `index` is the position of the mutation that conflicted.
 */
export class StoreConflictError extends AgentWritError {
  override readonly name = 'StoreConflictError';
  readonly code = 'AW_ERR_STORE_CONFLICT';
  constructor(
    message: string,
    readonly index: number,
  ) {
    super(message);
  }
}

/**
 * A commit failed; nothing of the batch is durable. `unreachable`: the database server could not be reached (a
 * shared store during an outage), so trying again later is the remedy, not an operator fixing the disk.
 */
export class StoreWriteError extends AgentWritError {
  override readonly name = 'StoreWriteError';
  readonly code = 'AW_ERR_STORE_WRITE';
  constructor(
    message: string,
    readonly unreachable = false,
  ) {
    super(message);
  }
}
