import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFile, chmod, chown, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, test } from 'node:test';
import bcrypt from 'bcryptjs';
import {
  journalPathFor,
  type OpenStoreOptions,
  openStore as open,
  type Store,
  StoreOpenError,
  StoreWriteError,
} from '../../src/store/index.js';
import { ADMIN_SECRET } from '../helpers/broker.js';
import { brokerCopy } from '../helpers/broker-process.js';
import { AuditChain, agentRow, appRow, launchTokenRow, tempDir } from './store-fixtures.js';

/** The unprivileged user that root runs a child as (nobody). */
const NOBODY = 65534;

// From PATH, like every other tool the tests run.
const SQLITE3 = 'sqlite3';

/** Every store a test opens is closed when it ends, also when an assertion failed (a live worker keeps it running). */
const openStores = new Set<Store>();
async function openStore(opts: OpenStoreOptions): Promise<Store> {
  const s = await open(opts);
  openStores.add(s);
  return s;
}
afterEach(async () => {
  await Promise.all([...openStores].map((s) => s.close().catch(() => undefined)));
  openStores.clear();
});
const hasSqlite3 = spawnSync(SQLITE3, ['-version']).status === 0;
const sqlite = (path: string, sql: string): string => {
  const r = spawnSync(SQLITE3, [path, sql], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout.trim();
};

test('restart preserves every kind of state, and queries and pruning work on it', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const path = `${dir}/data.db`;
  const now = Date.now();
  const nowS = Math.floor(now / 1000);
  const chain = new AuditChain();
  const auditWrites: number[] = [];
  let store = await openStore({ path, events: { onAuditWrite: (s) => auditWrites.push(s) } });
  await store.commit([
    chain.insert({ timestamp: '2025-03-01T10:00:00Z', event_type: 'admin_auth', agent_id: 'admin' }),
  ]);
  await store.commit([
    chain.insert({ timestamp: '2025-03-01T10:00:00.5Z', event_type: 'token_issued', outcome: 'denied' }),
  ]);
  await store.commit([
    chain.insert({
      timestamp: '2025-03-01T10:00:01.000000001Z',
      event_type: 'token_issued',
      resource: '/v1/x',
      deleg_depth: 2,
      deleg_chain_hash: 'ab'.repeat(32),
    }),
  ]);
  const app = appRow(1, { client_secret_hash: bcrypt.hashSync('s3cret', 4) });
  await store.commit([
    { kind: 'app.put', row: app },
    { kind: 'app.put', row: appRow(2, { status: 'inactive', deregistered_at: '2025-03-01T10:00:00Z' }) },
    {
      kind: 'revocation.put',
      row: { level: 'agent', target: 'spiffe://a', revoked_at: '2025-03-01 10:00:00', expires_at: nowS + 600 },
    },
    {
      kind: 'revocation.put',
      row: { level: 'agent', target: 'spiffe://a', revoked_at: '2025-03-01 10:00:09', expires_at: null },
    },
    {
      kind: 'revocation.put',
      row: { level: 'token', target: 'jti-old', revoked_at: '2025-03-01 10:00:00', expires_at: nowS - 10 },
    },
    { kind: 'launchToken.put', row: launchTokenRow(1) },
    { kind: 'launchToken.put', row: launchTokenRow(2) },
    { kind: 'launchToken.consume', token_hash: launchTokenRow(2).token_hash, consumed_at: now - 5 },
    { kind: 'launchToken.put', row: launchTokenRow(3, { expires_at: now - 1000 }) },
    { kind: 'agent.put', row: agentRow(1) },
    { kind: 'agent.put', row: agentRow(2, { status: 'revoked', expires_at: nowS - 5 }) },
    { kind: 'agent.put', row: agentRow(3, { expires_at: nowS - 5 }) },
    { kind: 'issuedToken.put', row: { jti: 'j-live', sub: 'admin', exp: nowS + 300 } },
    { kind: 'issuedToken.put', row: { jti: 'j-dead', sub: 'admin', exp: nowS - 300 } },
  ]);
  assert.equal(auditWrites.length, 3);
  // A batch that would leave a gap in the audit chain or steal an app name is refused before it is written.
  const gap = new AuditChain(5, chain.lastHash).insert();
  await assert.rejects(store.commit([gap]), StoreWriteError);
  await assert.rejects(store.commit([{ kind: 'app.put', row: appRow(9, { name: app.name }) }]), /name demo1/);
  await store.close();

  store = await openStore({ path });
  const snap = await store.load();
  assert.equal(snap.replayed, 0, 'a clean close checkpoints');
  assert.deepEqual(snap.audit, { count: 3, lastSeq: 3, lastHash: chain.lastHash });
  assert.deepEqual(
    snap.apps.map((a) => [a.app_id, a.status, a.deregistered_at]),
    [
      [app.app_id, 'active', null],
      [appRow(2).app_id, 'inactive', '2025-03-01T10:00:00Z'],
    ],
  );
  assert.ok(bcrypt.compareSync('s3cret', snap.apps[0]!.client_secret_hash));
  assert.deepEqual(snap.apps[0]!.scope_ceiling, ['read:data:*']);
  const agentRev = snap.revocations.find((r) => r.target === 'spiffe://a');
  assert.deepEqual(agentRev, {
    level: 'agent',
    target: 'spiffe://a',
    revoked_at: '2025-03-01 10:00:00',
    expires_at: null,
  });
  const tokens = new Map(snap.launchTokens.map((l) => [l.agent_name, l]));
  assert.deepEqual(
    [...tokens.keys()].sort(),
    ['agent-1', 'agent-2'],
    'unexpired launch tokens, consumed ones included',
  );
  assert.equal(tokens.get('agent-1')!.consumed_at, null);
  assert.equal(tokens.get('agent-2')!.consumed_at, now - 5);
  assert.equal(tokens.get('agent-1')!.single_use, true);
  assert.equal(snap.agents.length, 3);
  assert.deepEqual(
    snap.issuedTokens.map((i) => i.jti),
    ['j-live'],
  );

  const all = await store.queryAudit({ limit: 100, offset: 0 });
  assert.equal(all.total, 3);
  assert.deepEqual(all.events[2], { ...all.events[2]!, resource: '/v1/x', deleg_depth: 2, outcome: 'success' });
  assert.equal(all.events[0]!.resource, '');
  const since = await store.queryAudit({ since: '2025-03-01T10:00:00.4Z', limit: 100, offset: 0 });
  assert.deepEqual(
    since.events.map((e) => e.seq),
    [2, 3],
  );
  const until = await store.queryAudit({ until: '2025-03-01T12:00:00.5+02:00', limit: 100, offset: 0 });
  assert.deepEqual(
    until.events.map((e) => e.seq),
    [1, 2],
  );
  const paged = await store.queryAudit({ event_type: 'token_issued', limit: 1, offset: 1 });
  assert.deepEqual([paged.total, paged.events.map((e) => e.seq)], [2, [3]]);
  const anded = await store.queryAudit({ event_type: 'token_issued', outcome: 'denied', limit: 10, offset: 0 });
  assert.deepEqual(
    anded.events.map((e) => e.seq),
    [2],
  );

  const logs: string[] = [];
  await store.close();
  store = await openStore({ path, events: { onLog: (_l, _c, m, ...ctx) => logs.push(`${m} ${ctx.join(' ')}`) } });
  await store.commit([{ kind: 'prune', now_ms: now, agent_retention_s: 3600 }]);
  const pruned = await store.load();
  assert.deepEqual(pruned.agents.map((a) => a.agent_id).sort(), [agentRow(1).agent_id, agentRow(3).agent_id]);
  assert.ok(!pruned.revocations.some((r) => r.target === 'jti-old'));
  assert.ok(
    logs.some((l) => l.includes('launch_tokens=2') && l.includes('revocations=1') && l.includes('agents=1')),
    logs.join('\n'),
  );
  await store.close();
  if (hasSqlite3) {
    assert.equal(sqlite(path, 'PRAGMA integrity_check'), 'ok');
    assert.equal(sqlite(path, 'SELECT count(*) FROM launch_tokens'), '1');
    assert.equal(
      sqlite(path, "SELECT resource IS NULL, deleg_depth IS NULL FROM audit_events WHERE id='evt-000001'"),
      '1|1',
    );
  }
});

