/**
 * `agentwrit-broker migrate --from` on a database the Go broker wrote: a SQLite file holding only the Go broker's
 * tables (its DDL, as src/store/schema.ts carries it) and rows, none of this broker's tables or columns. The compiled
 * CLI copies it into a fresh PostgreSQL database; the rows arrive, the chain verifies, and a broker on that database
 * lets the imported app log in and serves the imported audit trail with its chain continued.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import bcrypt from 'bcryptjs';
import postgres from 'postgres';
import { ensureBuilt } from '../../scripts/broker-process.mjs';
import { awrit } from '../cli/awrit.js';
import { ADMIN_SECRET, startTestBroker } from '../helpers/broker.js';
import { type PgCluster, pgSkip, startPostgres } from '../helpers/postgres.js';
import { AuditChain, tempDir } from './store-fixtures.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SQLITE3 = 'sqlite3';
const hasSqlite3 = spawnSync(SQLITE3, ['-version']).status === 0;
const skip = pgSkip !== false ? pgSkip : hasSqlite3 ? false : 'sqlite3 shell not installed';

/** The Go broker's DDL, read from the one place this broker keeps it, so the fixture cannot drift from it. */
function goSchema(): string {
  const src = readFileSync(join(ROOT, 'src/store/schema.ts'), 'utf8');
  const ddl = /const GO_SCHEMA = `([^`]+)`;/.exec(src)?.[1];
  assert.ok(ddl !== undefined, 'GO_SCHEMA found in src/store/schema.ts');
  return ddl;
}

function sqlite(path: string, sql: string): string {
  const r = spawnSync(SQLITE3, [path, sql], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout.trim();
}

function runMigrate(from: string, url: string): Promise<{ code: number | null; out: string }> {
  ensureBuilt();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin/broker'), 'migrate', '--from', from], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', AA_DATABASE_URL: url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, out }));
  });
}

const esc = (v: string | number | null): string =>
  v === null ? 'NULL' : typeof v === 'number' ? String(v) : `'${v.replace(/'/g, "''")}'`;

let pg: PgCluster;
before(async () => {
  if (skip === false) pg = await startPostgres();
});
after(() => pg?.stop());

