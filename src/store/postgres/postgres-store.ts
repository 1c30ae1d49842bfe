/**
 * The Store contract on PostgreSQL (docs/internals.md, "PostgreSQL store"). Batches are written in commit order by
 * one writer: everything queued when the writer comes round goes into one transaction (group commit), so a batch's
 * promise resolves only after PostgreSQL acknowledged a COMMIT containing it. If that transaction fails, every batch
 * in it and every batch queued behind it fails too — the same ordering rule as the sql.js store.
 */
import { hostname } from 'node:os';
import postgres, { type Sql, type TransactionSql } from 'postgres';
import { randomHex } from '../../crypto/secrets.js';
import { auditHash, auditId, GENESIS_HASH } from '../audit-chain.js';
import { encodeBatch, parseBatch } from '../batch-codec.js';
import { DB_OPERATION } from '../protocol.js';
import {
  type AgentRow,
  type AppRow,
  type AuditAnchor,
  type AuditFilter,
  type AuditPage,
  type AuditRow,
  type ChangeBatch,
  type ChangeFeed,
  type CommitReceipt,
  type IssuedTokenRow,
  type LaunchTokenRow,
  type Mutation,
  type NonceBook,
  type NonceOutcome,
  type RevocationLevel,
  type RevocationRow,
  type SigningKeyRow,
  type SigningKeyState,
  type Snapshot,
  type Store,
  StoreConflictError,
  type StoreEvents,
  StoreOpenError,
  StoreWriteError,
} from '../store.js';
import { timestampKey } from '../timestamps.js';
import { shapeError } from '../validate.js';
import { type PgTarget, parseDatabaseUrl, scrub } from './connection.js';
import { migrate } from './migrations.js';

type Value = string | number | null;
type Row = Record<string, unknown>;

interface Pending {
  batch: readonly Mutation[];
  started: number;
  resolve(receipt: CommitReceipt): void;
  reject(err: Error): void;
}

/** Every statement text here is fixed (values travel as parameters), so the server parses and plans each once. */
const PREPARED = { prepare: true } as const;

/** The channel a committing broker notifies, with the new change-feed seq as payload. */
const CHANNEL = 'agentwrit_changes';
/** Change-feed rows older than this are pruned; a broker further behind reloads its state. */
const FEED_RETENTION = '1 hour';

/** Seconds before a connection attempt is given up: writes fail (503) instead of hanging while the database is away. */
const CONNECT_TIMEOUT_S = 5;
/**
 * Connections by job, so that no flood of one kind of work starves another: the writer (one transaction at a time),
 * the change feed (reads; LISTEN takes a connection of its own), and everything else (nonces, audit queries, loads).
 */
const POOLS = { writer: 1, feed: 1, general: 4 } as const;

interface Pools {
  writer: Sql;
  feed: Sql;
  general: Sql;
}

const str = (v: unknown): string => (v === null || v === undefined ? '' : String(v));
const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const strArray = (v: unknown): string[] => {
  const parsed: unknown = JSON.parse(str(v) || '[]');
  return Array.isArray(parsed) ? parsed.map(String) : [];
};
const KEY_STATES: ReadonlySet<string> = new Set<SigningKeyState>(['active', 'retiring', 'retired']);

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

