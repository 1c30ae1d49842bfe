/**
 * `npm run bench`: the broker's routes against a raw node:http server, on loopback, with the same concurrency.
 *
 *  1. tweetnacl ceiling: one "verify + sign" pair per core, all cores at once (the register target's baseline).
 *  2. Plain HTTP: the raw server, then the compiled broker (dist/main.js) in a child process: every route for a few
 *     seconds, with req/s, p50/p99, CPU per request (whole process, event-loop thread, crypto workers) and RSS.
 *  3. Validate while registrations run (p99 of validate when crypto is busy).
 *  4. TLS: the raw https server and the broker with AA_TLS_MODE=tls, the same routes.
 *  5. 1 M audit events: the broker on a pre-built database, the state-touching routes again.
 *
 *  6. AA_ED25519=tweetnacl: register and renew with the pure-JavaScript engine (and its ceiling beside it).
 *  7. PostgreSQL: one broker on a throwaway PostgreSQL cluster (the machine's binaries, as the tests start it), the
 *     state-touching routes, compared with the sql.js numbers of phase 2.
 *
 * Environment: AA_ED25519 (engine of phases 2-5, default native), BENCH_NACL=0 skips phase 6, BENCH_SECONDS (per route, default 3), BENCH_CONNECTIONS (default 32), BENCH_AUDIT_ROWS (default
 * 1000000; 0 skips phase 5), BENCH_TLS=0 skips phase 4, BENCH_PG=0 skips phase 7 (BENCH_DATABASE_URL uses that
 * empty database instead of a throwaway cluster). Traffic goes to 127.0.0.1 only; every child is stopped.
 */

import { execFileSync, spawn } from 'node:child_process';
import { sign as edSign, generateKeyPairSync, randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { copyFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import autocannon from 'autocannon';
import { ensureBuilt, ROOT, startBroker as spawnBroker, waitForBanner } from '../scripts/broker-process.mjs';
import { ensureAuditDatabase } from './audit-db.mjs';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const AUDIT_ROWS = Number(process.env.BENCH_AUDIT_ROWS ?? 1_000_000);
const WITH_TLS = process.env.BENCH_TLS !== '0';
const RAW_SECONDS = Number(process.env.BENCH_RAW_SECONDS ?? 1);
const CORES = availableParallelism();
// The engine of the main phases; the tweetnacl phase always runs too (BENCH_NACL=0 skips it).
const DEFAULT_ENGINE = process.env.AA_ED25519 || 'native';
const WITH_NACL_PHASE = process.env.BENCH_NACL !== '0' && DEFAULT_ENGINE !== 'tweetnacl';
const ADMIN_SECRET = 'bench-admin-secret-0123456789abcdef';
const TICK_US = 1e6 / 100; // /proc CPU times are in USER_HZ = 100 ticks per second on Linux
const started = performance.now();

const children = new Set();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

// ---------------------------------------------------------------------------------------------------------------
// Processes

/** Resolves once `child` prints its banner, with its port and how long the start took from `t0`. */
async function listening(label, child, t0) {
  children.add(child);
  child.once('exit', () => children.delete(child));
  let banner;
  try {
    banner = await waitForBanner(child);
  } catch (err) {
    throw new Error(`${label}: ${err.message}`);
  }
  const startupMs = performance.now() - t0;
  if (process.env.BENCH_BROKER_LOG) child.stdout.pipe(createWriteStream(process.env.BENCH_BROKER_LOG, { flags: 'a' }));
  else child.stdout.resume();
  child.stderr.resume();
  return { child, pid: child.pid, port: banner.port, startupMs };
}

async function stop(server) {
  if (server.child.exitCode !== null) return;
  const exited = new Promise((r) => server.child.once('exit', r));
  server.child.kill('SIGTERM');
  await Promise.race([exited, sleep(15_000)]);
  if (server.child.exitCode === null) server.child.kill('SIGKILL');
}

function startRaw(tls) {
  const env = { PATH: process.env.PATH ?? '' };
  if (tls) Object.assign(env, { RAW_TLS_CERT: tls.cert, RAW_TLS_KEY: tls.key });
  const t0 = performance.now();
  const child = spawn(process.execPath, [join(ROOT, 'bench/raw-server.mjs')], {
    cwd: ROOT,
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  return listening('raw server', child, t0);
}

function startBroker(dir, tls, engine, extraEnv = {}) {
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: dir,
    AA_PORT: '0',
    AA_BIND_ADDRESS: '127.0.0.1',
    AA_DB_PATH: join(dir, 'data.db'),
    AA_SIGNING_KEY_PATH: join(dir, 'signing.key'),
    AA_LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'quiet',
    AA_ADMIN_SECRET: ADMIN_SECRET,
    AA_ADMIN_TOKEN_TTL: '7200',
    AA_ED25519: engine ?? DEFAULT_ENGINE,
    ...extraEnv,
  };
  if (tls) Object.assign(env, { AA_TLS_MODE: 'tls', AA_TLS_CERT: tls.cert, AA_TLS_KEY: tls.key });
  const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROFILE] : [];
  const t0 = performance.now();
  return listening('broker', spawnBroker(env, { nodeArgs: profile }), t0);
}

function makeCert(dir) {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ],
    { stdio: 'pipe' },
  );
  return { cert, key };
}