test('checkpoints rotate the journal while commits keep flowing, and recovery replays what is left', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const path = `${dir}/data.db`;
  const logs: string[] = [];
  const chain = new AuditChain();
  const store = await openStore({ path, checkpointBytes: 32 * 1024, events: { onLog: (_l, _c, m) => logs.push(m) } });
  for (let i = 0; i < 20; i++) {
    await Promise.all(Array.from({ length: 25 }, () => store.commit([chain.insert({ detail: 'y'.repeat(300) })])));
  }
  // Checkpoints run in the background; on a busy machine the last one may still be going.
  for (let waited = 0; (await stat(journalPathFor(path))).size > 64 * 1024 && waited < 15_000; waited += 100) {
    await store.commit([]);
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(logs.filter((l) => l === 'checkpoint written').length >= 2, logs.join('\n'));
  assert.ok((await stat(journalPathFor(path))).size <= 64 * 1024, 'the journal was rotated');
  // Simulate a crash: copy the files as they are now, without closing.
  await writeFile(`${dir}/copy.db`, await readFile(path));
  await writeFile(`${dir}/copy.db.awj`, await readFile(journalPathFor(path)));
  await store.close();
  const copy = await openStore({ path: `${dir}/copy.db`, events: { onLog: (_l, _c, m) => logs.push(m) } });
  const snap = await copy.load();
  assert.equal(snap.audit.lastSeq, 500);
  assert.equal(snap.audit.lastHash, chain.lastHash);
  assert.ok(snap.replayed < 300, `replayed ${snap.replayed}`);
  if (snap.replayed > 0) assert.ok(logs.includes(`replayed ${snap.replayed} journal records`), logs.join('\n'));
  await copy.close();
});

