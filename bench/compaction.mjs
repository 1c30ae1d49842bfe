/**
 * Validate latency while the broker compacts a database of 1 M audit events, measured over HTTP against the
 * compiled broker: writes push the journal past its checkpoint threshold, the storage worker rewrites the whole
 * database file, and resource-server traffic (POST /v1/token/validate) must not notice.
 * Run: npm run build && node bench/compaction.mjs   (BENCH_ROWS to change the size; the database is cached in .tmp/)
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBuilt, startBroker, waitForBanner } from '../scripts/broker-process.mjs';
import { ensureAuditDatabase } from './audit-db.mjs';

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const SECRET = 'compaction-bench-secret-0123456789';
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

function post(port, path, body, token) {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        agent,
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

const pct = (xs, p) =>
  xs.length === 0 ? 0 : [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];
const peakRss = (pid) => {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? `${Math.round(Number(m[1]) / 1024)} MiB` : '?';
};

ensureBuilt(); // before the clock starts: a rebuild is not startup time
const source = await ensureAuditDatabase(ROWS, (line) => console.log(line));
const dir = mkdtempSync(join(tmpdir(), 'awcompact-'));
try {
  copyFileSync(source, join(dir, 'data.db'));
  const started = performance.now();
  const child = startBroker({
    PATH: process.env.PATH,
    AA_ADMIN_SECRET: SECRET,
    AA_PORT: '0',
    AA_LOG_LEVEL: 'standard',
    AA_DB_PATH: join(dir, 'data.db'),
    AA_SIGNING_KEY_PATH: join(dir, 'signing.key'),
    AA_ADMIN_TOKEN_TTL: '3600',
  });
  child.stderr.pipe(process.stderr);
  let checkpoint = null; // { end, ms }
  let buffered = '';
  child.stdout.on('data', (c) => {
    buffered += c.toString();
    for (let nl = buffered.indexOf('\n'); nl !== -1; nl = buffered.indexOf('\n')) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      const cp = /checkpoint written .* ms=(\d+)/.exec(line);
      if (cp && checkpoint === null) checkpoint = { end: performance.now(), ms: Number(cp[1]) };
    }
  });
  const { port } = await waitForBanner(child);
  console.log(`broker started on ${ROWS} audit events in ${((performance.now() - started) / 1000).toFixed(2)} s`);
  const admin = JSON.parse((await post(port, '/v1/admin/auth', { secret: SECRET })).body).access_token;

  const samples = []; // [end time, latency ms]
  let running = true;
  const validator = async () => {
    while (running) {
      const t = performance.now();
      const r = await post(port, '/v1/token/validate', { token: admin });
      if (r.status !== 200) throw new Error(`validate answered ${r.status}`);
      samples.push([performance.now(), performance.now() - t]);
    }
  };
  let writes = 0;
  const name = 'x'.repeat(3500);
  const writer = async () => {
    while (running && checkpoint === null) {
      const r = await post(
        port,
        '/v1/admin/launch-tokens',
        { agent_name: name, allowed_scope: ['read:data:*'] },
        admin,
      );
      if (r.status !== 201) throw new Error(`launch token answered ${r.status}`);
      writes++;
    }
  };
  const deadline = performance.now() + 90_000;
  const loops = [...Array.from({ length: 8 }, validator), ...Array.from({ length: 8 }, writer)];
  while (checkpoint === null && performance.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  await new Promise((r) => setTimeout(r, 500));
  running = false;
  await Promise.all(loops);
  if (checkpoint === null) throw new Error('no checkpoint within 90 s');
  const from = checkpoint.end - checkpoint.ms;
  const during = samples.filter(([end]) => end >= from && end <= checkpoint.end).map(([, ms]) => ms);
  const outside = samples.filter(([end]) => end < from).map(([, ms]) => ms);
  console.log(
    `${writes} durable writes pushed the journal to a checkpoint of the ${ROWS}-event database (${checkpoint.ms} ms)`,
  );
  console.log(
    `validate before the checkpoint: ${outside.length} requests, p50 ${pct(outside, 0.5).toFixed(1)} ms, p99 ${pct(outside, 0.99).toFixed(1)} ms`,
  );
  console.log(
    `validate during the checkpoint: ${during.length} requests, p50 ${pct(during, 0.5).toFixed(1)} ms, p99 ${pct(during, 0.99).toFixed(1)} ms, max ${Math.max(0, ...during).toFixed(1)} ms (target p99 < 20 ms)`,
  );
  console.log(`broker peak RSS: ${peakRss(child.pid)}`);
  child.kill('SIGKILL');
} finally {
  agent.destroy();
  rmSync(dir, { recursive: true, force: true });
}