/** utime+stime of every thread of `pid`, in ticks, keyed by thread id. */
function threadTicks(pid) {
  const out = new Map();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(Number(tid), Number(f[11]) + Number(f[12]));
    } catch {
      // thread exited meanwhile
    }
  }
  return out;
}

function memory(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rssMiB: kb('VmRSS') / 1024, peakMiB: kb('VmHWM') / 1024 };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------------------------
// A tiny client for setup

function client(port, tls) {
  const mod = tls ? https : http;
  const agent = new mod.Agent({ keepAlive: true, maxSockets: 16, rejectUnauthorized: false });
  return (method, path, { body, token } = {}) =>
    new Promise((resolve, reject) => {
      const data = body === undefined ? undefined : JSON.stringify(body);
      const headers = {};
      if (data !== undefined)
        Object.assign(headers, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) });
      if (token) headers.Authorization = `Bearer ${token}`;
      const req = mod.request(
        { host: '127.0.0.1', port, method, path, headers, agent, rejectUnauthorized: false },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d) => (text += d));
          res.on('end', () => {
            let json;
            try {
              json = JSON.parse(text);
            } catch {
              json = undefined;
            }
            resolve({ status: res.statusCode, json, text });
          });
        },
      );
      req.on('error', reject);
      req.end(data);
    });
}

/** An agent key held by the load generator: node:crypto Ed25519, so the client's signatures cost microseconds. */
function agentKey() {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  return { privateKey, publicKeyB64: raw.toString('base64') };
}

function registerBody(launchToken, key, nonce, i) {
  const signature = edSign(null, Buffer.from(nonce, 'hex'), key.privateKey).toString('base64');
  return JSON.stringify({
    launch_token: launchToken,
    nonce,
    public_key: key.publicKeyB64,
    signature,
    orch_id: 'bench',
    task_id: `t${i % 1000}`,
    requested_scope: ['read:data:*', 'write:data:*'],
  });
}

async function setUp(call) {
  const admin = await call('POST', '/v1/admin/auth', { body: { secret: ADMIN_SECRET } });
  if (admin.status !== 200) throw new Error(`admin auth: ${admin.status} ${admin.text}`);
  const adminToken = admin.json.access_token;
  const lt = await call('POST', '/v1/admin/launch-tokens', {
    token: adminToken,
    body: {
      agent_name: 'bench',
      allowed_scope: ['read:data:*', 'write:data:*'],
      max_ttl: 3600,
      single_use: false,
      ttl: 7200,
    },
  });
  if (lt.status !== 201) throw new Error(`launch token: ${lt.status} ${lt.text}`);
  const launchToken = lt.json.launch_token;
  const keys = Array.from({ length: 8 }, agentKey);
  let n = 0;
  const registerOne = async () => {
    const i = n++;
    const ch = await call('GET', '/v1/challenge');
    const key = keys[i % keys.length];
    const r = await call('POST', '/v1/register', {
      body: JSON.parse(registerBody(launchToken, key, ch.json.nonce, i)),
    });
    if (r.status !== 200) throw new Error(`register: ${r.status} ${r.text}`);
    return { agentId: r.json.agent_id, token: r.json.access_token };
  };
  const agents = [];
  const wanted = CONNECTIONS + 2;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (agents.length < wanted) agents.push(await registerOne());
    }),
  );
  return { adminToken, launchToken, keys, agents };
}

