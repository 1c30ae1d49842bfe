import type { Database, SqlValue } from 'sql.js';
import type {
  AgentRow, AppRow, AuditFilter, AuditPage, AuditRow, IssuedTokenRow, LaunchTokenRow, RevocationLevel,
  RevocationRow, Snapshot,
} from './store.js';
import { SQL_TIMESTAMP_KEY, timestampKey } from './timestamps.js';

const GENESIS_HASH = '0'.repeat(64);

type Row = Record<string, SqlValue>;

function all(db: Database, sql: string, params: SqlValue[] = []): Row[] {
  const st = db.prepare(sql);
  try {
    st.bind(params);
    const rows: Row[] = [];
    while (st.step()) rows.push(st.getAsObject() as Row);
    return rows;
  } finally {
    st.free();
  }
}

const str = (v: SqlValue | undefined): string => (v === null || v === undefined ? '' : String(v));
const num = (v: SqlValue | undefined): number => (typeof v === 'number' ? v : v === null || v === undefined ? 0 : Number(v));
const numOrNull = (v: SqlValue | undefined): number | null => (v === null || v === undefined ? null : Number(v));
const strArray = (v: SqlValue | undefined): string[] => {
  const parsed: unknown = JSON.parse(str(v) || '[]');
  return Array.isArray(parsed) ? parsed.map(String) : [];
};

export function toAuditRow(r: Row): AuditRow {
  return {
    seq: num(r.seq),
    id: str(r.id),
    timestamp: str(r.timestamp),
    event_type: str(r.event_type),
    agent_id: str(r.agent_id),
    task_id: str(r.task_id),
    orch_id: str(r.orch_id),
    detail: str(r.detail),
    resource: str(r.resource),
    outcome: str(r.outcome),
    deleg_depth: num(r.deleg_depth),
    deleg_chain_hash: str(r.deleg_chain_hash),
    bytes_transferred: num(r.bytes_transferred),
    hash: str(r.hash),
    prev_hash: str(r.prev_hash),
  };
}

export interface AuditHead {
  count: number;
  lastSeq: number;
  lastHash: string;
}

export function auditHead(db: Database): AuditHead {
  const count = num(all(db, 'SELECT count(*) AS n FROM audit_events')[0]?.n);
  const last = all(db, 'SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1')[0];
  return { count, lastSeq: last ? num(last.seq) : 0, lastHash: last ? str(last.hash) : GENESIS_HASH };
}

export function loadApps(db: Database): AppRow[] {
  return all(db, 'SELECT * FROM apps ORDER BY created_at, app_id').map((r) => ({
    app_id: str(r.app_id),
    name: str(r.name),
    client_id: str(r.client_id),
    client_secret_hash: str(r.client_secret_hash),
    scope_ceiling: strArray(r.scope_ceiling),
    token_ttl: num(r.token_ttl),
    status: str(r.status) === 'inactive' ? 'inactive' : 'active',
    created_at: str(r.created_at),
    updated_at: str(r.updated_at),
    created_by: str(r.created_by),
    deregistered_at: r.deregistered_at === null || r.deregistered_at === undefined ? null : str(r.deregistered_at),
  }));
}

export function loadSnapshot(db: Database, nowMs: number, replayed: number): Snapshot {
  const nowS = Math.floor(nowMs / 1000);
  const revocations: RevocationRow[] = all(db, 'SELECT level, target, revoked_at, expires_at FROM revocations ORDER BY id').map(
    (r) => ({
      level: str(r.level) as RevocationLevel,
      target: str(r.target),
      revoked_at: str(r.revoked_at),
      expires_at: numOrNull(r.expires_at),
    }),
  );
  const launchTokens: LaunchTokenRow[] = all(
    db,
    'SELECT * FROM launch_tokens WHERE expires_at > ? ORDER BY created_at, token_hash',
    [nowMs],
  ).map((r) => ({
    token_hash: str(r.token_hash),
    agent_name: str(r.agent_name),
    allowed_scope: strArray(r.allowed_scope),
    max_ttl: num(r.max_ttl),
    single_use: num(r.single_use) !== 0,
    created_at: num(r.created_at),
    expires_at: num(r.expires_at),
    consumed_at: numOrNull(r.consumed_at),
    created_by: str(r.created_by),
    app_id: str(r.app_id),
  }));
  const agents: AgentRow[] = all(db, 'SELECT * FROM agents ORDER BY registered_at, agent_id').map((r) => ({
    agent_id: str(r.agent_id),
    public_key: str(r.public_key),
    orch_id: str(r.orch_id),
    task_id: str(r.task_id),
    scope: strArray(r.scope),
    registered_at: num(r.registered_at),
    app_id: str(r.app_id),
    expires_at: num(r.expires_at),
    status: str(r.status) === 'revoked' ? 'revoked' : 'active',
  }));
  const issuedTokens: IssuedTokenRow[] = all(db, 'SELECT jti, sub, exp FROM issued_tokens WHERE exp >= ? ORDER BY exp, jti', [
    nowS,
  ]).map((r) => ({ jti: str(r.jti), sub: str(r.sub), exp: num(r.exp) }));
  return { apps: loadApps(db), revocations, launchTokens, agents, issuedTokens, audit: auditHead(db), replayed };
}

/** Thrown for a filter the caller should have rejected (an unparsable since/until). */
export class AuditFilterError extends Error {
  override readonly name = 'AuditFilterError';
}

export function queryAudit(db: Database, f: AuditFilter): AuditPage {
  const where: string[] = [];
  const params: SqlValue[] = [];
  for (const col of ['agent_id', 'task_id', 'event_type', 'outcome'] as const) {
    const v = f[col];
    if (v !== undefined && v !== '') {
      where.push(`${col} = ?`);
      params.push(v);
    }
  }
  for (const [bound, op] of [[f.since, '>='], [f.until, '<=']] as const) {
    if (bound === undefined || bound === '') continue;
    const key = timestampKey(bound);
    if (key === null) throw new AuditFilterError(`unparsable timestamp: ${bound}`);
    // The whole-second prefix lets the timestamp index narrow the scan; the exact key comparison then decides.
    const second = key.slice(0, 19);
    where.push(op === '>=' ? 'timestamp >= ?' : 'timestamp <= ?');
    params.push(op === '>=' ? second : `${second}~`);
    where.push(`${SQL_TIMESTAMP_KEY} ${op} ?`);
    params.push(key);
  }
  const clause = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
  const limit = Math.min(1000, Math.max(1, Math.trunc(f.limit) || 100));
  const offset = Math.max(0, Math.trunc(f.offset) || 0);
  const total = num(all(db, `SELECT count(*) AS n FROM audit_events ${clause}`, params)[0]?.n);
  const events =
    offset >= total
      ? []
      : all(db, `SELECT * FROM audit_events ${clause} ORDER BY seq LIMIT ? OFFSET ?`, [...params, limit, offset]).map(
          toAuditRow,
        );
  return { events, total };
}
