/**
 * What only the PostgreSQL store has: migrations under concurrent cold start, a database newer than the broker,
 * audit queries that agree with the sql.js store, the password kept out of every output, and a database outage
 * (writes fail with 5xx, health degrades, both recover by themselves), and `migrate --from` a sql.js database.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import postgres from 'postgres';
import initSqlJs from 'sql.js';
import { type AuditFilter, type Mutation, openStore, StoreOpenError, StoreWriteError } from '../../src/store/index.js';
import { parseDatabaseUrl } from '../../src/store/postgres/connection.js';
import { copyFromSqlite, MigrateError } from '../../src/store/postgres/copy-from-sqlite.js';
import { MIGRATIONS } from '../../src/store/postgres/migrations.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { startTestBroker } from '../helpers/broker.js';
import { type PgCluster, pgSkip, startPostgres } from '../helpers/postgres.js';
import { AuditChain, appRow, tempDir } from './store-fixtures.js';

let pg: PgCluster;
before(async () => {
  if (pgSkip === false) pg = await startPostgres();
});
after(() => pg?.stop());

test('replicas starting at once on an empty database: one applies the migrations, none fails', {
  skip: pgSkip,
}, async () => {
  const url = await pg.createDatabase();
  const stores = await Promise.all([1, 2, 3].map(() => PostgresStore.open(url)));
  const sql = postgres(url, { max: 1, onnotice: () => undefined });
  try {
    const versions = await sql<{ version: number }[]>`SELECT version FROM schema_migrations ORDER BY version`;
    assert.deepEqual(
      versions.map((v) => v.version),
      MIGRATIONS.map((m) => m.version),
    );
    // Every one of them writes and reads the same tables.
    await Promise.all(stores.map((s, i) => s.commit([{ kind: 'app.put', row: appRow(i + 1) }])));
    assert.equal((await stores[0]!.load()).apps.length, 3);
    // A database migrated past this broker's newest version is refused, not written to.
    await sql`INSERT INTO schema_migrations (version) VALUES (999)`;
    await assert.rejects(
      PostgresStore.open(url),
      (err: Error) => err instanceof StoreOpenError && /schema version 999 is newer/.test(err.message),
    );
  } finally {
    await sql.end();
    await Promise.all(stores.map((s) => s.close()));
  }
});

test('audit queries and the chain read agree with the sql.js store', { skip: pgSkip }, async (t) => {
  const pgStore = await PostgresStore.open(await pg.createDatabase());
  const tmp = await tempDir();
  const lite = await openStore({ path: `${tmp.dir}/data.db` });
  t.after(async () => {
    await Promise.all([pgStore.close(), lite.close()]);
    await tmp.cleanup();
  });
  const chain = new AuditChain();
  // UTC `Z` form, as both brokers write it.
  const stamps = [
    '2026-03-01T10:00:00Z',
    '2026-03-01T10:00:00.5Z',
    '2026-03-01T10:00:00.999Z',
    '2026-03-01T10:00:01.000000001Z',
    '2026-03-01T09:59:59.999999999Z',
    '2026-03-02T01:00:00Z',
  ];
  const batch: Mutation[] = stamps.map((timestamp, i) =>
    chain.insert({
      timestamp,
      agent_id: `agent-${i % 2}`,
      outcome: i % 3 === 0 ? 'denied' : '',
      event_type: `e${i % 2}`,
    }),
  );
  batch.push({
    kind: 'audit.archive',
    anchor: { seq: 1, id: 'evt-000001', hash: chain.lastHash, archived_at: '2026-03-03T00:00:00Z' },
  });
  // Archiving needs the rows durable first: two commits.
  for (const s of [pgStore, lite]) {
    await s.commit(batch.slice(0, -1));
    await s.commit(batch.slice(-1));
  }
  const filters: AuditFilter[] = [
    { limit: 100, offset: 0 },
    { limit: 2, offset: 1 },
    { agent_id: 'agent-1', limit: 100, offset: 0 },
    { outcome: 'denied', event_type: 'e0', limit: 100, offset: 0 },
    { since: '2026-03-01T10:00:00Z', until: '2026-03-01T10:00:00.999Z', limit: 100, offset: 0 },
    { since: '2026-03-01T11:00:00+01:00', limit: 100, offset: 0 },
    { until: '2026-03-01T10:00:00.999999999Z', agent_id: 'agent-0', limit: 100, offset: 0 },
  ];
  for (const f of filters) assert.deepEqual(await pgStore.queryAudit(f), await lite.queryAudit(f), JSON.stringify(f));
  assert.deepEqual(await pgStore.auditRange(2, 3), await lite.auditRange(2, 3));
  const [a, b] = [await pgStore.load(), await lite.load()];
  assert.deepEqual({ ...a.audit, anchor: a.auditAnchor }, { ...b.audit, anchor: b.auditAnchor });
});

test('the database password appears in no log, error, metric or response; an outage gives 5xx and degraded health, then recovers', {
  skip: pgSkip,
}, async (t) => {
  const url = await pg.createDatabase();
  const password = pg.password;
  const outputs: string[] = [];

  // Refused at start: a wrong password, and a malformed option, both named without the password.
  const wrong = url.replace(encodeURIComponent(password), 'Wr0ng-secret-value-991');
  await assert.rejects(startTestBroker(t, { env: { AA_DATABASE_URL: wrong } }), (err: Error) => {
    outputs.push(err.message);
    return /password authentication failed/.test(err.message) && !err.message.includes('Wr0ng-secret-value-991');
  });
  assert.throws(
    () => parseDatabaseUrl(`${url}?sslmode=sometimes`),
    (err: Error) => {
      outputs.push(err.message);
      return /sslmode must be one of/.test(err.message);
    },
  );

  const b = await startTestBroker(t, { env: { AA_DATABASE_URL: url, AA_REVOCATION_MAX_LAG: '1s' } });
  const admin = await b.adminToken();
  const agent = await b.registerAgent();
  assert.equal((await b.req('/v1/health')).json.status, 'ok');

  await pg.pause();
  try {
    const write = await b.req('/v1/admin/launch-tokens', {
      token: admin,
      body: { agent_name: 'x', allowed_scope: ['read:data:*'] },
    });
    assert.equal(write.status, 503, `write during outage: ${write.text}`);
    assert.equal(write.headers['retry-after'], '1');
    assert.equal(write.headers['content-type'], 'application/problem+json');
    outputs.push(write.text);
    const health = await b.req('/v1/health');
    assert.equal(health.status, 503);
    assert.equal(health.json.status, 'degraded');
    // Tokens are accepted only while the broker can vouch that it has seen every revocation: past
    // AA_REVOCATION_MAX_LAG without reaching the database, validation fails closed (503), never `valid: true`.
    for (let i = 0; ; i++) {
      const v = await b.req('/v1/token/validate', { body: { token: agent.token } });
      if (v.status === 503) {
        assert.equal(v.headers['retry-after'], '1');
        assert.equal(v.json.error_code, 'service_unavailable');
        break;
      }
      assert.equal(v.json.valid, true, v.text);
      assert.ok(i < 300, 'validation never failed closed');
      await new Promise((r) => setTimeout(r, 100));
    }
    const lagging = await b.req('/v1/health');
    assert.equal(lagging.status, 503);
    assert.equal(lagging.json.replication, 'lagging');
  } finally {
    await pg.resume();
  }
  // The health probe finds the database back without any request writing.
  for (let i = 0; (await b.req('/v1/health')).status !== 200; i++) {
    assert.ok(i < 300, 'health did not recover');
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal((await b.req('/v1/token/validate', { body: { token: agent.token } })).json.valid, true);
  const again = await b.req('/v1/admin/launch-tokens', {
    token: admin,
    body: { agent_name: 'y', allowed_scope: ['read:data:*'] },
  });
  assert.equal(again.status, 201, again.text);

  outputs.push((await b.req('/v1/metrics')).text, ...b.logs);
  const all = outputs.join('\n');
  assert.match(all, /database write failed/, 'the outage was logged');
  assert.match(all, /agentwrit_db_errors_total/);
  for (const secret of [password, encodeURIComponent(password), 'Wr0ng-secret-value-991']) {
    assert.ok(!all.includes(secret), `password leaked: ${secret}`);
  }
});

test('deregistration and key retirement are final, whatever order brokers commit in; the anchor never moves back', {
  skip: pgSkip,
}, async () => {
  const store = await PostgresStore.open(await pg.createDatabase());
  try {
    const app = appRow(1);
    const gone = { ...app, status: 'inactive' as const, deregistered_at: '2026-01-02T00:00:00Z' };
    // A broker that had not seen the deregistration writes the app as it knew it (say, an update of its scopes).
    await store.commit([{ kind: 'app.put', row: gone }]);
    await store.commit([{ kind: 'app.put', row: { ...app, scope_ceiling: ['read:x:*'] } }]);
    const apps = (await store.load()).apps;
    assert.equal(apps[0]?.status, 'inactive');
    assert.equal(apps[0]?.deregistered_at, '2026-01-02T00:00:00Z');
    assert.deepEqual(apps[0]?.scope_ceiling, ['read:x:*']);

    const key = {
      kid: 'k1',
      public_key: 'pk',
      state: 'retired' as const,
      created_at: 1,
      rotated_at: 2,
      retire_at: 3,
      retired_at: 4,
    };
    await store.commit([{ kind: 'signingKey.put', row: key }]);
    await store.commit([
      { kind: 'signingKey.put', row: { ...key, state: 'retiring', retire_at: 9_999_999_999, retired_at: null } },
    ]);
    await store.commit([
      { kind: 'signingKey.put', row: { ...key, state: 'active', retire_at: null, retired_at: null } },
    ]);
    assert.equal((await store.load()).signingKeys[0]?.state, 'retired');

    const anchor = (seq: number) => ({
      seq,
      id: `evt-${seq}`,
      hash: 'h'.repeat(64),
      archived_at: '2026-01-01T00:00:00Z',
    });
    await store.commit([{ kind: 'audit.archive', anchor: anchor(5) }]);
    await store.commit([{ kind: 'audit.archive', anchor: anchor(3) }]);
    assert.equal((await store.load()).auditAnchor?.seq, 5);
  } finally {
    await store.close();
  }
});

test('a commit that fails rejects the batches queued behind it, and nothing of them is stored', {
  skip: pgSkip,
}, async () => {
  const url = await pg.createDatabase();
  const store = await PostgresStore.open(url);
  try {
    await pg.pause();
    const results = await Promise.allSettled([1, 2, 3].map((n) => store.commit([{ kind: 'app.put', row: appRow(n) }])));
    assert.ok(results.every((r) => r.status === 'rejected' && r.reason instanceof StoreWriteError));
    assert.equal(store.healthy(), false);
    await pg.resume();
    await store.commit([]);
    assert.equal(store.healthy(), true);
    assert.equal((await store.load()).apps.length, 0);
  } finally {
    await pg.resume();
    await store.close();
  }
});

function runMigrate(args: string[], url: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/broker', 'migrate', ...args], {
      env: { PATH: process.env.PATH ?? '', AA_DATABASE_URL: url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => resolve({ code, out }));
  });
}

test('migrate --from copies a database the broker wrote, verifies the chain, and refuses a non-empty target', {
  skip: pgSkip,
}, async (t) => {
  const source = await startTestBroker(t, { keepDir: true });
  const admin = await source.adminToken();
  const app = await source.req('/v1/admin/apps', {
    token: admin,
    body: { name: 'moved-app', scopes: ['read:data:*'] },
  });
  assert.equal(app.status, 201);
  const agent = await source.registerAgent();
  assert.equal(
    (await source.req('/v1/revoke', { token: admin, body: { level: 'agent', target: agent.agentId } })).status,
    200,
  );
  const before = (await source.req('/v1/audit/events?limit=1000', { token: admin })).json;
  await source.stop();
  const dbPath = join(source.dir, 'data.db');
  t.after(() => rmSync(source.dir, { recursive: true, force: true }));

  const url = await pg.createDatabase();
  const first = await runMigrate(['--from', dbPath], url);
  assert.equal(first.code, 0, first.out);
  assert.match(first.out, new RegExp(`audit chain verified: ${before.total} events`));
  assert.match(first.out, /apps=1 .*agents=1/);

  // The broker on PostgreSQL has the same state: the app, the revoked agent, the audit trail continuing its chain.
  const moved = await startTestBroker(t, { dir: source.dir, keepDir: true, env: { AA_DATABASE_URL: url } });
  const admin2 = await moved.adminToken();
  assert.equal((await moved.req(`/v1/admin/apps/${app.json.app_id}`, { token: admin2 })).json.name, 'moved-app');
  assert.equal((await moved.req('/v1/token/validate', { body: { token: agent.token } })).json.valid, false);
  const after = (await moved.req('/v1/audit/events?limit=1000', { token: admin2 })).json;
  assert.deepEqual(after.events.slice(0, before.events.length), before.events);
  await moved.stop();

  await assert.rejects(
    copyFromSqlite(dbPath, url),
    (err: Error) =>
      err instanceof MigrateError &&
      /is not empty \(apps has 1 rows\)/.test(err.message) &&
      !err.message.includes(pg.password),
  );

  // A tampered chain is refused and leaves the target empty.
  const SQL = await initSqlJs();
  const db = new SQL.Database(readFileSync(dbPath));
  db.run("UPDATE audit_events SET detail = 'edited' WHERE seq = 2");
  writeFileSync(dbPath, db.export());
  db.close();
  const empty = await pg.createDatabase();
  await assert.rejects(copyFromSqlite(dbPath, empty), /audit chain broken at evt-000002: hash does not match/);
  const sql = postgres(empty, { max: 1, onnotice: () => undefined });
  assert.equal(Number((await sql`SELECT count(*) AS n FROM apps`)[0]!.n), 0);
  await sql.end();
});