// ---------------------------------------------------------------------------------------------------------------
// Load

const pct = (sorted, p) =>
  sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];

/**
 * One route: `spec.requests(state)` gives autocannon's request list (with their own success counting);
 * returns req/s, latency and the broker's CPU split per request.
 */
async function drive(target, spec, opts = {}) {
  const seconds = opts.seconds ?? SECONDS;
  const counters = { ok: 0, bad: 0, flowLatencies: [] };
  const requests = spec.requests(counters);
  const before = target.pid ? threadTicks(target.pid) : null;
  const result = await autocannon({
    url: `${target.tls ? 'https' : 'http'}://127.0.0.1:${target.port}`,
    connections: opts.connections ?? CONNECTIONS,
    duration: seconds,
    requests,
    timeout: 30,
  });
  const after = target.pid ? threadTicks(target.pid) : null;
  const elapsed = result.duration || seconds;
  // Operations: for multi-request flows (register) the flows completed; otherwise 2xx responses.
  const ops = spec.flow ? counters.ok : result['2xx'];
  const errors = result.non2xx + result.errors + result.timeouts + (spec.flow ? counters.bad : 0);
  const out = {
    name: spec.name,
    rps: ops / elapsed,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors,
    ops,
    ed25519: spec.ed25519 ?? 0,
  };
  if (spec.flow) {
    const lat = counters.flowLatencies.sort((a, b) => a - b);
    out.p50 = pct(lat, 0.5);
    out.p99 = pct(lat, 0.99);
  }
  if (before && after && ops > 0) {
    let total = 0;
    let loop = 0;
    let crypto = 0;
    if (process.env.BENCH_DEBUG) {
      const d = [...after].map(
        ([tid, t]) =>
          `${tid}${tid === target.pid ? 'M' : target.cryptoTids?.has(tid) ? 'C' : ''}:${t - (before.get(tid) ?? 0)}`,
      );
      console.log(spec.name, d.filter((x) => !x.endsWith(':0')).join(' '));
    }
    for (const [tid, t] of after) {
      const d = t - (before.get(tid) ?? 0);
      total += d;
      if (tid === target.pid) loop += d;
      else if (target.cryptoTids?.has(tid)) crypto += d;
    }
    out.cpuUs = (total * TICK_US) / ops;
    out.loopUs = (loop * TICK_US) / ops;
    out.cryptoUs = (crypto * TICK_US) / ops;
    out.otherUs = ((total - loop - crypto) * TICK_US) / ops;
    out.rssMiB = memory(target.pid).rssMiB;
  } else if (before && after) {
    out.cpuUs = Number.NaN;
  }
  if (target.pid && ops === 0) out.rssMiB = memory(target.pid).rssMiB;
  if (!target.pid) {
    /* raw server: pid is set too; this branch is for completeness */
  }
  return out;
}

const json = (o) => JSON.stringify(o);

