import type { Database, SqlValue } from 'sql.js';
import { type AuditState, writeAuditMeta } from './apply.js';
import { GENESIS_HASH } from './audit-chain.js';
import type {
  AgentRow,
  AppRow,
  AuditAnchor,
  AuditFilter,
  AuditPage,
  AuditRow,
  IssuedTokenRow,
  LaunchTokenRow,
  RevocationLevel,
  RevocationRow,
  SigningKeyRow,
  SigningKeyState,
  Snapshot,
} from './store.js';
import { SQL_TIMESTAMP_KEY, timestampKey } from './timestamps.js';

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
const num = (v: SqlValue | undefined): number =>
  typeof v === 'number' ? v : v === null || v === undefined ? 0 : Number(v);
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

/**
 * The chain head; `count` comes from the maintained audit state (a count(*) reads the whole index at 1 M rows).
 * With every row archived, the chain continues from the archive anchor.
 */
export function auditHead(db: Database, audit: AuditState): AuditHead {
  const last = all(db, 'SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1')[0];
  if (last !== undefined) return { count: audit.rows, lastSeq: num(last.seq), lastHash: str(last.hash) };
  const anchor = readAuditAnchor(db);
  return { count: audit.rows, lastSeq: anchor?.seq ?? 0, lastHash: anchor?.hash ?? GENESIS_HASH };
}

export function readAuditAnchor(db: Database): AuditAnchor | null {
  const r = all(db, 'SELECT seq, event_id, hash, archived_at FROM audit_anchor WHERE id = 1')[0];
  return r === undefined
    ? null
    : { seq: num(r.seq), id: str(r.event_id), hash: str(r.hash), archived_at: str(r.archived_at) };
}

/** Rows after `afterSeq` in chain order, through the seq index. */
export function auditRange(db: Database, afterSeq: number, limit: number): AuditRow[] {
  const n = Math.min(1000, Math.max(1, Math.trunc(limit)));
  return all(db, 'SELECT * FROM audit_events WHERE seq > ? ORDER BY seq LIMIT ?', [afterSeq, n]).map(toAuditRow);
}

const metaValue = (db: Database, key: string): number | null => {
  const v = db.exec('SELECT value FROM store_meta WHERE key = ?', [key])[0]?.values[0]?.[0];
  return typeof v === 'number' ? v : null;
};

/**
 * Establishes the audit state at open. The stored state is trusted when it was written through the table's current
 * last rowid (rows are only ever appended); otherwise only the rows past it are checked — all of them for a database
 * that has none (a Go-written file, or one from before the state was kept). Returns whether the stored state changed.
 */
