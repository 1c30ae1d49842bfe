/**
 * The storage engine's large-database paths: the audit state kept instead of count(*), the audit query planner
 * (index choice, rowid walk, cached totals) against a plain reference query, and checkpoints that write the live
 * database file instead of an export() copy.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import type { Database, SqlValue } from 'sql.js';
import initSqlJs from 'sql.js';
import { MutationApplier } from '../../src/store/apply.js';
import { liveImage, openImage, readWithCapacity } from '../../src/store/image.js';
import { openStore } from '../../src/store/index.js';
import { AuditTotals, establishAuditState, queryAudit, toAuditRow } from '../../src/store/queries.js';
import { configureDatabase } from '../../src/store/recovery.js';
import { ensureSchema } from '../../src/store/schema.js';
import type { AuditFilter, AuditRow } from '../../src/store/store.js';
import { timestampKey } from '../../src/store/timestamps.js';
import { AuditChain, auditRow, GENESIS, tempDir } from './store-fixtures.js';

const SQL = await initSqlJs();

function freshDb(): Database {
  const db = new SQL.Database();
  configureDatabase(db);
  ensureSchema(db);
  return db;
}

/** Varied rows: timestamps out of order, some with offsets or no fraction, several values per filter column. */
function variedRow(chain: AuditChain): AuditRow {
  const n = chain.lastSeq + 1;
  const base = Date.UTC(2025, 0, 1) + ((n * 7919) % 5000) * 1000;
  let timestamp = new Date(base).toISOString().replace('.000Z', `.${String(n % 1000).padStart(3, '0')}Z`);
  if (n % 11 === 0) timestamp = new Date(base).toISOString().replace('.000Z', 'Z');
  if (n % 13 === 0) timestamp = new Date(base + 7_200_000).toISOString().replace('.000Z', '.5+02:00');
  return chain.next({
    timestamp,
    event_type: ['token_issued', 'token_validated', 'token_revoked'][n % 3]!,
    agent_id: `spiffe://x/agent/o/t${n % 5}/i${n % 17}`,
    task_id: `t${n % 5}`,
    outcome: n % 10 === 0 ? 'denied' : 'success',
  });
}

/** The query as the store answered it before the planner: count(*), ORDER BY seq, exact keys via aw_ts_key. */
function reference(db: Database, f: AuditFilter): { ids: string[]; total: number } {
  const where: string[] = [];
  const params: SqlValue[] = [];
  for (const col of ['agent_id', 'task_id', 'event_type', 'outcome'] as const) {
    if (f[col] !== undefined) {
      where.push(`${col} = ?`);
      params.push(f[col]!);
    }
  }
  for (const [bound, op] of [
    [f.since, '>='],
    [f.until, '<='],
  ] as const) {
    if (bound === undefined) continue;
    const key = timestampKey(bound)!;
    where.push(op === '>=' ? 'timestamp >= ?' : 'timestamp <= ?', `aw_ts_key(timestamp) ${op} ?`);
    params.push(op === '>=' ? key.slice(0, 19) : `${key.slice(0, 19)}~`, key);
  }
  const clause = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
  const total = Number(db.exec(`SELECT count(*) FROM audit_events ${clause}`, params)[0]!.values[0]![0]);
  const res = db.exec(`SELECT id FROM audit_events ${clause} ORDER BY seq LIMIT ? OFFSET ?`, [
    ...params,
    f.limit,
    f.offset,
  ]);
  return { ids: (res[0]?.values ?? []).map((r) => String(r[0])), total };
}

function filters(): AuditFilter[] {
  const shapes: Omit<AuditFilter, 'limit' | 'offset'>[] = [
    {},
    { event_type: 'token_issued' },
    { agent_id: 'spiffe://x/agent/o/t2/i7' },
    { task_id: 't3' },
    { outcome: 'denied' },
    { event_type: 'token_revoked', outcome: 'denied' },
    { agent_id: 'spiffe://x/agent/o/t1/i1', event_type: 'token_validated', task_id: 't1' },
    { since: '2025-01-01T00:40:00Z' },
    { until: '2025-01-01T00:20:00.5Z' },
    { since: '2025-01-01T00:10:00.25Z', until: '2025-01-01T00:30:00+00:00' },
    { since: '2025-01-01T02:30:00+02:00' },
    { event_type: 'token_issued', since: '2025-01-01T00:50:00Z' },
    { task_id: 't4', until: '2025-01-01T01:00:00.999Z' },
    { since: '2025-01-01T00:33:20.5Z', until: '2025-01-01T00:33:21.5Z' },
    { event_type: 'no_such_event' },
  ];
  const out: AuditFilter[] = [];
  for (const s of shapes)
    for (const [limit, offset] of [
      [50, 0],
      [7, 13],
      [1000, 0],
      [5, 2990],
      [10, 100_000],
    ] as const)
      out.push({ ...s, limit, offset });
  return out;
}

