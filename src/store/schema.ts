import type { Database } from 'sql.js';

/** The Go broker's DDL (docs/internals.md, "Database compatibility"), verbatim, so a database written by either broker opens in the other. */
const GO_SCHEMA = `
CREATE TABLE IF NOT EXISTS audit_events (
  id TEXT PRIMARY KEY,
  timestamp TEXT NOT NULL,
  event_type TEXT NOT NULL,
  agent_id TEXT NOT NULL DEFAULT '',
  task_id TEXT NOT NULL DEFAULT '',
  orch_id TEXT NOT NULL DEFAULT '',
  detail TEXT NOT NULL DEFAULT '',
  resource TEXT DEFAULT NULL,
  outcome TEXT DEFAULT NULL,
  deleg_depth INTEGER DEFAULT NULL,
  deleg_chain_hash TEXT DEFAULT NULL,
  bytes_transferred INTEGER DEFAULT NULL,
  hash TEXT NOT NULL,
  prev_hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_audit_event_type ON audit_events(event_type);
CREATE INDEX IF NOT EXISTS idx_audit_agent_id ON audit_events(agent_id);
CREATE INDEX IF NOT EXISTS idx_audit_timestamp ON audit_events(timestamp);
CREATE INDEX IF NOT EXISTS idx_audit_outcome ON audit_events(outcome);
CREATE TABLE IF NOT EXISTS revocations (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  level TEXT NOT NULL,
  target TEXT NOT NULL,
  revoked_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  UNIQUE(level, target)
);
CREATE TABLE IF NOT EXISTS apps (
  app_id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  client_id TEXT NOT NULL UNIQUE,
  client_secret_hash TEXT NOT NULL,
  scope_ceiling TEXT NOT NULL,
  token_ttl INTEGER NOT NULL DEFAULT 1800,
  status TEXT NOT NULL DEFAULT 'active',
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  created_by TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_apps_client_id ON apps(client_id);
CREATE INDEX IF NOT EXISTS idx_apps_status ON apps(status);
`;

/** Tables this broker adds for the state the Go broker kept only in memory. */
const ADDED_TABLES = `
CREATE TABLE IF NOT EXISTS launch_tokens (
  token_hash TEXT PRIMARY KEY,
  agent_name TEXT NOT NULL,
  allowed_scope TEXT NOT NULL,
  max_ttl INTEGER NOT NULL,
  single_use INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  consumed_at INTEGER DEFAULT NULL,
  created_by TEXT NOT NULL,
  app_id TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS idx_launch_tokens_expires_at ON launch_tokens(expires_at);
CREATE TABLE IF NOT EXISTS agents (
  agent_id TEXT PRIMARY KEY,
  public_key TEXT NOT NULL,
  orch_id TEXT NOT NULL,
  task_id TEXT NOT NULL,
  scope TEXT NOT NULL,
  registered_at INTEGER NOT NULL,
  app_id TEXT NOT NULL DEFAULT '',
  expires_at INTEGER NOT NULL,
  status TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS issued_tokens (
  jti TEXT PRIMARY KEY,
  sub TEXT NOT NULL,
  exp INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_issued_tokens_exp ON issued_tokens(exp);
CREATE TABLE IF NOT EXISTS signing_keys (
  kid TEXT PRIMARY KEY,
  public_key TEXT NOT NULL,
  state TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  rotated_at INTEGER DEFAULT NULL,
  retire_at INTEGER DEFAULT NULL,
  retired_at INTEGER DEFAULT NULL
);
CREATE TABLE IF NOT EXISTS store_meta (
  key TEXT PRIMARY KEY,
  value INTEGER NOT NULL
);
`;

/** Audit retention: the last event moved to an archive segment (one row at most). */
const AUDIT_ANCHOR_TABLE = `
CREATE TABLE IF NOT EXISTS audit_anchor (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  seq INTEGER NOT NULL,
  event_id TEXT NOT NULL,
  hash TEXT NOT NULL,
  archived_at TEXT NOT NULL
);
`;

function columns(db: Database, table: string): Set<string> {
  const res = db.exec(`PRAGMA table_info(${table})`);
  const names = new Set<string>();
  for (const row of res[0]?.values ?? []) names.add(String(row[1]));
  return names;
}

/**
 * Creates missing tables and adds this broker's columns to a Go-written database. Runs before journal replay on every
 * open and is idempotent, so replay sees the same schema whether or not the migration was already checkpointed.
 * Returns whether anything changed.
 */
export function ensureSchema(db: Database): boolean {
  const before = db.exec('SELECT count(*) FROM sqlite_master')[0]?.values[0]?.[0];
  db.exec(GO_SCHEMA);
  let changed = false;
  if (!columns(db, 'apps').has('token_ttl')) {
    db.exec('ALTER TABLE apps ADD COLUMN token_ttl INTEGER NOT NULL DEFAULT 1800');
    changed = true;
  }
  if (!columns(db, 'apps').has('deregistered_at')) {
    db.exec('ALTER TABLE apps ADD COLUMN deregistered_at TEXT DEFAULT NULL');
    changed = true;
  }
  if (!columns(db, 'revocations').has('expires_at')) {
    db.exec('ALTER TABLE revocations ADD COLUMN expires_at INTEGER DEFAULT NULL');
    changed = true;
  }
  if (!columns(db, 'audit_events').has('seq')) {
    db.exec('ALTER TABLE audit_events ADD COLUMN seq INTEGER');
    // Go rows carry their number only in the id (`evt-000042`); text order breaks past evt-999999.
    db.exec("UPDATE audit_events SET seq = CAST(substr(id, 5) AS INTEGER) WHERE seq IS NULL AND id LIKE 'evt-%'");
    changed = true;
  }
  db.exec('CREATE INDEX IF NOT EXISTS idx_audit_seq ON audit_events(seq)');
  // Rows a Go broker appended after this broker last wrote the file have no seq yet (NULLs head the seq index, so
  // this costs nothing when there are none).
  db.exec("UPDATE audit_events SET seq = CAST(substr(id, 5) AS INTEGER) WHERE seq IS NULL AND id LIKE 'evt-%'");
  if (db.getRowsModified() > 0) changed = true;
  // GET /v1/audit/events filters on task_id like the other three columns; without it that filter scans the table.
  db.exec('CREATE INDEX IF NOT EXISTS idx_audit_task_id ON audit_events(task_id)');
  db.exec(ADDED_TABLES);
  db.exec(AUDIT_ANCHOR_TABLE);
  const after = db.exec('SELECT count(*) FROM sqlite_master')[0]?.values[0]?.[0];
  return changed || before !== after;
}

export function readLastSeq(db: Database): number {
  const v = db.exec("SELECT value FROM store_meta WHERE key = 'last_seq'")[0]?.values[0]?.[0];
  return typeof v === 'number' ? v : 0;
}