/** The statement and parameters for one mutation ($n placeholders). */
export function mutationSql(m: Mutation): [string, Value[]][] {
  switch (m.kind) {
    case 'audit.insert': {
      const r = m.row;
      return [
        [
          `INSERT INTO audit_events (id, timestamp, event_type, agent_id, task_id, orch_id, detail, resource, outcome,
           deleg_depth, deleg_chain_hash, bytes_transferred, hash, prev_hash, seq, ts_key)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
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
            // An unparsable timestamp sorts below every real one, as it matches no range in the sql.js store either.
            timestampKey(r.timestamp) ?? '',
          ],
        ],
      ];
    }
    case 'revocation.put': {
      const r = m.row;
      return [
        [
          `INSERT INTO revocations (level, target, revoked_at, expires_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (level, target) DO UPDATE SET expires_at =
           CASE WHEN revocations.expires_at IS NULL OR excluded.expires_at IS NULL THEN NULL
                ELSE greatest(revocations.expires_at, excluded.expires_at) END`,
          [r.level, r.target, r.revoked_at, r.expires_at],
        ],
      ];
    }
    case 'app.put': {
      const r = m.row;
      return [
        [
          `INSERT INTO apps (app_id, name, client_id, client_secret_hash, scope_ceiling, token_ttl, status, created_at,
           updated_at, created_by, deregistered_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT (app_id) DO UPDATE SET name = excluded.name, client_id = excluded.client_id,
           client_secret_hash = excluded.client_secret_hash, scope_ceiling = excluded.scope_ceiling,
           token_ttl = excluded.token_ttl, created_at = excluded.created_at, updated_at = excluded.updated_at,
           created_by = excluded.created_by,
           -- Deregistration is final: a write from a broker that had not seen it yet cannot revive the app.
           status = CASE WHEN apps.status = 'inactive' THEN 'inactive' ELSE excluded.status END,
           deregistered_at = coalesce(apps.deregistered_at, excluded.deregistered_at)`,
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
        ],
      ];
    }
    case 'launchToken.put': {
      const r = m.row;
      return [
        [
          `INSERT INTO launch_tokens (token_hash, agent_name, allowed_scope, max_ttl, single_use, created_at, expires_at,
           consumed_at, created_by, app_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (token_hash) DO UPDATE SET agent_name = excluded.agent_name, allowed_scope = excluded.allowed_scope,
           max_ttl = excluded.max_ttl, single_use = excluded.single_use, created_at = excluded.created_at,
           expires_at = excluded.expires_at, consumed_at = excluded.consumed_at, created_by = excluded.created_by,
           app_id = excluded.app_id`,
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
        ],
      ];
    }
    case 'launchToken.consume':
      // Conditional: the commit treats "no row changed" as a conflict (another broker consumed it first).
      return [
        [
          'UPDATE launch_tokens SET consumed_at = $1 WHERE token_hash = $2 AND consumed_at IS NULL',
          [m.consumed_at, m.token_hash],
        ],
      ];
    case 'agent.put': {
      const r = m.row;
      return [
        [
          `INSERT INTO agents (agent_id, public_key, orch_id, task_id, scope, registered_at, app_id, expires_at, status)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (agent_id) DO UPDATE SET public_key = excluded.public_key, orch_id = excluded.orch_id,
           task_id = excluded.task_id, scope = excluded.scope, registered_at = excluded.registered_at,
           app_id = excluded.app_id, expires_at = excluded.expires_at, status = excluded.status`,
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
        ],
      ];
    }
    case 'issuedToken.put':
      return [
        [
          'INSERT INTO issued_tokens (jti, sub, exp) VALUES ($1, $2, $3) ON CONFLICT (jti) DO UPDATE SET sub = excluded.sub, exp = excluded.exp',
          [m.row.jti, m.row.sub, m.row.exp],
        ],
      ];
    case 'signingKey.put': {
      const r = m.row;
      return [
        [
          `INSERT INTO signing_keys (kid, public_key, state, created_at, rotated_at, retire_at, retired_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (kid) DO UPDATE SET public_key = excluded.public_key, state = excluded.state,
           created_at = excluded.created_at, rotated_at = excluded.rotated_at, retire_at = excluded.retire_at,
           retired_at = excluded.retired_at
         -- A key only moves forward (active, retiring, retired): a broker that had not seen a retirement yet
         -- cannot bring the key back.
         WHERE (CASE excluded.state WHEN 'active' THEN 0 WHEN 'retiring' THEN 1 ELSE 2 END)
            >= (CASE signing_keys.state WHEN 'active' THEN 0 WHEN 'retiring' THEN 1 ELSE 2 END)`,
          [r.kid, r.public_key, r.state, r.created_at, r.rotated_at, r.retire_at, r.retired_at],
        ],
      ];
    }
    case 'prune': {
      const nowS = Math.floor(m.now_ms / 1000);
      return [
        [
          'DELETE FROM launch_tokens WHERE expires_at < $1 OR (consumed_at IS NOT NULL AND consumed_at < $1)',
          [m.now_ms],
        ],
        ['DELETE FROM revocations WHERE expires_at IS NOT NULL AND expires_at < $1', [nowS]],
        ['DELETE FROM issued_tokens WHERE exp < $1', [nowS]],
        // Expired agents stay (the broker reports them as expired) until revoked or past the retention window.
        [
          "DELETE FROM agents WHERE expires_at < $1 AND (status = 'revoked' OR expires_at < $2)",
          [nowS, nowS - m.agent_retention_s],
        ],
        ['DELETE FROM nonces WHERE expires_at < $1', [m.now_ms]],
        [`DELETE FROM change_feed WHERE committed_at < now() - interval '${FEED_RETENTION}'`, []],
      ];
    }
    case 'audit.archive': {
      const a = m.anchor;
      return [
        ['DELETE FROM audit_events WHERE seq <= $1', [a.seq]],
        [
          `INSERT INTO audit_anchor (id, seq, event_id, hash, archived_at) VALUES (1, $1, $2, $3, $4)
           ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, event_id = excluded.event_id, hash = excluded.hash,
             archived_at = excluded.archived_at
           WHERE excluded.seq > audit_anchor.seq`,
          [a.seq, a.id, a.hash, a.archived_at],
        ],
      ];
    }
  }
}

export class PostgresStore implements Store {
  private readonly queue: Pending[] = [];
  private pumping: Promise<void> | null = null;
  private isHealthy = true;
  private closing: Promise<void> | null = null;
  readonly feed: ChangeFeed;
  readonly nonces: NonceBook;
  private readonly sql: Sql;

  private constructor(
    private readonly pools: Pools,
    private readonly target: PgTarget,
    private readonly events: StoreEvents,
    /** This process's name in the change feed. */
    private readonly origin: string,
  ) {
    this.feed = {
      origin,
      since: (afterSeq, limit) => this.changesSince(afterSeq, limit),
      listen: async (wake) => {
        // The driver reconnects a dropped listener by itself and calls onlisten again: anything notified meanwhile
        // was missed, so that is a wake-up too.
        // The payload is `<seq> <origin>`: this broker takes its own commits in as they are acknowledged.
        await this.pools.feed.listen(
          CHANNEL,
          (payload) => {
            const [seq, from] = payload.split(' ');
            if (from !== origin) wake(Number(seq));
          },
          () => wake(Number.NaN),
        );
      },
    };
    this.nonces = new PostgresNonces((op, fn) => this.read(op, fn));
    this.sql = pools.general;
  }

  /** Connects, applies pending migrations under the advisory lock, and names this process in the change feed. */
  static async open(url: string, events: StoreEvents = {}): Promise<PostgresStore> {
    const target = parseDatabaseUrl(url);
    const connect = (max: number): Sql =>
      postgres({
        host: target.host,
        port: target.port,
        database: target.database,
        username: target.user,
        password: target.password,
        ssl: target.ssl,
        max,
        connect_timeout: CONNECT_TIMEOUT_S,
        idle_timeout: 60,
        onnotice: () => undefined,
        connection: { application_name: 'agentwrit-broker' },
      });
    const pools: Pools = { writer: connect(POOLS.writer), feed: connect(POOLS.feed), general: connect(POOLS.general) };
    const sql = pools.general;
    try {
      const applied = await migrate(sql);
      events.onLog?.(
        'ok',
        'store',
        `opened postgres ${target.redacted}`,
        `migrations_applied=${applied.length === 0 ? 'none' : applied.join(',')}`,
      );
      return new PostgresStore(pools, target, events, `${hostname()}/${process.pid}/${randomHex(4)}`);
    } catch (err) {
      await Promise.all(Object.values(pools).map((p) => p.end({ timeout: 1 }).catch(() => undefined)));
      const e = new StoreOpenError(`cannot open postgres ${target.redacted}: ${scrub(describe(err), target.password)}`);
      events.onError?.('open', e);
      throw e;
    }
  }

  healthy(): boolean {
    return this.isHealthy;
  }

  commit(batch: readonly Mutation[]): Promise<CommitReceipt> {
    if (this.closing !== null) return Promise.reject(new StoreWriteError('store is closed'));
    for (const m of batch) {
      const invalid = shapeError(m);
      if (invalid === null) continue;
      const err = new StoreWriteError(`batch refused: ${invalid}`);
      this.events.onError?.(DB_OPERATION[m.kind] ?? 'commit', err);
      return Promise.reject(err);
    }
    return new Promise<CommitReceipt>((resolve, reject) => {
      this.queue.push({ batch, started: performance.now(), resolve, reject });
      this.kick();
    });
  }

  private kick(): void {
    if (this.pumping !== null) return;
    this.pumping = this.pump().finally(() => {
      this.pumping = null;
      // A batch queued between the loop's last check and this point would otherwise wait for the next commit.
      if (this.queue.length > 0) this.kick();
    });
  }

  private async pump(): Promise<void> {
    while (this.queue.length > 0) {
      const group = this.queue.splice(0, this.queue.length);
      let receipts: CommitReceipt[];
      try {
        receipts = await this.write(group);
      } catch (err) {
        if (err instanceof StoreConflictError) {
          this.refuse(group, err);
          continue;
        }
        const failed = [...group, ...this.queue.splice(0, this.queue.length)];
        const e = new StoreWriteError(
          `database write failed: ${scrub(describe(err), this.target.password)}`,
          isUnreachable(err),
        );
        const kind = group.find((p) => p.batch.length > 0)?.batch[0]?.kind;
        this.events.onError?.(kind !== undefined ? DB_OPERATION[kind] : 'commit', e);
        // Only the transitions are logged, not one line per failed request.
        if (this.isHealthy)
          this.events.onLog?.(
            'fail',
            'store',
            'database write failed',
            `target=${this.target.redacted}`,
            `error=${e.message}`,
          );
        this.isHealthy = false;
        for (const p of failed) p.reject(e);
        continue;
      }
      if (!this.isHealthy)
        this.events.onLog?.('ok', 'store', 'database writes recovered', `target=${this.target.redacted}`);
      this.isHealthy = true;
      const done = performance.now();
      group.forEach((p, i) => {
        for (const m of p.batch) if (m.kind === 'audit.insert') this.events.onAuditWrite?.((done - p.started) / 1000);
        p.resolve(receipts[i] as CommitReceipt);
      });
    }
  }

  /** The batch that conflicted fails alone; the others of its group go first in the next transaction. */
  private refuse(group: Pending[], err: StoreConflictError): void {
    let offset = 0;
    for (let i = 0; i < group.length; i++) {
      const p = group[i] as Pending;
      if (err.index < offset + p.batch.length) {
        group.splice(i, 1);
        this.queue.unshift(...group);
        p.reject(new StoreConflictError(err.message, err.index - offset));
        return;
      }
      offset += p.batch.length;
    }
    for (const p of group) p.reject(err);
  }

  /**
   * One transaction for the whole group. It first locks the cluster head row, so write transactions of every broker
   * on the database run one after another: the audit rows are numbered and chained after the head found there, and
   * the group becomes the next change-feed entry, whose seq therefore grows in commit order. Statements are sent
   * without waiting for each answer (the driver pipelines them on the transaction's connection).
   */
  private async write(group: readonly Pending[]): Promise<CommitReceipt[]> {
    // Read committed whatever the server's default: the head row lock is what orders the writers.
    return (await this.pools.writer.begin('isolation level read committed', async (tx: TransactionSql) => {
      // An empty group (the health probe) still needs a round trip to tell whether the database is back.
      if (group.every((p) => p.batch.length === 0)) {
        await tx`SELECT 1`;
        return group.map(() => ({ audit: [], changeSeq: 0 }));
      }
      const [head] = await tx<
        Row[]
      >`SELECT audit_seq, audit_hash, change_seq FROM cluster_head WHERE id = 1 FOR UPDATE`;
      if (head === undefined) throw new Error('cluster_head row missing');
      let seq = num(head.audit_seq);
      let hash = str(head.audit_hash);
      const changeSeq = num(head.change_seq) + 1;
      const stored: Mutation[] = [];
      const receipts: CommitReceipt[] = [];
      for (const p of group) {
        const audit: AuditRow[] = [];
        for (const m of p.batch) {
          if (m.kind !== 'audit.insert') {
            stored.push(m);
            continue;
          }
          seq++;
          const { hash: _provisional, ...rest } = { ...m.row, seq, id: auditId(seq), prev_hash: hash };
          const row: AuditRow = { ...rest, hash: auditHash(rest) };
          hash = row.hash;
          audit.push(row);
          stored.push({ kind: 'audit.insert', row });
        }
        receipts.push({ audit, changeSeq });
      }
      const sent: Promise<{ count: number }>[] = [];
      const conditional: number[] = [];
      stored.forEach((m, index) => {
        for (const [text, params] of mutationSql(m)) {
          if (m.kind === 'launchToken.consume') conditional[sent.length] = index;
          sent.push(
            tx.unsafe(text, params, PREPARED).catch((err: unknown) => {
              throw m.kind === 'app.put' && isUniqueViolation(err)
                ? new StoreConflictError(`${m.kind}: ${describe(err)}`, index)
                : err;
            }),
          );
        }
      });
      sent.push(
        tx.unsafe(
          'INSERT INTO change_feed (seq, origin, batch) VALUES ($1, $2, $3)',
          [changeSeq, this.origin, encodeBatch(stored)],
          PREPARED,
        ),
        tx.unsafe(
          'UPDATE cluster_head SET audit_seq = $1, audit_hash = $2, change_seq = $3 WHERE id = 1',
          [seq, hash, changeSeq],
          PREPARED,
        ),
        tx.unsafe('SELECT pg_notify($1, $2)', [CHANNEL, `${changeSeq} ${this.origin}`], PREPARED),
      );
      // Every statement settles before the transaction ends; the first failure is the one that counts.
      const results = await Promise.allSettled(sent);
      const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failure !== undefined) throw failure.reason;
      results.forEach((r, i) => {
        const index = conditional[i];
        if (index !== undefined && r.status === 'fulfilled' && r.value.count === 0)
          throw new StoreConflictError('launchToken.consume: already consumed', index);
      });
      return receipts;
    })) as CommitReceipt[];
  }

  private async changesSince(afterSeq: number, limit: number): Promise<ChangeBatch[]> {
    const n = Math.min(1000, Math.max(1, Math.trunc(limit)));
    return this.read('change_feed', async () =>
      (
        await this.pools.feed<
          Row[]
        >`SELECT seq, origin, batch FROM change_feed WHERE seq > ${afterSeq} ORDER BY seq LIMIT ${n}`
      ).map((r) => ({ seq: num(r.seq), origin: str(r.origin), mutations: parseBatch(str(r.batch)) })),
    );
  }

  async load(): Promise<Snapshot> {
    const nowMs = Date.now();
    const nowS = Math.floor(nowMs / 1000);
    // One snapshot for every table and the feed position, so the change feed continues exactly where it ends.
    const load = (sql: Sql): Promise<Snapshot> =>
      sql.begin('isolation level repeatable read read only', async (tx) => {
        const [cluster] = await tx<Row[]>`SELECT audit_seq, audit_hash, change_seq FROM cluster_head WHERE id = 1`;
        const [apps, revs, lts, agents, issued, keys, anchorRows, count] = await Promise.all([
          tx<Row[]>`SELECT * FROM apps ORDER BY created_at, app_id`,
          tx<Row[]>`SELECT level, target, revoked_at, expires_at FROM revocations ORDER BY id`,
          tx<Row[]>`SELECT * FROM launch_tokens WHERE expires_at > ${nowMs} ORDER BY created_at, token_hash`,
          tx<Row[]>`SELECT * FROM agents ORDER BY registered_at, agent_id`,
          tx<Row[]>`SELECT jti, sub, exp FROM issued_tokens WHERE exp >= ${nowS} ORDER BY exp, jti`,
          tx<Row[]>`SELECT * FROM signing_keys ORDER BY created_at, kid`,
          tx<Row[]>`SELECT seq, event_id, hash, archived_at FROM audit_anchor WHERE id = 1`,
          tx<Row[]>`SELECT count(*) AS n FROM audit_events`,
        ]);
        const a = anchorRows[0];
        const auditAnchor: AuditAnchor | null =
          a === undefined
            ? null
            : { seq: num(a.seq), id: str(a.event_id), hash: str(a.hash), archived_at: str(a.archived_at) };
        return {
          apps: apps.map(toApp),
          revocations: revs.map(
            (r): RevocationRow => ({
              level: str(r.level) as RevocationLevel,
              target: str(r.target),
              revoked_at: str(r.revoked_at),
              expires_at: numOrNull(r.expires_at),
            }),
          ),
          launchTokens: lts.map(
            (r): LaunchTokenRow => ({
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
            }),
          ),
          agents: agents.map(
            (r): AgentRow => ({
              agent_id: str(r.agent_id),
              public_key: str(r.public_key),
              orch_id: str(r.orch_id),
              task_id: str(r.task_id),
              scope: strArray(r.scope),
              registered_at: num(r.registered_at),
              app_id: str(r.app_id),
              expires_at: num(r.expires_at),
              status: str(r.status) === 'revoked' ? 'revoked' : 'active',
            }),
          ),
          issuedTokens: issued.map((r): IssuedTokenRow => ({ jti: str(r.jti), sub: str(r.sub), exp: num(r.exp) })),
          signingKeys: keys.map((r): SigningKeyRow => {
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
          }),
          audit: {
            count: num(count[0]?.n),
            lastSeq: num(cluster?.audit_seq),
            lastHash: str(cluster?.audit_hash) || GENESIS_HASH,
          },
          auditAnchor,
          replayed: 0,
          changeSeq: num(cluster?.change_seq),
        };
      }) as Promise<Snapshot>;
    return this.read('load', load);
  }

  queryAudit(f: AuditFilter): Promise<AuditPage> {
    const where: string[] = [];
    const params: Value[] = [];
    for (const col of ['agent_id', 'task_id', 'event_type', 'outcome'] as const) {
      const v = f[col];
      if (v !== undefined && v !== '') {
        params.push(v);
        where.push(`${col} = $${params.length}`);
      }
    }
    for (const [bound, op] of [
      [f.since, '>='],
      [f.until, '<='],
    ] as const) {
      if (bound === undefined || bound === '') continue;
      const key = timestampKey(bound);
      // The filter's bounds were parsed by the caller; an unparsable one is a caller bug, not a client error.
      if (key === null) return Promise.reject(new Error(`unparsable timestamp: ${bound}`));
      params.push(key);
      // '' marks a stored timestamp that does not parse: it matches no range.
      where.push(`ts_key <> '' AND ts_key ${op} $${params.length}`);
    }
    const limit = Math.min(1000, Math.max(1, Math.trunc(f.limit) || 100));
    const offset = Math.max(0, Math.trunc(f.offset) || 0);
    const clause = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
    return this.read('query_audit', async (sql) => {
      const [count, rows] = await Promise.all([
        sql.unsafe<Row[]>(`SELECT count(*) AS n FROM audit_events ${clause}`, params),
        sql.unsafe<Row[]>(
          `SELECT * FROM audit_events ${clause} ORDER BY seq LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
          [...params, limit, offset],
        ),
      ]);
      return { events: rows.map(toAuditRow), total: num(count[0]?.n) };
    });
  }

  auditRange(afterSeq: number, limit: number): Promise<AuditRow[]> {
    const n = Math.min(1000, Math.max(1, Math.trunc(limit)));
    return this.read('audit_range', async (sql) =>
      (await sql<Row[]>`SELECT * FROM audit_events WHERE seq > ${afterSeq} ORDER BY seq LIMIT ${n}`).map(toAuditRow),
    );
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      while (this.pumping !== null) await this.pumping;
      await Promise.all(Object.values(this.pools).map((p) => p.end({ timeout: 5 })));
    })();
    return this.closing;
  }

  /** Runs a read; a failure is counted and rethrown without the password. */
  private async read<T>(operation: string, fn: (sql: Sql) => Promise<T>): Promise<T> {
    try {
      return await fn(this.sql);
    } catch (err) {
      const e = new Error(`database read failed: ${scrub(describe(err), this.target.password)}`);
      this.events.onError?.(operation, e);
      throw e;
    }
  }
}