/** Route specs against a broker whose fixtures are `f`. */
function routeSpecs(f) {
  const validateKnown = json({ token: f.agents[0].token });
  const forged = f.agents[0].token.slice(0, -6) + (f.agents[0].token.endsWith('AAAAAA') ? 'BBBBBB' : 'AAAAAA');
  const post = (path, body, extra = {}) => ({
    method: 'POST',
    path,
    body,
    headers: { 'content-type': 'application/json', ...extra },
  });
  const bearer = (t) => ({ authorization: `Bearer ${t}` });
  const renewQueue = f.agents.slice(2).map((a) => a.token);
  let revokeSeq = 0;
  return {
    health: { name: 'health', requests: () => [{ method: 'GET', path: '/v1/health' }] },
    metrics: { name: 'metrics', requests: () => [{ method: 'GET', path: '/v1/metrics' }] },
    validateKnown: { name: 'validate (known token)', requests: () => [post('/v1/token/validate', validateKnown)] },
    validateGarbage: {
      name: 'validate (garbage token)',
      requests: () => [post('/v1/token/validate', json({ token: 'garbage-not-a-jwt' }))],
    },
    validateForged: {
      name: 'validate (forged signature)',
      ed25519: 1,
      requests: () => [post('/v1/token/validate', json({ token: forged }))],
    },
    renew: {
      name: 'renew',
      ed25519: 1,
      // Renewal consumes the token it renews: a shared queue of live tokens, each answer puts its new token back.
      requests: () => [
        {
          method: 'POST',
          path: '/v1/token/renew',
          setupRequest: (req) => ({ ...req, headers: bearer(renewQueue.shift() ?? 'exhausted') }),
          onResponse: (status, body) => {
            if (status === 200) renewQueue.push(JSON.parse(body).access_token);
          },
        },
      ],
    },
    register: {
      name: 'register (challenge + register)',
      ed25519: 2,
      flow: true,
      requests: (c) => {
        let i = 0;
        return [
          {
            method: 'GET',
            path: '/v1/challenge',
            setupRequest: (req, ctx) => {
              ctx.t0 = performance.now();
              return req;
            },
            onResponse: (status, body, ctx) => {
              ctx.nonce = status === 200 ? JSON.parse(body).nonce : '00';
            },
          },
          {
            method: 'POST',
            path: '/v1/register',
            headers: { 'content-type': 'application/json' },
            setupRequest: (req, ctx) => ({
              ...req,
              body: registerBody(f.launchToken, f.keys[i % f.keys.length], ctx.nonce ?? '00', i++),
            }),
            onResponse: (status, _body, ctx) => {
              if (status === 200) {
                c.ok++;
                c.flowLatencies.push(performance.now() - ctx.t0);
              } else c.bad++;
            },
          },
        ];
      },
    },
    delegate: {
      name: 'delegate',
      ed25519: 2,
      requests: () => [
        post(
          '/v1/delegate',
          json({ delegate_to: f.agents[1].agentId, scope: ['read:data:*'], ttl: 60 }),
          bearer(f.agents[0].token),
        ),
      ],
    },
    revoke: {
      name: 'revoke',
      requests: () => [
        {
          ...post('/v1/revoke', '', bearer(f.adminToken)),
          setupRequest: (req) => ({
            ...req,
            body: json({ level: 'token', target: `bench-jti-${randomBytes(4).toString('hex')}-${revokeSeq++}` }),
          }),
        },
      ],
    },
    audit: {
      name: 'audit query (first 100)',
      requests: () => [{ method: 'GET', path: '/v1/audit/events?limit=100', headers: bearer(f.adminToken) }],
    },
    auditFiltered: {
      name: 'audit query (one agent)',
      requests: () => [
        {
          method: 'GET',
          path: `/v1/audit/events?agent_id=${encodeURIComponent(f.agents[0].agentId)}&limit=100`,
          headers: bearer(f.adminToken),
        },
      ],
    },
  };
}

const RAW_SPECS = {
  GET: { name: 'raw node:http GET', requests: () => [{ method: 'GET', path: '/v1/health' }] },
  POST: {
    name: 'raw node:http POST',
    requests: () => [
      {
        method: 'POST',
        path: '/v1/token/validate',
        body: json({ token: 'x'.repeat(420) }),
        headers: { 'content-type': 'application/json' },
      },
    ],
  },
};
const rawMethodOf = (spec) =>
  spec.name.startsWith('health') || spec.name.startsWith('metrics') || spec.name.startsWith('audit') ? 'GET' : 'POST';

/**
 * The Ed25519 worker threads: the ones other than the event loop that burn CPU while only forged signatures are
 * checked. None when the engine runs on the event loop (native), so the crypto column is then 0 and the loop
 * column includes Ed25519.
 */