function assertSameAnswers(db: Database, ctx: Parameters<typeof queryAudit>[2], label: string): void {
  for (const f of filters()) {
    const want = reference(db, f);
    const got = queryAudit(db, f, ctx);
    assert.equal(got.total, want.total, `${label}: total for ${JSON.stringify(f)}`);
    assert.deepEqual(
      got.events.map((e) => e.id),
      want.ids,
      `${label}: page for ${JSON.stringify(f)}`,
    );
  }
}

test('audit queries answer exactly as a plain count(*) + ORDER BY seq, before and after appends', () => {
  const db = freshDb();
  const applier = new MutationApplier(db);
  applier.initAudit(establishAuditState(db).state);
  const chain = new AuditChain();
  const insert = (n: number): void => {
    db.exec('BEGIN');
    for (let i = 0; i < n; i++) applier.apply({ kind: 'audit.insert', row: variedRow(chain) });
    applier.setLastSeq(chain.lastSeq);
    db.exec('COMMIT');
  };
  insert(3000);
  const ctx = { audit: applier.audit, totals: new AuditTotals() };
  assert.deepEqual(applier.audit, { rows: 3000, ordered: true, lastSeq: 3000 });
  // A sort limit of 10 makes every filter here "large": walks in rowid order instead of fetch-and-sort.
  const dense = { ...ctx, totals: new AuditTotals(), sortLimit: 10 };
  assertSameAnswers(db, ctx, 'initial');
  assertSameAnswers(db, dense, 'initial, large-table paths');
  // Cached totals are extended by the appended rows only.
  insert(400);
  assertSameAnswers(db, ctx, 'after appends');
  assertSameAnswers(db, dense, 'after appends, large-table paths');
  assert.equal(establishAuditState(db).changed, false, 'the state written with the rows is trusted at the next open');
  db.close();
});

test('rows whose rowid order is not seq order fall back to sorting by seq', () => {
  const db = freshDb();
  const rows: AuditRow[] = [];
  let prev = GENESIS;
  for (let seq = 1; seq <= 1200; seq++) {
    const r = auditRow(seq, prev, { event_type: seq % 2 === 0 ? 'a' : 'b', task_id: `t${seq % 3}` });
    rows.push(r);
    prev = r.hash;
  }
  // Inserted in a shuffled order, the way a database touched by something else might hold them.
  const shuffled = [...rows].sort((x, y) => ((x.seq * 7919) % 1201) - ((y.seq * 7919) % 1201));
  db.exec('BEGIN');
  const st = db.prepare(
    'INSERT INTO audit_events (id, timestamp, event_type, agent_id, task_id, orch_id, detail, outcome, hash, prev_hash, seq) VALUES (?,?,?,?,?,?,?,?,?,?,?)',
  );
  for (const r of shuffled)
    st.run([
      r.id,
      r.timestamp,
      r.event_type,
      r.agent_id,
      r.task_id,
      r.orch_id,
      r.detail,
      r.outcome,
      r.hash,
      r.prev_hash,
      r.seq,
    ]);
  st.free();
  db.exec('COMMIT');
  const { state } = establishAuditState(db);
  assert.deepEqual(state, { rows: 1200, ordered: false, lastSeq: 1200 });
  const ctx = { audit: state, totals: new AuditTotals() };
  for (const f of [
    { event_type: 'a', limit: 20, offset: 5 },
    { task_id: 't1', since: '2025-01-01T00:05:00Z', limit: 30, offset: 0 },
  ]) {
    const want = reference(db, f);
    const got = queryAudit(db, f, ctx);
    assert.equal(got.total, want.total);
    assert.deepEqual(
      got.events.map((e) => e.id),
      want.ids,
    );
  }
  db.close();
});