function toApp(r: Row): AppRow {
  return {
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
  };
}

/** A driver error's message and code, never its connection options. */
function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' && !err.message.includes(code) ? `${err.message} (${code})` : err.message;
  }
  return String(err);
}

/** The driver's and the OS's ways of saying the server is not there (down, restarting, refusing, unreachable). */
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EPIPE',
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
]);

function isUnreachable(err: unknown): boolean {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' && (UNREACHABLE.has(code) || code.startsWith('08'));
}

/** PostgreSQL's unique_violation: an app name or client_id another broker took a moment ago. */
function isUniqueViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === '23505';
}

/** Registration nonces in the `nonces` table: any broker on the database can spend one, once. */
class PostgresNonces implements NonceBook {
  constructor(private readonly read: <T>(operation: string, fn: (sql: Sql) => Promise<T>) => Promise<T>) {}

  /**
   * Without waiting for the flush to disk: a nonce lost in a database crash only makes its challenge fail, and the
   * client asks for another. (Spending one is durable: a spent nonce must stay spent.)
   */
  async put(nonce: string, expiresAtMs: number): Promise<void> {
    await this.read('nonce_put', (sql) =>
      sql.begin((tx) => [
        tx`SET LOCAL synchronous_commit TO OFF`,
        tx`INSERT INTO nonces (nonce, expires_at) VALUES (${nonce}, ${expiresAtMs})`,
      ]),
    );
  }

  spend(nonce: string, nowMs: number): Promise<NonceOutcome> {
    return this.read('nonce_spend', async (sql) => {
      const spent = await sql`UPDATE nonces SET consumed_at = ${nowMs}
        WHERE nonce = ${nonce} AND consumed_at IS NULL AND expires_at >= ${nowMs} RETURNING nonce`;
      if (spent.length === 1) return 'ok';
      const [row] = await sql<Row[]>`SELECT consumed_at FROM nonces WHERE nonce = ${nonce}`;
      return row !== undefined && row.consumed_at !== null ? 'consumed' : 'not_found';
    });
  }

  prune(nowMs: number): Promise<number> {
    return this.read('nonce_prune', async (sql) => (await sql`DELETE FROM nonces WHERE expires_at < ${nowMs}`).count);
  }
}