async function findCryptoThreads(target, specs) {
  const before = threadTicks(target.pid);
  await autocannon({
    url: `${target.tls ? 'https' : 'http'}://127.0.0.1:${target.port}`,
    connections: 8,
    duration: 1,
    requests: specs.validateForged.requests(),
  });
  const after = threadTicks(target.pid);
  return new Set(
    [...after].filter(([tid, t]) => tid !== target.pid && t - (before.get(tid) ?? 0) >= 20).map(([tid]) => tid),
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Output

const fmt = (n, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : '-');
function table(title, header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) =>
    `| ${cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join(' | ')} |`;
  console.log(`\n${title}`);
  console.log(line(header));
  console.log(`|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 1) : `${'-'.repeat(w + 1)}:`)).join('|')}|`);
  for (const r of rows) console.log(line(r));
}

/** Overhead beyond Ed25519: whole-process CPU per request, less the crypto workers', less the raw server's. */
const overheadOf = (r) => r.cpuUs - r.cryptoUs - r.raw.cpuUs;

function routeTable(title, results) {
  const header = [
    'route',
    'req/s',
    'raw req/s',
    'vs raw',
    'p50 ms',
    'p99 ms',
    'CPU µs/req',
    'loop',
    'crypto',
    'other',
    'raw CPU',
    'overhead µs',
    'errors',
  ];
  const rows = results.map((r) => [
    r.name,
    fmt(r.rps),
    fmt(r.raw.rps),
    `${fmt((100 * r.rps) / r.raw.rps, r.rps < 0.1 * r.raw.rps ? 1 : 0)}%`,
    fmt(r.p50, 1),
    fmt(r.p99, 1),
    fmt(r.cpuUs),
    fmt(r.loopUs),
    fmt(r.cryptoUs),
    fmt(r.otherUs),
    fmt(r.raw.cpuUs),
    fmt(overheadOf(r)),
    r.errors,
  ]);
  table(title, header, rows);
}

// ---------------------------------------------------------------------------------------------------------------
// Phases

async function naclCeiling() {
  const ms = 2000;
  const results = await Promise.all(
    Array.from({ length: CORES }, () => {
      const w = new Worker(new URL('./nacl-worker.mjs', import.meta.url), { workerData: { ms } });
      return new Promise((resolve, reject) => {
        w.once('message', resolve);
        w.once('error', reject);
      }).finally(() => w.terminate());
    }),
  );
  const pairs = results.reduce((a, r) => a + r.pairs, 0);
  const signMs = results.reduce((a, r) => a + r.signMs, 0) / pairs;
  const verifyMs = results.reduce((a, r) => a + r.verifyMs, 0) / pairs;
  return { pairsPerSec: pairs / (ms / 1000), signMs, verifyMs };
}

/**
 * The broker, with the raw server running beside it: before each route the raw server gets the same load for a
 * moment, so every ratio compares two measurements taken seconds apart (these machines are shared and their
 * speed drifts by tens of percent within a minute).
 */
async function brokerPhase({ label, dir, tls, routes, seconds, beforeRoute, engine, env }) {
  const rawServer = await startRaw(tls);
  const raw = { ...rawServer, tls: Boolean(tls) };
  const broker = await startBroker(dir, tls, engine, env);
  const target = { ...broker, tls: Boolean(tls) };
  const call = client(broker.port, Boolean(tls));
  try {
    const f = await setUp(call);
    const specs = routeSpecs(f);
    target.cryptoTids = await findCryptoThreads(target, specs);
    // Warm-up: the first second of a fresh process runs unoptimized code and would flatter whoever goes second.
    for (const m of ['GET', 'POST']) await drive(raw, RAW_SPECS[m], { seconds: 1 });
    await drive(target, specs.validateKnown, { seconds: 1 });
    const results = [];
    for (const key of routes) {
      const spec = specs[key];
      const rawMethod = rawMethodOf(spec);
      const extra = beforeRoute ? await beforeRoute(key) : {};
      const rawResult = await drive(raw, RAW_SPECS[rawMethod], { seconds: RAW_SECONDS });
      const r = await drive(target, spec, { seconds });
      Object.assign(r, { raw: rawResult, ...extra });
      results.push(r);
      await sleep(200);
    }
    const health = await call('GET', '/v1/health');
    const mem = memory(broker.pid);
    return {
      label,
      results,
      startupMs: broker.startupMs,
      auditEvents: health.json?.audit_events_count,
      mem,
      target,
      specs,
      f,
      broker,
      rawServer,
    };
  } catch (err) {
    await Promise.all([stop(broker), stop(rawServer)]);
    throw err;
  }
}

async function mixedPhase(phase) {
  const { target, specs } = phase;
  const half = Math.max(1, Math.floor(CONNECTIONS / 2));
  const [validate, register] = await Promise.all([
    drive(target, specs.validateKnown, { connections: half, seconds: SECONDS + 1 }),
    drive(target, specs.register, { connections: half, seconds: SECONDS + 1 }),
  ]);
  return { validate, register };
}

// ---------------------------------------------------------------------------------------------------------------

const ONLY = process.env.BENCH_ROUTES?.split(',');
const pick = (routes) => (ONLY === undefined ? routes : routes.filter((r) => ONLY.includes(r)));
const ALL_ROUTES = [
  'validateKnown',
  'validateGarbage',
  'validateForged',
  'renew',
  'register',
  'delegate',
  'revoke',
  'audit',
  'auditFiltered',
  'health',
  'metrics',
];
const BIG_ROUTES = [
  'validateKnown',
  'renew',
  'register',
  'delegate',
  'revoke',
  'audit',
  'auditFiltered',
  'health',
  'metrics',
];

ensureBuilt();
const work = mkdtempSync(join(tmpdir(), 'awbench-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));
console.log(
  `AgentWrit route bench: ${CORES} cores, ${CONNECTIONS} connections, ${SECONDS} s per route, node ${process.version}`,
);

const plain = await brokerPhase({
  label: 'plain HTTP',
  dir: mkdirp(join(work, 'plain')),
  tls: null,
  routes: pick(ALL_ROUTES),
});
const mixed = ONLY === undefined || ONLY.includes('mixed') ? await mixedPhase(plain) : null;
const plainMem = memory(plain.broker.pid);
await Promise.all([stop(plain.broker), stop(plain.rawServer)]);
routeTable(
  `Plain HTTP, AA_ED25519=${DEFAULT_ENGINE} (broker started in ${fmt(plain.startupMs)} ms; ${plain.auditEvents} audit events at the end)`,
  plain.results,
);
console.log(
  'CPU columns are µs per request: loop = event-loop thread, crypto = Ed25519 workers (none when Ed25519 runs on the event loop), other = storage worker, V8 GC/compiler and libuv threads.',
);
console.log(`broker RSS ${fmt(plainMem.rssMiB)} MiB (peak ${fmt(plainMem.peakMiB)} MiB)`);
if (mixed !== null) {
  console.log(
    `validate during registrations: ${fmt(mixed.validate.rps)} validate/s p50 ${fmt(mixed.validate.p50, 1)} ms p99 ${fmt(mixed.validate.p99, 1)} ms, ` +
      `alongside ${fmt(mixed.register.rps)} registrations/s (${Math.max(1, Math.floor(CONNECTIONS / 2))} connections each)`,
  );
}

// tweetnacl. Its ceiling is measured right before register, for the same reason as the paired raw runs.
let nacl = null;
let naclPhase = null;
const naclRoutes = pick(['renew', 'register']);
if (WITH_NACL_PHASE && naclRoutes.length > 0) {
  naclPhase = await brokerPhase({
    label: 'tweetnacl',
    dir: mkdirp(join(work, 'nacl')),
    tls: null,
    engine: 'tweetnacl',
    routes: naclRoutes,
    beforeRoute: async (key) => {
      if (key !== 'register') return {};
      nacl = await naclCeiling();
      return { nacl };
    },
  });
  await Promise.all([stop(naclPhase.broker), stop(naclPhase.rawServer)]);
  for (const r of naclPhase.results) r.name = `${r.name}, AA_ED25519=tweetnacl`;
  routeTable('AA_ED25519=tweetnacl (same machine, minutes later)', naclPhase.results);
  if (nacl !== null) {
    console.log(
      `tweetnacl alone, ${CORES} threads (measured just before register): ${fmt(nacl.pairsPerSec)} verify+sign pairs/s ` +
        `(verify ${fmt(nacl.verifyMs, 1)} ms, sign ${fmt(nacl.signMs, 1)} ms)`,
    );
  }
}

// TLS
if (WITH_TLS) {
  const tls = makeCert(work);
  const tlsPhase = await brokerPhase({
    label: 'TLS',
    dir: mkdirp(join(work, 'tls')),
    tls,
    routes: pick(['health', 'validateKnown', 'renew', 'revoke', 'auditFiltered']),
    seconds: Math.max(1, SECONDS - 1),
  });
  await Promise.all([stop(tlsPhase.broker), stop(tlsPhase.rawServer)]);
  routeTable('TLS (AA_TLS_MODE=tls; the raw server is node:https with the same certificate)', tlsPhase.results);
}

// 1 M audit events
let big = null;
if (AUDIT_ROWS > 0) {
  const db = await ensureAuditDatabase(AUDIT_ROWS, (line) => console.log(line));
  const bigDir = mkdirp(join(work, 'big'));
  await copyFile(db, join(bigDir, 'data.db'));
  big = await brokerPhase({
    label: '1M',
    dir: bigDir,
    tls: null,
    routes: pick(BIG_ROUTES),
    seconds: Math.max(1, SECONDS - 1),
  });
  const bigMem = memory(big.broker.pid);
  await Promise.all([stop(big.broker), stop(big.rawServer)]);
  const header = [
    'route',
    `req/s @ ${plain.auditEvents}`,
    'vs raw',
    `req/s @ ${big.auditEvents}`,
    'vs raw',
    'change',
    `CPU µs/req @ ${plain.auditEvents}`,
    `@ ${big.auditEvents}`,
    'change',
    `p99 ms @ ${big.auditEvents}`,
    'errors',
  ];
  const rows = big.results.map((r) => {
    const small = plain.results.find((p) => p.name === r.name);
    return [
      r.name,
      fmt(small?.rps),
      `${fmt((100 * small?.rps) / small?.raw.rps, 1)}%`,
      fmt(r.rps),
      `${fmt((100 * r.rps) / r.raw.rps, 1)}%`,
      `${fmt(100 * (r.rps / r.raw.rps / (small?.rps / small?.raw.rps) - 1), 0)}%`,
      fmt(small?.cpuUs),
      fmt(r.cpuUs),
      `${fmt(100 * (r.cpuUs / small?.cpuUs - 1), 0)}%`,
      fmt(r.p99, 1),
      r.errors,
    ];
  });
  table(
    `Audit trail growth (broker started on ${big.auditEvents} events in ${fmt(big.startupMs / 1000, 1)} s; req/s change = of the ratio to raw)`,
    header,
    rows,
  );
  console.log(`broker RSS with the large trail ${fmt(bigMem.rssMiB)} MiB (peak ${fmt(bigMem.peakMiB)} MiB)`);
}

// PostgreSQL: the same routes on one broker whose store is a PostgreSQL database on this machine.
let pgPhase = null;
const PG_ROUTES = pick(['validateKnown', 'register', 'renew', 'revoke']);
if (process.env.BENCH_PG !== '0' && PG_ROUTES.length > 0) {
  let cluster = null;
  let url = process.env.BENCH_DATABASE_URL;
  if (url === undefined) {
    // The tests' throwaway cluster (initdb into a temp dir, a free port, removed afterwards).
    const { tsImport } = await import('tsx/esm/api');
    const { startPostgres } = await tsImport('../test/helpers/postgres.ts', import.meta.url);
    cluster = await startPostgres();
    url = await cluster.createDatabase();
  }
  try {
    pgPhase = await brokerPhase({
      label: 'postgres',
      dir: mkdirp(join(work, 'pg')),
      tls: null,
      routes: PG_ROUTES,
      env: { AA_DATABASE_URL: url },
    });
    await Promise.all([stop(pgPhase.broker), stop(pgPhase.rawServer)]);
  } finally {
    await cluster?.stop();
  }
  const rows = pgPhase.results.map((r) => {
    const lite = plain.results.find((p) => p.name === r.name);
    const share = r.rps / r.raw.rps / (lite.rps / lite.raw.rps);
    return [
      r.name,
      fmt(lite.rps),
      fmt(r.rps),
      `${fmt(100 * share)}%`,
      fmt(lite.cpuUs),
      fmt(r.cpuUs),
      fmt(r.p99, 1),
      r.errors,
    ];
  });
  table(
    'PostgreSQL store, one broker (req/s share = of the ratio to the raw server, sql.js = 100%)',
    ['route', 'req/s sql.js', 'req/s postgres', 'share', 'CPU µs/req sql.js', 'postgres', 'p99 ms', 'errors'],
    rows,
  );
}

// Targets
const by = (name) => plain.results.find((r) => r.name === name);
const checks = [];
// Throughput targets for the default engine: each route's req/s as a share of the raw server's, same run.
const RATIO_TARGETS = [
  ['register (challenge + register)', 0.12],
  ['renew', 0.2],
  ['delegate', 0.2],
  ['validate (forged signature)', 0.3],
  ['revoke', 0.25],
  ['validate (known token)', 0.7],
];
for (const [name, share] of RATIO_TARGETS) {
  const r = by(name);
  if (!r) continue;
  const ratio = r.rps / r.raw.rps;
  checks.push([
    `${name} ≥ ${fmt(100 * share)}% of raw`,
    `${fmt(100 * ratio, 1)}% (${fmt(r.rps)} / ${fmt(r.raw.rps)} req/s)`,
    ratio >= share,
  ]);
}
const vk = by('validate (known token)');
if (vk) {
  // Also as CPU: both servers are bound by one event loop, so raw CPU/req ÷ broker CPU/req is the capacity ratio.
  checks.push([
    'validate (known token) by CPU/req (for information)',
    `${fmt((100 * vk.raw.cpuUs) / vk.cpuUs)}% of raw`,
    null,
  ]);
}
for (const r of ['revoke', 'audit query (first 100)', 'audit query (one agent)'].map(by)) {
  if (!r) continue;
  const o = overheadOf(r);
  checks.push([
    `${r.name}: overhead beyond Ed25519 ≤ 100 µs`,
    `${fmt(o)} µs (event loop ${fmt(r.loopUs - r.raw.cpuUs)} µs beyond raw)`,
    o <= 100,
  ]);
}
const naclReg = naclPhase?.results.find((r) => r.name.startsWith('register'));
if (naclReg?.nacl) {
  const c = naclReg.nacl.pairsPerSec;
  checks.push([
    'tweetnacl register ≥ 80% of tweetnacl verify+sign pairs/s',
    `${fmt(naclReg.rps)} / ${fmt(c)} = ${fmt((100 * naclReg.rps) / c)}%`,
    naclReg.rps >= 0.8 * c,
  ]);
}
if (mixed) {
  checks.push([
    'validate p99 < 20 ms while registrations run',
    `${fmt(mixed.validate.p99, 1)} ms`,
    mixed.validate.p99 < 20,
  ]);
}
if (big) {
  for (const r of big.results) {
    const small = plain.results.find((p) => p.name === r.name);
    const change = r.rps / r.raw.rps / (small.rps / small.raw.rps);
    const cpu = r.cpuUs / small.cpuUs;
    // Capacity is judged by CPU per request (what the machine spends per request, steady under neighbours' load);
    // the req/s ratio is shown too but swings by ±50% here. More than 25% more CPU per request counts as a fall.
    checks.push([
      `${r.name}: no fall at ${big.auditEvents} events`,
      `CPU/req ${fmt(100 * (cpu - 1), 0)}%, req/s vs raw ${fmt(100 * (change - 1))}%`,
      cpu <= 1.25,
    ]);
  }
}
if (pgPhase !== null) {
  for (const r of pgPhase.results) {
    const lite = by(r.name);
    if (!lite) continue;
    // Each broker's rate as a share of the raw server measured right before it: the machine's speed drifts.
    const share = r.rps / r.raw.rps / (lite.rps / lite.raw.rps);
    const want = r.name === 'validate (known token)' ? 0.9 : 0.5;
    checks.push([`PostgreSQL ${r.name} ≥ ${fmt(100 * want)}% of sql.js`, `${fmt(100 * share)}%`, share >= want]);
  }
}
table(
  'Targets',
  ['target', 'measured', 'met'],
  checks.map(([t, m, ok]) => [t, m, ok === null ? '-' : ok ? 'yes' : 'NO']),
);
console.log(`\ntotal bench time ${fmt((performance.now() - started) / 1000)} s`);
process.exit(0);

function mkdirp(p) {
  mkdirSync(p, { recursive: true });
  return p;
}