test('the audit state of a Go-written table: gaps keep the order, an appended tail is checked on its own', () => {
  const db = freshDb();
  db.exec('BEGIN');
  const st = db.prepare('INSERT INTO audit_events (id, timestamp, event_type, hash, prev_hash) VALUES (?,?,?,?,?)');
  // Go leaves a gap for every failed write: seq 1..500 without the multiples of 50.
  for (let seq = 1; seq <= 500; seq++)
    if (seq % 50 !== 0) st.run([`evt-${String(seq).padStart(6, '0')}`, '2025-01-01T00:00:00Z', 'x', 'h', 'p']);
  st.free();
  db.exec('COMMIT');
  ensureSchema(db); // backfills seq from the ids
  const first = establishAuditState(db);
  assert.deepEqual([first.changed, first.state], [true, { rows: 490, ordered: true, lastSeq: 499 }]);
  assert.equal(establishAuditState(db).changed, false);
  // A Go broker appends more rows later (no seq), one of them out of order.
  db.run(
    "INSERT INTO audit_events (id, timestamp, event_type, hash, prev_hash) VALUES ('evt-000501', 't', 'x', 'h', 'p')",
  );
  db.run(
    "INSERT INTO audit_events (id, timestamp, event_type, hash, prev_hash) VALUES ('evt-000500', 't', 'x', 'h', 'p')",
  );
  ensureSchema(db);
  const tail = establishAuditState(db);
  assert.deepEqual([tail.changed, tail.state], [true, { rows: 492, ordered: false, lastSeq: 501 }]);
  const page = queryAudit(
    db,
    { limit: 3, offset: 0, event_type: 'x' },
    { audit: tail.state, totals: new AuditTotals() },
  );
  assert.equal(page.total, 492);
  const last = queryAudit(db, { limit: 2, offset: 490 }, { audit: tail.state, totals: new AuditTotals() });
  assert.deepEqual(
    last.events.map((e) => e.seq),
    [500, 501],
  );
  db.close();
});

test('a checkpoint writes the live database file; a stale buffer is never written', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const path = `${dir}/data.db`;
  const chain = new AuditChain();
  const logs: string[] = [];
  const events = {
    onLog: (_l: string, _c: string, msg: string, ...ctx: string[]) => logs.push([msg, ...ctx].join(' ')),
  };
  let store = await openStore({ path, events });
  await store.load();
  for (let i = 0; i < 20; i++) await store.commit([chain.insert()]);
  await store.close();
  store = await openStore({ path, events });
  await store.load();
  for (let i = 0; i < 200; i++) await store.commit([chain.insert({ detail: 'x'.repeat(500) })]);
  await store.close();
  const checkpoints = logs.filter((l) => l.startsWith('checkpoint written'));
  assert.match(checkpoints.at(-1)!, /records<=220 .*mode=direct/);

  // The file is a complete database holding every row.
  const bytes = await readWithCapacity(path);
  const { db, live } = openImage(SQL, bytes!);
  configureDatabase(db);
  assert.equal(db.exec('PRAGMA integrity_check')[0]!.values[0]![0], 'ok');
  const head = toAuditRow(
    db
      .exec('SELECT * FROM audit_events ORDER BY seq DESC LIMIT 1')
      .map((r) => Object.fromEntries(r.columns.map((c, i) => [c, r.values[0]![i]!])))[0]!,
  );
  assert.deepEqual([head.seq, head.hash], [220, chain.lastHash]);
  // The live view matches what export() produces, apart from the header's change counters.
  const image = liveImage(db, live)!;
  const exported = db.export();
  assert.equal(image.length, exported.length);
  const a = Buffer.from(image.buffer, image.byteOffset, image.length);
  const b = Buffer.from(exported.buffer, exported.byteOffset, exported.length);
  assert.ok(a.subarray(100).equals(b.subarray(100)) && a.subarray(0, 24).equals(b.subarray(0, 24)));
  // A buffer that is not the live file (a copy) fails the proof.
  assert.equal(liveImage(db, new Uint8Array(image)), null);
  assert.equal(liveImage(db, null), null);
  db.close();
  assert.ok((await readFile(path)).length > 0);
});
