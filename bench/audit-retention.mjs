/**
 * Memory and startup with audit retention: a trail many times the retained window (BENCH_HISTORY old events plus
 * BENCH_WINDOW recent ones), measured against the compiled broker
 *   1. without retention (everything in the database),
 *   2. with AA_AUDIT_RETENTION=30d: the first start, the archive run that moves the history into segments, and the
 *      restart after it,
 *   3. a database that only ever held the window (the reference).
 * Run: npm run build && node bench/audit-retention.mjs   (BENCH_HISTORY, default 300000; BENCH_WINDOW, default 30000)
 */
import { spawn } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import initSqlJs from 'sql.js';
import { establishAuditState } from '../dist/store/queries.js';
import { ensureSchema } from '../dist/store/schema.js';
import { row } from './audit-db.mjs';

const HISTORY = Number(process.env.BENCH_HISTORY ?? 300_000);
const WINDOW = Number(process.env.BENCH_WINDOW ?? 30_000);
const SECRET = 'retention-bench-secret-0123456789';
const MAIN = new URL('../dist/main.js', import.meta.url).pathname;

/** `history` events from 2023 and `window` events from the last day, chained in one sequence. */
async function buildDatabase(path, history, window) {
  const SQL = await initSqlJs();
  const db = new SQL.Database();
  ensureSchema(db);
  db.exec('BEGIN');
  const st = db.prepare(
    `INSERT INTO audit_events (id, timestamp, event_type, agent_id, task_id, orch_id, detail, outcome, hash, prev_hash, seq)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const recentStart = Date.now() - 86_400_000;
  let prev = '0'.repeat(64);
  for (let seq = 1; seq <= history + window; seq++) {
    const r = row(seq, prev);
    if (seq > history) r.timestamp = new Date(recentStart + (seq - history) * 2).toISOString();
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
    prev = r.hash;
  }
  st.free();
  db.exec('COMMIT');
  establishAuditState(db);
  writeFileSync(path, db.export());
  db.close();
}

function post(port, path, body, token) {
  const payload = body === undefined ? '' : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'Content-Length': Buffer.byteLength(payload),
          ...(token ? { Authorization: `Bearer ${token}` } : {}),
        },
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString() }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

const rssMiB = (pid, field = 'VmRSS') => {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : Number.NaN;
};
const mb = (bytes) => (bytes / 1e6).toFixed(0);

const children = new Set();

/** Starts the broker on `dir`; resolves once it listens, with its port and the startup time. */
async function start(dir, env = {}) {
  const started = performance.now();
  const child = spawn(process.execPath, [MAIN], {
    env: {
      PATH: process.env.PATH,
      AA_ADMIN_SECRET: SECRET,
      AA_PORT: '0',
      AA_LOG_LEVEL: 'quiet',
      AA_ADMIN_TOKEN_TTL: '3600',
      AA_DB_PATH: join(dir, 'data.db'),
      AA_SIGNING_KEY_PATH: join(dir, 'signing.key'),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.add(child);
  child.on('exit', () => children.delete(child));
  let out = '';
  const port = await new Promise((resolve, reject) => {
    child.on('exit', (code) => reject(new Error(`broker exited ${code}`)));
    child.stdout.on('data', (c) => {
      out += c.toString();
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
  });
  const startupMs = performance.now() - started;
  // Let the background work of the start (crypto warm-up, a first checkpoint) finish before reading RSS.
  await new Promise((r) => setTimeout(r, 1500));
  return {
    port,
    startupMs,
    rss: rssMiB(child.pid),
    async stop() {
      const exited = new Promise((r) => child.on('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
    pid: child.pid,
  };
}

const rows = [];
const report = (phase, b, extra = '') =>
  rows.push(
    `| ${phase.padEnd(44)} | ${String(Math.round(b.startupMs)).padStart(7)} | ${String(b.rss).padStart(7)} | ${extra}`,
  );

const root = mkdtempSync(join(tmpdir(), 'awretention-'));
try {
  const full = join(root, 'full.db');
  let t = performance.now();
  await buildDatabase(full, HISTORY, WINDOW);
  console.log(
    `built ${HISTORY + WINDOW} events (${mb(statSync(full).size)} MB) in ${((performance.now() - t) / 1000).toFixed(1)} s`,
  );
  const windowOnly = join(root, 'window.db');
  await buildDatabase(windowOnly, 0, WINDOW);

  // 1. Everything stays in the database.
  const keep = join(root, 'keep');
  mkdirSync(keep);
  copyFileSync(full, join(keep, 'data.db'));
  let b = await start(keep);
  report(`no retention, ${HISTORY + WINDOW} events`, b, `db ${mb(statSync(join(keep, 'data.db')).size)} MB`);
  await b.stop();

  // 2. Retention 30d: the history moves into segments, then a restart.
  const ret = join(root, 'ret');
  mkdirSync(ret);
  copyFileSync(full, join(ret, 'data.db'));
  const env = { AA_AUDIT_RETENTION: '30d', AA_AUDIT_ARCHIVE_DIR: join(ret, 'archive') };
  b = await start(ret, env);
  report(`retention 30d, first start (${HISTORY + WINDOW} events)`, b);
  const token = JSON.parse((await post(b.port, '/v1/admin/auth', { secret: SECRET })).body).access_token;
  t = performance.now();
  const run = { archived: 0, calls: 0 };
  for (let more = true; more; run.calls++) {
    const body = JSON.parse((await post(b.port, '/v1/admin/audit/archive', undefined, token)).body);
    run.archived += body.archived;
    more = body.more;
  }
  const runMs = performance.now() - t;
  const peak = rssMiB(b.pid, 'VmHWM');
  await b.stop();
  const segs = readdirSync(join(ret, 'archive'));
  const archiveBytes = segs.reduce((n, f) => n + statSync(join(ret, 'archive', f)).size, 0);
  console.log(
    `archive: ${run.archived} events in ${run.calls} calls into ${segs.length} segments (${mb(archiveBytes)} MB gzip) in ${(runMs / 1000).toFixed(1)} s; peak RSS ${peak} MiB`,
  );
  b = await start(ret, env);
  report('retention 30d, restart after archiving', b, `db ${mb(statSync(join(ret, 'data.db')).size)} MB`);
  await b.stop();

  // 3. The reference: only the window, ever.
  const ref = join(root, 'ref');
  mkdirSync(ref);
  copyFileSync(windowOnly, join(ref, 'data.db'));
  b = await start(ref);
  report(`reference: ${WINDOW} events only`, b, `db ${mb(statSync(join(ref, 'data.db')).size)} MB`);
  await b.stop();

  console.log('');
  console.log(`| ${'phase'.padEnd(44)} | startup ms | RSS MiB | database`);
  console.log(`|${'-'.repeat(46)}|---------|---------|---------`);
  for (const r of rows) console.log(r);
} finally {
  for (const child of children) child.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
}