test('a torn journal tail is dropped and logged; damage in the middle refuses to start', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const path = `${dir}/data.db`;
  const chain = new AuditChain();
  const store = await openStore({ path });
  for (let i = 0; i < 5; i++) await store.commit([chain.insert()]);
  const jpath = journalPathFor(path);
  const intact = await readFile(jpath);
  await writeFile(`${dir}/saved.db`, await readFile(path));
  await store.close();

  // Torn tail: a half-written sixth record after five acknowledged ones.
  await writeFile(path, await readFile(`${dir}/saved.db`));
  await writeFile(jpath, intact);
  await appendFile(jpath, Buffer.from([0x12, 0x34, 0x56, 0x78, 0x40, 0, 0, 0, 6, 0, 0]));
  const logs: string[] = [];
  const reopened = await openStore({ path, events: { onLog: (l, _c, m) => logs.push(`${l} ${m}`) } });
  const snap = await reopened.load();
  assert.equal(snap.audit.lastSeq, 5);
  assert.equal(snap.replayed, 5);
  assert.ok(
    logs.some((l) => l.startsWith('warn dropped torn journal tail: 11 bytes')),
    logs.join('\n'),
  );
  await reopened.commit([chain.insert()]);
  await reopened.close();

  // Damage in the middle: flip a byte inside the second record.
  await writeFile(path, await readFile(`${dir}/saved.db`));
  const damaged = Buffer.from(intact);
  damaged[16 + 40]! ^= 0xff;
  await writeFile(jpath, damaged);
  await assert.rejects(
    openStore({ path }),
    (e: Error) => e instanceof StoreOpenError && e.message.includes(jpath) && /middle/.test(e.message),
  );
  assert.deepEqual(await readFile(jpath), damaged, 'a refused journal is left untouched');
});

