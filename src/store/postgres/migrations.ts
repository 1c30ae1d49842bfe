/**
 * The PostgreSQL schema, as numbered migrations (docs/internals.md, "PostgreSQL store"). The tables and columns are
 * the sql.js ones (the Go broker's plus this broker's own), so `migrate` copies rows one to one; `audit_events` adds
 * `ts_key`, the fixed-width UTC key the since/until filters compare (computed at insert, as in the sql.js store).
 * A migration is never edited once released: changes are new entries.
 */
import type { Sql } from 'postgres';

export const MIGRATIONS: readonly { version: number; sql: string }[] = [
  {
    version: 1,
    sql: `
CREATE TABLE audit_events (
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
  bytes_transferred BIGINT DEFAULT NULL,
  hash TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  seq BIGINT NOT NULL UNIQUE,
  ts_key TEXT NOT NULL
);
CREATE INDEX idx_audit_event_type ON audit_events(event_type, seq);
CREATE INDEX idx_audit_agent_id ON audit_events(agent_id, seq);
CREATE INDEX idx_audit_task_id ON audit_events(task_id, seq);
CREATE INDEX idx_audit_outcome ON audit_events(outcome, seq);
CREATE INDEX idx_audit_ts_key ON audit_events(ts_key);
CREATE TABLE revocations (
  id BIGSERIAL PRIMARY KEY,
  level TEXT NOT NULL,
  target TEXT NOT NULL,
  revoked_at TEXT NOT NULL,
  expires_at BIGINT DEFAULT NULL,
  UNIQUE(level, target)
);
CREATE TABLE apps (
  app_id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  client_id TEXT NOT NULL UNIQUE,
  client_secret_hash TEXT NOT NULL,
  scope_ceiling TEXT NOT NULL,
  token_ttl INTEGER NOT NULL DEFAULT 1800,
  status TEXT NOT NULL DEFAULT 'active',
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  created_by TEXT NOT NULL,
  deregistered_at TEXT DEFAULT NULL
);
CREATE INDEX idx_apps_status ON apps(status);
CREATE TABLE launch_tokens (
  token_hash TEXT PRIMARY KEY,
  agent_name TEXT NOT NULL,
  allowed_scope TEXT NOT NULL,
  max_ttl BIGINT NOT NULL,
  single_use INTEGER NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  consumed_at BIGINT DEFAULT NULL,
  created_by TEXT NOT NULL,
  app_id TEXT NOT NULL DEFAULT ''
);
CREATE INDEX idx_launch_tokens_expires_at ON launch_tokens(expires_at);
CREATE TABLE agents (
  agent_id TEXT PRIMARY KEY,
  public_key TEXT NOT NULL,
  orch_id TEXT NOT NULL,
  task_id TEXT NOT NULL,
  scope TEXT NOT NULL,
  registered_at BIGINT NOT NULL,
  app_id TEXT NOT NULL DEFAULT '',
  expires_at BIGINT NOT NULL,
  status TEXT NOT NULL
);
CREATE TABLE issued_tokens (
  jti TEXT PRIMARY KEY,
  sub TEXT NOT NULL,
  exp BIGINT NOT NULL
);
CREATE INDEX idx_issued_tokens_exp ON issued_tokens(exp);
CREATE TABLE signing_keys (
  kid TEXT PRIMARY KEY,
  public_key TEXT NOT NULL,
  state TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  rotated_at BIGINT DEFAULT NULL,
  retire_at BIGINT DEFAULT NULL,
  retired_at BIGINT DEFAULT NULL
);
CREATE TABLE store_meta (
  key TEXT PRIMARY KEY,
  value BIGINT NOT NULL
);
CREATE TABLE audit_anchor (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  seq BIGINT NOT NULL,
  event_id TEXT NOT NULL,
  hash TEXT NOT NULL,
  archived_at TEXT NOT NULL
);
`,
  },
  {
    // Several brokers on one database (docs/internals.md, "Several brokers on one database"): the chain head and the
    // change feed's position in one row that every write transaction locks first, the feed itself, and the
    // registration nonces every broker must be able to spend.
    version: 2,
    sql: `
CREATE TABLE cluster_head (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  audit_seq BIGINT NOT NULL,
  audit_hash TEXT NOT NULL,
  change_seq BIGINT NOT NULL
);
INSERT INTO cluster_head (id, audit_seq, audit_hash, change_seq)
SELECT 1, coalesce(e.seq, a.seq, 0), coalesce(e.hash, a.hash, repeat('0', 64)), 0
FROM (SELECT 1) AS one
LEFT JOIN LATERAL (SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1) AS e ON true
LEFT JOIN audit_anchor AS a ON a.id = 1;
CREATE TABLE change_feed (
  seq BIGINT PRIMARY KEY,
  origin TEXT NOT NULL,
  committed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  batch TEXT NOT NULL
);
CREATE INDEX idx_change_feed_committed_at ON change_feed(committed_at);
CREATE TABLE nonces (
  nonce TEXT PRIMARY KEY,
  expires_at BIGINT NOT NULL,
  consumed_at BIGINT DEFAULT NULL
);
CREATE INDEX idx_nonces_expires_at ON nonces(expires_at);
`,
  },
];

/** Arbitrary but fixed: every broker takes the same transaction-scoped advisory lock before looking at the schema. */
const MIGRATION_LOCK = 0x41575347; // 'AWSG'

/**
 * Brings the schema to the newest version. Every replica calls this at start; the advisory lock makes the others
 * wait while one applies, after which they find nothing left to do. Each step and its version row commit together.
 * Returns the versions applied by this call. A database newer than this broker is refused.
 */
export async function migrate(sql: Sql): Promise<number[]> {
  return sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`;
    await tx.unsafe(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`);
    const rows = await tx<{ v: number | null }[]>`SELECT max(version) AS v FROM schema_migrations`;
    const current = rows[0]?.v ?? 0;
    const newest = MIGRATIONS[MIGRATIONS.length - 1]!.version;
    if (current > newest) {
      throw new Error(`database schema version ${current} is newer than this broker's (${newest}); upgrade the broker`);
    }
    const applied: number[] = [];
    for (const m of MIGRATIONS) {
      if (m.version <= current) continue;
      await tx.unsafe(m.sql);
      await tx`INSERT INTO schema_migrations (version) VALUES (${m.version})`;
      applied.push(m.version);
    }
    return applied;
  }) as Promise<number[]>;
}