test('migrate --from a Go broker database: rows copied, chain verified, the app logs in on PostgreSQL', {
  skip,
}, async (t) => {
  const tmp = await tempDir();
  t.after(tmp.cleanup);
  const path = join(tmp.dir, 'data.db');
  const appSecret = 'go-app-secret-4f1e9a';

  // The Go broker's rows: apps with bcrypt secrets, revocations with its DATETIME default, audit events chained by
  // hash whose sequence number is only in the id, and NULLs where its older rows have them.
  const chain = new AuditChain();
  const events = [
    chain.next({ event_type: 'admin_auth', agent_id: '', task_id: '', orch_id: '', detail: 'admin authenticated' }),
    chain.next({ event_type: 'app_registered', agent_id: '', detail: 'app_id=app-weather-bot-a1b2c3' }),
    chain.next({ event_type: 'token_issued', resource: 'weather', deleg_depth: 1, deleg_chain_hash: 'ab'.repeat(32) }),
    chain.next({ event_type: 'token_revoked', outcome: 'success', bytes_transferred: 512 }),
    chain.next({ event_type: 'admin_auth', outcome: 'denied', detail: 'invalid secret' }),
  ];
  // Rows the Go broker wrote before the optional columns were filled store NULL there; the hash covers '' and 0.
  const nullable = (v: string | number, empty: string | number): string | number | null => (v === empty ? null : v);
  const apps = [
    [
      'app-weather-bot-a1b2c3',
      'weather-bot',
      'wb-0123456789ab',
      bcrypt.hashSync(appSecret, 4),
      '["read:weather:*"]',
      600,
    ],
    ['app-old-tool-d4e5f6', 'old-tool', 'ot-0123456789ab', bcrypt.hashSync('other', 4), '["read:data:*"]', 1800],
  ] as const;
  sqlite(
    path,
    `${goSchema()}
    PRAGMA journal_mode=WAL;
    ${events
      .map(
        (e) =>
          `INSERT INTO audit_events (id, timestamp, event_type, agent_id, task_id, orch_id, detail, resource, outcome,
            deleg_depth, deleg_chain_hash, bytes_transferred, hash, prev_hash) VALUES (${[
              e.id,
              e.timestamp,
              e.event_type,
              e.agent_id,
              e.task_id,
              e.orch_id,
              e.detail,
              nullable(e.resource, ''),
              nullable(e.outcome, ''),
              nullable(e.deleg_depth, 0),
              nullable(e.deleg_chain_hash, ''),
              nullable(e.bytes_transferred, 0),
              e.hash,
              e.prev_hash,
            ]
              .map(esc)
              .join(', ')});`,
      )
      .join('\n')}
    INSERT INTO revocations (level, target) VALUES ('token', 'jti-go-0001');
    INSERT INTO revocations (level, target, revoked_at)
      VALUES ('agent', 'spiffe://agentwrit.local/agent/orch/task/go', '2025-01-01 00:00:05');
    ${apps
      .map(
        (a) => `INSERT INTO apps (app_id, name, client_id, client_secret_hash, scope_ceiling, token_ttl, status,
          created_at, updated_at, created_by) VALUES (${a.map(esc).join(', ')}, 'active',
          '2025-01-01T00:00:00.123456789Z', '2025-01-01T00:00:00.123456789Z', 'admin');`,
      )
      .join('\n')}
  `,
  );
  // Only the Go broker's tables are in the file.
  assert.equal(
    sqlite(
      path,
      "SELECT group_concat(name, ',') FROM (SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name)",
    ),
    'apps,audit_events,revocations,sqlite_sequence',
  );
  const goRows = (): string =>
    sqlite(
      path,
      `SELECT app_id, client_secret_hash, scope_ceiling, token_ttl FROM apps ORDER BY app_id;
       SELECT id, level, target, revoked_at FROM revocations ORDER BY id;
       SELECT id, hash, prev_hash, resource IS NULL FROM audit_events ORDER BY id;`,
    );
  const before = goRows();

  const url = await pg.createDatabase();
  const migrated = await runMigrate(path, url);
  assert.equal(migrated.code, 0, migrated.out);
  assert.match(
    migrated.out,
    /^migrated .*data\.db: apps=2 revocations=2 launch_tokens=0 agents=0 issued_tokens=0 signing_keys=0 audit_anchor=0 audit_events=5\n/,
  );
  assert.match(migrated.out, /audit chain verified: 5 events, last seq 5\n$/);
  // The Go broker's rows in the source are as they were (this broker only adds its own tables and columns).
  assert.equal(goRows(), before);

  // The rows arrived as they were.
  const sql = postgres(url, { max: 1, onnotice: () => undefined });
  try {
    const pgApps = await sql`SELECT app_id, name, client_id, client_secret_hash, scope_ceiling, token_ttl, status,
      deregistered_at FROM apps ORDER BY app_id`;
    assert.deepEqual(
      pgApps.map((r) => ({ ...r })),
      [...apps]
        .sort((a, b) => a[0].localeCompare(b[0]))
        .map(([app_id, name, client_id, client_secret_hash, scope_ceiling, token_ttl]) => ({
          app_id,
          name,
          client_id,
          client_secret_hash,
          scope_ceiling,
          token_ttl,
          status: 'active',
          deregistered_at: null,
        })),
    );
    const revs = await sql`SELECT id, level, target, revoked_at, expires_at FROM revocations ORDER BY id`;
    assert.deepEqual(
      revs.map((r) => [Number(r.id), r.level, r.target, r.expires_at]),
      [
        [1, 'token', 'jti-go-0001', null],
        [2, 'agent', 'spiffe://agentwrit.local/agent/orch/task/go', null],
      ],
    );
    assert.match(revs[0]!.revoked_at, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/, 'the Go DATETIME text, unchanged');
    assert.equal(revs[1]!.revoked_at, '2025-01-01 00:00:05');
    const audit = await sql`SELECT id, seq, hash, prev_hash, resource, deleg_depth FROM audit_events ORDER BY seq`;
    assert.deepEqual(
      audit.map((r) => [r.id, Number(r.seq), r.hash, r.prev_hash]),
      events.map((e) => [e.id, e.seq, e.hash, e.prev_hash]),
    );
    assert.deepEqual(
      audit.map((r) => [r.resource, r.deleg_depth]),
      [
        [null, null],
        [null, null],
        ['weather', 1],
        [null, null],
        [null, null],
      ],
    );
  } finally {
    await sql.end();
  }

  // A broker on that database: the Go app logs in with its secret, the trail is served and its chain continues.
  const b = await startTestBroker(t, { env: { AA_DATABASE_URL: url } });
  const login = await b.req('/v1/app/auth', { body: { client_id: 'wb-0123456789ab', client_secret: appSecret } });
  assert.equal(login.status, 200, login.text);
  assert.equal(typeof login.json.access_token, 'string');
  const wrong = await b.req('/v1/app/auth', { body: { client_id: 'wb-0123456789ab', client_secret: 'nope' } });
  assert.equal(wrong.status, 401, wrong.text);
  const admin = await b.adminToken();
  const app = await b.req('/v1/admin/apps/app-weather-bot-a1b2c3', { token: admin });
  assert.equal(app.status, 200, app.text);
  assert.equal(app.json.token_ttl, 600);
  const trail = (await b.req('/v1/audit/events?limit=100', { token: admin })).json;
  assert.ok(trail.total > events.length, 'the logins were recorded after the imported events');
  assert.deepEqual(
    trail.events.slice(0, events.length).map((e: { id: string }) => e.id),
    events.map((e) => e.id),
  );
  assert.equal(trail.events[events.length].id, 'evt-000006');
  // The whole chain, imported events and new ones, verifies through the broker.
  const verify = await awrit(['audit', 'verify'], {
    env: { AACTL_BROKER_URL: b.url, AACTL_ADMIN_SECRET: ADMIN_SECRET },
  });
  assert.equal(verify.code, 0, verify.stdout + verify.stderr);
  // (awrit's own admin login is one more event.)
  const verified = /^verified (\d+) events; chain intact/.exec(verify.stdout);
  assert.ok(verified !== null && Number(verified[1]) >= trail.total, verify.stdout);
});