test('a damaged or foreign database file refuses to start, naming the file', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const path = `${dir}/data.db`;
  await writeFile(path, 'this is not a database, just text that is long enough to look like a header block '.repeat(3));
  await assert.rejects(
    openStore({ path }),
    (e: Error) => e instanceof StoreOpenError && e.message.includes(path) && /not a SQLite/.test(e.message),
  );

  const good = `${dir}/good.db`;
  const store = await openStore({ path: good });
  const chain = new AuditChain();
  for (let i = 0; i < 50; i++) await store.commit([chain.insert({ detail: 'z'.repeat(500) })]);
  await store.close();
  const bytes = await readFile(good);
  bytes.fill(0x5a, 4096 * 2, 4096 * 3); // wipe a b-tree page
  await writeFile(good, bytes);
  await assert.rejects(
    openStore({ path: good }),
    (e: Error) => e instanceof StoreOpenError && e.message.includes(good),
  );
  await writeFile(good, bytes.subarray(0, bytes.length - 4096));
  await assert.rejects(openStore({ path: good }), /header says/);
  await assert.rejects(
    openStore({ path: `${dir}/missing/data.db` }),
    (e: Error) => e instanceof StoreOpenError && /missing/.test(e.message),
  );
});

test('an unwritable directory is a fatal start error naming the file', async (t) => {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    // Not root: a read-only directory is enough.
    const { dir, cleanup } = await tempDir();
    await chmod(dir, 0o555);
    // Writable again before removal (after-hooks run in the order they were added).
    t.after(async () => {
      await chmod(dir, 0o755);
      await cleanup();
    });
    await assert.rejects(openStore({ path: `${dir}/data.db` }), /not writable/);
    return;
  }
  // Root ignores directory permissions, so the compiled broker starts as an unprivileged user, from a copy in a
  // readable temp dir: the checkout itself may sit where that user cannot enter.
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  await chmod(dir, 0o555);
  const app = brokerCopy(t);
  const home = await tempDir();
  t.after(home.cleanup);
  await chown(home.dir, NOBODY, NOBODY);
  const r = spawnSync(process.execPath, [join(app, 'dist', 'main.js')], {
    uid: NOBODY,
    gid: NOBODY,
    cwd: home.dir,
    encoding: 'utf8',
    timeout: 60_000,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: home.dir,
      AA_ADMIN_SECRET: ADMIN_SECRET,
      AA_PORT: '0',
      AA_DB_PATH: `${dir}/data.db`,
      AA_SIGNING_KEY_PATH: `${home.dir}/signing.key`,
    },
  });
  if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'EACCES') {
    t.skip(`uid ${NOBODY} may not run ${process.execPath}`);
    return;
  }
  assert.equal(r.status, 1, `${r.error?.message ?? ''}${r.stderr}`);
  assert.match(
    r.stderr,
    new RegExp(`^FATAL: init database: cannot open ${dir}/data\\.db: directory ${dir} is not writable`, 'm'),
  );
});