export function establishAuditState(db: Database): { state: AuditState; changed: boolean } {
  const maxRowid = num(all(db, 'SELECT max(rowid) AS r FROM audit_events')[0]?.r);
  const lastSeq = num(all(db, 'SELECT max(seq) AS s FROM audit_events')[0]?.s);
  const rows = metaValue(db, 'audit_rows');
  const rowid = metaValue(db, 'audit_rowid');
  const ordered = metaValue(db, 'audit_ordered');
  if (rows !== null && rowid !== null && ordered !== null && rowid === maxRowid) {
    return { state: { rows, ordered: ordered === 1, lastSeq }, changed: false };
  }
  let base: AuditState = { rows: 0, ordered: true, lastSeq: 0 };
  let from = 0;
  if (rows !== null && rowid !== null && ordered !== null && rowid < maxRowid) {
    const at = all(db, 'SELECT seq FROM audit_events WHERE rowid = ?', [rowid])[0];
    // The row the state was written at is gone: rows were deleted behind our back, so recount everything.
    if (at !== undefined || rowid === 0) {
      base = { rows, ordered: ordered === 1, lastSeq: at === undefined ? 0 : num(at.seq) };
      from = rowid;
    }
  }
  // seq − rowid constant over the tail means seq grows with rowid; from 0 the covering seq index answers it.
  const tail = all(
    db,
    `SELECT count(*) AS n, count(seq) AS withSeq, min(seq - rowid) AS lo, max(seq - rowid) AS hi, min(seq) AS first
       FROM audit_events ${from > 0 ? 'WHERE rowid > ?' : ''}`,
    from > 0 ? [from] : [],
  )[0]!;
  const n = num(tail.n);
  let tailOrdered = n === 0 || (num(tail.withSeq) === n && (from === 0 || num(tail.first) > base.lastSeq));
  if (tailOrdered && n > 0 && num(tail.lo) !== num(tail.hi)) {
    // Gaps in seq (Go leaves one per failed write): check the order itself, once.
    const out = all(
      db,
      `SELECT count(*) AS bad FROM (SELECT seq, lag(seq) OVER (ORDER BY rowid) AS prev FROM audit_events
         ${from > 0 ? 'WHERE rowid > ?' : ''}) WHERE seq <= prev`,
      from > 0 ? [from] : [],
    )[0];
    tailOrdered = num(out?.bad) === 0;
  }
  const state: AuditState = { rows: base.rows + n, ordered: base.ordered && tailOrdered, lastSeq };
  writeAuditMeta(db, state);
  return { state, changed: true };
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

export function loadSnapshot(db: Database, nowMs: number, replayed: number, audit: AuditState): Snapshot {
  const nowS = Math.floor(nowMs / 1000);
  const revocations: RevocationRow[] = all(
    db,
    'SELECT level, target, revoked_at, expires_at FROM revocations ORDER BY id',
  ).map((r) => ({
    level: str(r.level) as RevocationLevel,
    target: str(r.target),
    revoked_at: str(r.revoked_at),
    expires_at: numOrNull(r.expires_at),
  }));
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
  const issuedTokens: IssuedTokenRow[] = all(
    db,
    'SELECT jti, sub, exp FROM issued_tokens WHERE exp >= ? ORDER BY exp, jti',
    [nowS],
  ).map((r) => ({ jti: str(r.jti), sub: str(r.sub), exp: num(r.exp) }));
  return {
    apps: loadApps(db),
    revocations,
    launchTokens,
    agents,
    issuedTokens,
    signingKeys: loadSigningKeys(db),
    audit: auditHead(db, audit),
    auditAnchor: readAuditAnchor(db),
    replayed,
    changeSeq: 0,
  };
}

const KEY_STATES: ReadonlySet<string> = new Set<SigningKeyState>(['active', 'retiring', 'retired']);

export function loadSigningKeys(db: Database): SigningKeyRow[] {
  return all(db, 'SELECT * FROM signing_keys ORDER BY created_at, kid').map((r) => {
    const state = str(r.state);
    return {
      kid: str(r.kid),
      public_key: str(r.public_key),
      // A state this broker does not know verifies nothing.
      state: KEY_STATES.has(state) ? (state as SigningKeyState) : 'retired',
      created_at: num(r.created_at),
      rotated_at: numOrNull(r.rotated_at),
      retire_at: numOrNull(r.retire_at),
      retired_at: numOrNull(r.retired_at),
    };
  });
}

const EQUALITY_INDEX = {
  agent_id: 'idx_audit_agent_id',
  task_id: 'idx_audit_task_id',
  event_type: 'idx_audit_event_type',
  outcome: 'idx_audit_outcome',
} as const;

/**
 * Below this many candidate rows, fetching them all through the most selective index and sorting is cheap; above it
 * the page is read by walking rows in order and stopping after offset + limit matches.
 */
const SORT_LIMIT = 5000;
const TOTALS_CACHED = 256;

/** A filter's match count through `rowid`, and the smallest matching rowid (null while nothing matches). */
interface Totals {
  n: number;
  rowid: number;
  first: number | null;
}

/**
 * Audit totals by filter. Between archive runs rows are only appended (with growing rowids), so a count stays
 * exact when extended by the rows past the rowid it was taken at — an index range seek, not a rescan.
 */
export class AuditTotals {
  private readonly counts = new Map<string, Totals>();

  get(key: string): Totals | undefined {
    const hit = this.counts.get(key);
    if (hit !== undefined) {
      this.counts.delete(key);
      this.counts.set(key, hit);
    }
    return hit;
  }

  /** Archiving deletes rows, which no cached count can be extended past. */
  clear(): void {
    this.counts.clear();
  }

  set(key: string, value: Totals): void {
    this.counts.delete(key);
    this.counts.set(key, value);
    if (this.counts.size > TOTALS_CACHED) this.counts.delete(this.counts.keys().next().value!);
  }
}

export interface AuditQueryContext {
  audit: AuditState;
  totals: AuditTotals;
  /** Overrides SORT_LIMIT (tests use a small one to take the large-table paths on small tables). */
  sortLimit?: number;
}

/** The `YYYY-MM-DDTHH:MM:SS` one second after `second`; '~' (above every timestamp) where there is none to give. */
function nextSecond(second: string): string {
  const ms = Date.parse(`${second}Z`); // NaN for a leap second (:60): the exact comparison then decides every row
  const next = Number.isNaN(ms) ? '' : new Date(ms + 1000).toISOString().slice(0, 19);
  return /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/.test(next) && next > second ? next : '~';
}

export function queryAudit(db: Database, f: AuditFilter, ctx: AuditQueryContext): AuditPage {
  const where: string[] = [];
  const params: SqlValue[] = [];
  const equal: [keyof typeof EQUALITY_INDEX, string][] = [];
  for (const col of ['agent_id', 'task_id', 'event_type', 'outcome'] as const) {
    const v = f[col];
    if (v !== undefined && v !== '') {
      where.push(`${col} = ?`);
      params.push(v);
      equal.push([col, v]);
    }
  }
  const range: string[] = [];
  const rangeParams: SqlValue[] = [];
  for (const [bound, op] of [
    [f.since, '>='],
    [f.until, '<='],
  ] as const) {
    if (bound === undefined || bound === '') continue;
    const key = timestampKey(bound);
    // The filter's bounds were parsed by the caller; an unparsable one is a caller bug, not a client error.
    if (key === null) throw new Error(`unparsable timestamp: ${bound}`);
    // The whole-second prefix lets the timestamp index narrow the scan; the exact key comparison then decides. A UTC
    // `Z` row outside the bound's own second is decided by plain text order first (4x cheaper than building its key).
    const second = key.slice(0, 19);
    range.push(op === '>=' ? 'timestamp >= ?' : 'timestamp <= ?');
    rangeParams.push(op === '>=' ? second : `${second}~`);
    where.push(
      `((substr(timestamp, -1) = 'Z' AND length(timestamp) >= 20 AND timestamp ${op === '>=' ? '>=' : '<'} ?) OR ${SQL_TIMESTAMP_KEY} ${op} ?)`,
    );
    params.push(op === '>=' ? nextSecond(second) : second, key);
  }
  const limit = Math.min(1000, Math.max(1, Math.trunc(f.limit) || 100));
  const offset = Math.max(0, Math.trunc(f.offset) || 0);
  const filtered = where.length > 0 || range.length > 0;
  const clause = filtered ? `WHERE ${[...range, ...where].join(' AND ')}` : '';
  const allParams = [...rangeParams, ...params];

  if (!filtered) {
    const total = ctx.audit.rows;
    const events =
      offset >= total
        ? []
        : all(db, 'SELECT * FROM audit_events ORDER BY seq LIMIT ? OFFSET ?', [limit, offset]).map(toAuditRow);
    return { events, total };
  }

  // The access path: the candidate set (an equality index, or the timestamp range) with the fewest rows, sampled
  // with a capped count so a dense one costs at most SORT_LIMIT index entries.
  const sortLimit = ctx.sortLimit ?? SORT_LIMIT;
  const capped = (cond: string, p: SqlValue[], index: string): number =>
    num(
      all(
        db,
        `SELECT count(*) AS n FROM (SELECT 1 FROM audit_events INDEXED BY ${index} WHERE ${cond} LIMIT ${sortLimit + 1})`,
        p,
      )[0]?.n,
    );
  let best: { index: string; n: number } | null = null;
  for (const [col, v] of equal) {
    const n = capped(`${col} = ?`, [v], EQUALITY_INDEX[col]);
    if (best === null || n < best.n) best = { index: EQUALITY_INDEX[col], n };
  }
  if (range.length > 0 && (best === null || best.n > sortLimit)) {
    const n = capped(range.join(' AND '), rangeParams, 'idx_audit_timestamp');
    if (best === null || n < best.n) best = { index: 'idx_audit_timestamp', n };
  }
  // An equality index yields its rows in rowid order; the timestamp index does not, so a dense range reads the table
  // in rowid order instead of sorting hundreds of thousands of rows.
  const byEquality = best !== null && best.index !== 'idx_audit_timestamp';
  const pageSource =
    best === null || (!byEquality && best.n > sortLimit)
      ? 'audit_events NOT INDEXED'
      : `audit_events INDEXED BY ${best.index}`;
  // Counting reads the smallest candidate set; the rows appended since a cached count are found by rowid.
  const countSource = best === null ? 'audit_events' : `audit_events INDEXED BY ${best.index}`;
  const tailSource = byEquality ? countSource : 'audit_events NOT INDEXED';

  const key = `${clause}|${JSON.stringify(allParams)}`;
  const maxRowid = num(all(db, 'SELECT max(rowid) AS r FROM audit_events')[0]?.r);
  const cached = ctx.totals.get(key);
  let counted: Totals;
  if (cached !== undefined && cached.rowid <= maxRowid) {
    counted = cached;
    if (cached.rowid < maxRowid) {
      const tail = all(db, `SELECT count(*) AS n, min(rowid) AS first FROM ${tailSource} ${clause} AND rowid > ?`, [
        ...allParams,
        cached.rowid,
      ])[0];
      counted = { n: cached.n + num(tail?.n), rowid: maxRowid, first: cached.first ?? numOrNull(tail?.first) };
    }
  } else {
    const r = all(db, `SELECT count(*) AS n, min(rowid) AS first FROM ${countSource} ${clause}`, allParams)[0];
    counted = { n: num(r?.n), rowid: maxRowid, first: numOrNull(r?.first) };
  }
  ctx.totals.set(key, counted);
  const total = counted.n;
  if (offset >= total || counted.first === null) return { events: [], total };
  // rowid order is seq order when the audit state says so (always, for rows this broker wrote); otherwise sort by seq.
  // Starting at the first match skips the non-matching stretch a walk in rowid order would otherwise read.
  const order = ctx.audit.ordered ? 'rowid' : 'seq';
  const events = all(db, `SELECT * FROM ${pageSource} ${clause} AND rowid >= ? ORDER BY ${order} LIMIT ? OFFSET ?`, [
    ...allParams,
    counted.first,
    limit,
    offset,
  ]).map(toAuditRow);
  return { events, total };
}
