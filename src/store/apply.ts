import type { BindParams, Database, Statement } from 'sql.js';
import type { Mutation } from './store.js';

export interface PruneCounts {
  launchTokens: number;
  revocations: number;
  issuedTokens: number;
  agents: number;
}

/**
 * What the store knows about `audit_events` without scanning it: the row count, and whether rowid order is seq order
 * (every row has a seq and seq grows with rowid), which lets queries walk an index in rowid order instead of sorting.
 * Persisted in `store_meta` in the same transaction as the rows, so it survives restarts and replays exactly.
 */
export interface AuditState {
  rows: number;
  ordered: boolean;
  lastSeq: number;
}

/**
 * Applies mutations to the worker's database with statements prepared once. Every mutation is deterministic,
 * because the same journal records are applied again at the next start.
 */
export class MutationApplier {
  private readonly stmts = new Map<string, Statement>();
  lastPrune: PruneCounts | null = null;
  readonly audit: AuditState = { rows: 0, ordered: true, lastSeq: 0 };
  private auditDirty = false;

  constructor(private readonly db: Database) {}

  initAudit(state: AuditState): void {
    Object.assign(this.audit, state);
    this.auditDirty = false;
  }

  private run(sql: string, params: BindParams): number {
    let st = this.stmts.get(sql);
    if (st === undefined) {
      st = this.db.prepare(sql);
      this.stmts.set(sql, st);
    }
    st.run(params);
    return this.db.getRowsModified();
  }