test('a database written by the Go broker opens, migrates, and keeps its data', async (t) => {
  if (!hasSqlite3) return t.skip('sqlite3 shell not installed');
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const path = `${dir}/data.db`;
  const secretHash = bcrypt.hashSync('go-secret', 4);
  const chain = new AuditChain();
  const rows = [
    chain.next({ event_type: 'admin_auth', resource: '', outcome: 'success' }),
    chain.next({ outcome: 'denied' }),
  ];
  const esc = (s: string): string => `'${s.replace(/'/g, "''")}'`;
  // The Go broker's DDL (http-api.md §18.2), apps created before the token_ttl migration existed.
  sqlite(
    path,
    `
    CREATE TABLE audit_events (id TEXT PRIMARY KEY, timestamp TEXT NOT NULL, event_type TEXT NOT NULL,
      agent_id TEXT NOT NULL DEFAULT '', task_id TEXT NOT NULL DEFAULT '', orch_id TEXT NOT NULL DEFAULT '',
      detail TEXT NOT NULL DEFAULT '', resource TEXT DEFAULT NULL, outcome TEXT DEFAULT NULL,
      deleg_depth INTEGER DEFAULT NULL, deleg_chain_hash TEXT DEFAULT NULL, bytes_transferred INTEGER DEFAULT NULL,
      hash TEXT NOT NULL, prev_hash TEXT NOT NULL);
    CREATE INDEX idx_audit_event_type ON audit_events(event_type);
    CREATE INDEX idx_audit_agent_id ON audit_events(agent_id);
    CREATE INDEX idx_audit_timestamp ON audit_events(timestamp);
    CREATE INDEX idx_audit_outcome ON audit_events(outcome);
    CREATE TABLE revocations (id INTEGER PRIMARY KEY AUTOINCREMENT, level TEXT NOT NULL, target TEXT NOT NULL,
      revoked_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP, UNIQUE(level, target));
    CREATE TABLE apps (app_id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, client_id TEXT NOT NULL UNIQUE,
      client_secret_hash TEXT NOT NULL, scope_ceiling TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'active',
      created_at TEXT NOT NULL, updated_at TEXT NOT NULL, created_by TEXT NOT NULL);
    CREATE INDEX idx_apps_client_id ON apps(client_id);
    CREATE INDEX idx_apps_status ON apps(status);
    PRAGMA journal_mode=WAL;
    ${rows
      .map(
        (
          r,
        ) => `INSERT INTO audit_events (id, timestamp, event_type, agent_id, task_id, orch_id, detail, resource, outcome, hash, prev_hash)
      VALUES (${[r.id, r.timestamp, r.event_type, r.agent_id, r.task_id, r.orch_id, r.detail].map(esc).join(',')},
      NULL, ${esc(r.outcome)}, ${esc(r.hash)}, ${esc(r.prev_hash)});`,
      )
      .join('\n')}
    INSERT INTO revocations (level, target) VALUES ('token', 'jti-go');
    INSERT INTO apps VALUES ('app-weather-bot-a1b2c3', 'weather-bot', 'wb-0123456789ab', ${esc(secretHash)},
      '["read:weather:*"]', 'active', '2025-01-01T00:00:00.123456789Z', '2025-01-01T00:00:00.123456789Z', 'admin');
  `,
  );
  const store = await openStore({ path });
  const snap = await store.load();
  assert.deepEqual(snap.audit, { count: 2, lastSeq: 2, lastHash: chain.lastHash });
  assert.equal(snap.revocations[0]!.target, 'jti-go');
  assert.equal(snap.revocations[0]!.expires_at, null, 'Go revocations never expire');
  assert.match(snap.revocations[0]!.revoked_at, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  const app = snap.apps[0]!;
  assert.deepEqual([app.token_ttl, app.scope_ceiling, app.deregistered_at], [1800, ['read:weather:*'], null]);
  assert.ok(bcrypt.compareSync('go-secret', app.client_secret_hash));
  const page = await store.queryAudit({ limit: 10, offset: 0 });
  assert.deepEqual(
    page.events.map((e) => [e.id, e.seq, e.resource]),
    [
      ['evt-000001', 1, ''],
      ['evt-000002', 2, ''],
    ],
  );
  await store.commit([chain.insert()]);
  await store.close();
  assert.equal(sqlite(path, 'PRAGMA integrity_check'), 'ok');
  assert.equal(sqlite(path, 'SELECT id, seq FROM audit_events ORDER BY seq DESC LIMIT 1'), 'evt-000003|3');
  assert.equal(sqlite(path, 'SELECT token_ttl FROM apps'), '1800');
});
