/**
 * `agentwrit-broker migrate --from <data.db>`: copies every table of a sql.js (or Go broker) database into an empty
 * PostgreSQL database in one transaction, reading the audit chain back from PostgreSQL and verifying it end to end
 * before that transaction commits.
 * The source is first opened as the broker opens it (journal replayed and checkpointed into the file, Go columns
 * added), then read table by table.
 */
import { readFile } from 'node:fs/promises';
import postgres, { type TransactionSql } from 'postgres';
import initSqlJs, { type SqlValue } from 'sql.js';
import { auditHash, GENESIS_HASH } from '../audit-chain.js';
import { openStore } from '../index.js';
import { StoreOpenError } from '../store.js';
import { timestampKey } from '../timestamps.js';
import { parseDatabaseUrl, scrub } from './connection.js';
import { migrate } from './migrations.js';
import { toAuditRow } from './postgres-store.js';

/** Copied in this order; `store_meta` is the sql.js store's own bookkeeping and has no meaning in PostgreSQL. */
const TABLES: readonly { name: string; columns: readonly string[] }[] = [
  {
    name: 'apps',
    columns: [
      'app_id',
      'name',
      'client_id',
      'client_secret_hash',
      'scope_ceiling',
      'token_ttl',
      'status',
      'created_at',
      'updated_at',
      'created_by',
      'deregistered_at',
    ],
  },
  { name: 'revocations', columns: ['id', 'level', 'target', 'revoked_at', 'expires_at'] },
  {
    name: 'launch_tokens',
    columns: [
      'token_hash',
      'agent_name',
      'allowed_scope',
      'max_ttl',
      'single_use',
      'created_at',
      'expires_at',
      'consumed_at',
      'created_by',
      'app_id',
    ],
  },
  {
    name: 'agents',
    columns: [
      'agent_id',
      'public_key',
      'orch_id',
      'task_id',
      'scope',
      'registered_at',
      'app_id',
      'expires_at',
      'status',
    ],
  },
  { name: 'issued_tokens', columns: ['jti', 'sub', 'exp'] },
  {
    name: 'signing_keys',
    columns: ['kid', 'public_key', 'state', 'created_at', 'rotated_at', 'retire_at', 'retired_at'],
  },
  { name: 'audit_anchor', columns: ['id', 'seq', 'event_id', 'hash', 'archived_at'] },
  {
    name: 'audit_events',
    columns: [
      'id',
      'timestamp',
      'event_type',
      'agent_id',
      'task_id',
      'orch_id',
      'detail',
      'resource',
      'outcome',
      'deleg_depth',
      'deleg_chain_hash',
      'bytes_transferred',
      'hash',
      'prev_hash',
      'seq',
    ],
  },
];

export interface CopyReport {
  /** Rows copied, by table. */
  rows: Record<string, number>;
  /** The verified chain: events checked and the last seq. */
  audit: { events: number; lastSeq: number };
}

/** The copy failed or was refused; nothing was written to the target. */
export class MigrateError extends StoreOpenError {}

const ROWS_PER_INSERT = 500;

async function insertRows(
  tx: TransactionSql,
  table: string,
  columns: readonly string[],
  rows: SqlValue[][],
): Promise<void> {
  for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
    const chunk = rows.slice(i, i + ROWS_PER_INSERT);
    const params: (string | number | null)[] = [];
    const tuples = chunk.map((r) => {
      const marks = r.map((v) => {
        params.push(v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : v);
        return `$${params.length}`;
      });
      return `(${marks.join(', ')})`;
    });
    await tx.unsafe(`INSERT INTO ${table} (${columns.join(', ')}) VALUES ${tuples.join(', ')}`, params);
  }
}