  apply(m: Mutation): void {
    switch (m.kind) {
      case 'audit.insert': {
        const r = m.row;
        this.run(
          `INSERT INTO audit_events (id, timestamp, event_type, agent_id, task_id, orch_id, detail, resource, outcome,
             deleg_depth, deleg_chain_hash, bytes_transferred, hash, prev_hash, seq)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          [
            r.id,
            r.timestamp,
            r.event_type,
            r.agent_id,
            r.task_id,
            r.orch_id,
            r.detail,
            r.resource === '' ? null : r.resource,
            r.outcome === '' ? null : r.outcome,
            r.deleg_depth === 0 ? null : r.deleg_depth,
            r.deleg_chain_hash === '' ? null : r.deleg_chain_hash,
            r.bytes_transferred === 0 ? null : r.bytes_transferred,
            r.hash,
            r.prev_hash,
            r.seq,
          ],
        );
        // New rows get rowid max+1; the request thread only hands out seq = last + 1, so this never trips in practice.
        if (r.seq <= this.audit.lastSeq) this.audit.ordered = false;
        this.audit.lastSeq = r.seq;
        this.audit.rows++;
        this.auditDirty = true;
        return;
      }
      case 'revocation.put': {
        const r = m.row;
        // A later revocation of the same target may outlive the first one; NULL (never expires) always wins.
        this.run(
          `INSERT INTO revocations (level, target, revoked_at, expires_at) VALUES (?, ?, ?, ?)
           ON CONFLICT(level, target) DO UPDATE SET expires_at =
             CASE WHEN revocations.expires_at IS NULL OR excluded.expires_at IS NULL THEN NULL
                  ELSE max(revocations.expires_at, excluded.expires_at) END`,
          [r.level, r.target, r.revoked_at, r.expires_at],
        );
        return;
      }
      case 'app.put': {
        const r = m.row;
        // Upsert by app_id only: INSERT OR REPLACE would silently delete another app that clashes on name/client_id.
        this.run(
          `INSERT INTO apps (app_id, name, client_id, client_secret_hash, scope_ceiling, token_ttl, status, created_at,
             updated_at, created_by, deregistered_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT(app_id) DO UPDATE SET name = excluded.name, client_id = excluded.client_id,
             client_secret_hash = excluded.client_secret_hash, scope_ceiling = excluded.scope_ceiling,
             token_ttl = excluded.token_ttl, status = excluded.status, created_at = excluded.created_at,
             updated_at = excluded.updated_at, created_by = excluded.created_by,
             deregistered_at = excluded.deregistered_at`,
          [
            r.app_id,
            r.name,
            r.client_id,
            r.client_secret_hash,
            JSON.stringify(r.scope_ceiling),
            r.token_ttl,
            r.status,
            r.created_at,
            r.updated_at,
            r.created_by,
            r.deregistered_at,
          ],
        );
        return;
      }
      case 'launchToken.put': {
        const r = m.row;
        this.run(
          `INSERT OR REPLACE INTO launch_tokens (token_hash, agent_name, allowed_scope, max_ttl, single_use, created_at,
             expires_at, consumed_at, created_by, app_id)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          [
            r.token_hash,
            r.agent_name,
            JSON.stringify(r.allowed_scope),
            r.max_ttl,
            r.single_use ? 1 : 0,
            r.created_at,
            r.expires_at,
            r.consumed_at,
            r.created_by,
            r.app_id,
          ],
        );
        return;
      }
      case 'launchToken.consume':
        this.run('UPDATE launch_tokens SET consumed_at = ? WHERE token_hash = ?', [m.consumed_at, m.token_hash]);
        return;
      case 'agent.put': {
        const r = m.row;
        this.run(
          `INSERT OR REPLACE INTO agents (agent_id, public_key, orch_id, task_id, scope, registered_at, app_id,
             expires_at, status)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          [
            r.agent_id,
            r.public_key,
            r.orch_id,
            r.task_id,
            JSON.stringify(r.scope),
            r.registered_at,
            r.app_id,
            r.expires_at,
            r.status,
          ],
        );
        return;
      }
      case 'issuedToken.put':
        this.run('INSERT OR REPLACE INTO issued_tokens (jti, sub, exp) VALUES (?, ?, ?)', [
          m.row.jti,
          m.row.sub,
          m.row.exp,
        ]);
        return;
      case 'signingKey.put': {
        const r = m.row;
        this.run(
          `INSERT OR REPLACE INTO signing_keys (kid, public_key, state, created_at, rotated_at, retire_at, retired_at)
           VALUES (?, ?, ?, ?, ?, ?, ?)`,
          [r.kid, r.public_key, r.state, r.created_at, r.rotated_at, r.retire_at, r.retired_at],
        );
        return;
      }
      case 'prune': {
        const nowS = Math.floor(m.now_ms / 1000);
        this.lastPrune = {
          launchTokens: this.run(
            'DELETE FROM launch_tokens WHERE expires_at < ? OR (consumed_at IS NOT NULL AND consumed_at < ?)',
            [m.now_ms, m.now_ms],
          ),
          revocations: this.run('DELETE FROM revocations WHERE expires_at IS NOT NULL AND expires_at < ?', [nowS]),
          issuedTokens: this.run('DELETE FROM issued_tokens WHERE exp < ?', [nowS]),
          // Expired agents stay (the broker reports them as expired) until revoked or past the retention window.
          agents: this.run("DELETE FROM agents WHERE expires_at < ? AND (status = 'revoked' OR expires_at < ?)", [
            nowS,
            nowS - m.agent_retention_s,
          ]),
        };
        return;
      }
      case 'audit.archive': {
        const a = m.anchor;
        this.audit.rows -= this.run('DELETE FROM audit_events WHERE seq <= ?', [a.seq]);
        this.run(
          `INSERT INTO audit_anchor (id, seq, event_id, hash, archived_at) VALUES (1, ?, ?, ?, ?)
           ON CONFLICT(id) DO UPDATE SET seq = excluded.seq, event_id = excluded.event_id, hash = excluded.hash,
             archived_at = excluded.archived_at`,
          [a.seq, a.id, a.hash, a.archived_at],
        );
        this.auditDirty = true;
        return;
      }
    }
  }

  setLastSeq(seq: number): void {
    this.run(
      "INSERT INTO store_meta (key, value) VALUES ('last_seq', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
      [seq],
    );
    if (this.auditDirty) {
      writeAuditMeta(this.db, this.audit, (sql, params) => this.run(sql, params));
      this.auditDirty = false;
    }
  }

  /** Statements hold pointers into the database and must go before `export()` or `close()`. */
  freeStatements(): void {
    for (const st of this.stmts.values()) st.free();
    this.stmts.clear();
  }
}

const AUDIT_META_SQL = `INSERT INTO store_meta (key, value) VALUES ('audit_rows', ?),
    ('audit_rowid', coalesce((SELECT max(rowid) FROM audit_events), 0)), ('audit_ordered', ?)
  ON CONFLICT(key) DO UPDATE SET value = excluded.value`;

/** Records the audit state together with the rowid it is valid through (the next open trusts it if that still matches). */
export function writeAuditMeta(
  db: Database,
  state: AuditState,
  run: (sql: string, params: BindParams) => void = (sql, params) => db.run(sql, params),
): void {
  run(AUDIT_META_SQL, [state.rows, state.ordered ? 1 : 0]);
}