export async function copyFromSqlite(sourcePath: string, databaseUrl: string): Promise<CopyReport> {
  const target = parseDatabaseUrl(databaseUrl);
  // As the broker would: replays the journal and folds it into the file at close.
  const store = await openStore({ path: sourcePath });
  await store.close();
  const SQL = await initSqlJs();
  const db = new SQL.Database(await readFile(sourcePath));
  const sql = postgres({
    host: target.host,
    port: target.port,
    database: target.database,
    username: target.user,
    password: target.password,
    ssl: target.ssl,
    max: 1,
    connect_timeout: 10,
    onnotice: () => undefined,
  });
  try {
    await migrate(sql);
    const rows: Record<string, number> = {};
    let audit = { events: 0, lastSeq: 0 };
    await sql.begin(async (tx) => {
      // The change feed too: a database some broker has written to is not empty even if its tables were pruned.
      for (const t of [...TABLES, { name: 'change_feed' }]) {
        const [{ n }] = (await tx.unsafe(`SELECT count(*) AS n FROM ${t.name}`)) as unknown as [{ n: string }];
        if (Number(n) > 0)
          throw new MigrateError(
            `target database ${target.redacted} is not empty (${t.name} has ${n} rows); migrate needs an empty database`,
          );
      }
      for (const t of TABLES) {
        const res = db.exec(
          `SELECT ${t.columns.join(', ')} FROM ${t.name}${t.name === 'audit_events' ? ' ORDER BY seq' : ''}`,
        )[0];
        const values = res?.values ?? [];
        let columns = t.columns;
        let data = values;
        if (t.name === 'audit_events') {
          const seqAt = t.columns.indexOf('seq');
          const bad = values.find((v) => typeof v[seqAt] !== 'number');
          if (bad !== undefined) throw new MigrateError(`audit event ${String(bad[0])} has no sequence number`);
          columns = [...t.columns, 'ts_key'];
          data = values.map((v) => [...v, timestampKey(String(v[1])) ?? '']);
        }
        await insertRows(tx, t.name, columns, data);
        rows[t.name] = data.length;
      }
      // Later revocations continue after the copied ids.
      await tx.unsafe(
        `SELECT setval(pg_get_serial_sequence('revocations', 'id'), coalesce((SELECT max(id) FROM revocations), 0) + 1, false)`,
      );
      // Read back from PostgreSQL inside the transaction: a chain that does not verify leaves the target empty.
      const verified = await verifyChain(tx);
      audit = { events: verified.events, lastSeq: verified.lastSeq };
      // Brokers started on this database continue the chain from here.
      await tx`UPDATE cluster_head SET audit_seq = ${verified.lastSeq}, audit_hash = ${verified.hash} WHERE id = 1`;
    });
    return { rows, audit };
  } catch (err) {
    if (err instanceof MigrateError) throw err;
    throw new MigrateError(
      `migrate to ${target.redacted}: ${scrub(err instanceof Error ? err.message : String(err), target.password)}`,
    );
  } finally {
    db.close();
    await sql.end({ timeout: 5 });
  }
}

/** Reads the copied chain back in seq order and checks every link, starting at the archive anchor (or genesis). */
async function verifyChain(sql: TransactionSql): Promise<{ events: number; lastSeq: number; hash: string }> {
  const anchor = (await sql<{ hash: string; seq: string }[]>`SELECT hash, seq FROM audit_anchor WHERE id = 1`)[0];
  let prev = anchor?.hash ?? GENESIS_HASH;
  let lastSeq = Number(anchor?.seq ?? 0);
  let events = 0;
  for (;;) {
    const page = await sql<
      Record<string, unknown>[]
    >`SELECT * FROM audit_events WHERE seq > ${lastSeq} ORDER BY seq LIMIT 1000`;
    if (page.length === 0) break;
    for (const raw of page) {
      const r = toAuditRow(raw);
      if (r.prev_hash !== prev)
        throw new MigrateError(`audit chain broken at ${r.id}: prev_hash does not match the event before it`);
      if (auditHash(r) !== r.hash)
        throw new MigrateError(`audit chain broken at ${r.id}: hash does not match its content`);
      prev = r.hash;
      lastSeq = r.seq;
      events++;
    }
  }
  return { events, lastSeq, hash: prev };
}
