/**
 * Abuse: floods of anonymous requests cannot grow memory, the audit trail or the log lines without bound; the
 * nonce ceiling holds; rate limits hold per address (admin) and per client and address (app), and
 * X-Forwarded-For counts only from a trusted proxy; secrets are compared in time that does not reveal them.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_AUDIT_TEXT } from '../../src/services/audit.js';
import { ADMIN_SECRET, startTestBroker } from '../helpers/broker.js';
import { Flood, spawnBroker } from './support.js';

test('anonymous floods: bounded audit rows, log lines and memory; the process stays up', {
  timeout: 50_000,
}, async (t) => {
  const p = await spawnBroker(t);
  const flood = new Flood(p.port, 16);
  t.after(() => flood.close());
  const admin = JSON.parse(
    (await flood.send('/v1/admin/auth', { body: JSON.stringify({ secret: ADMIN_SECRET }) })).text,
  ).access_token as string;
  const auditCount = async (): Promise<number> =>
    JSON.parse((await flood.send('/v1/health')).text).audit_events_count as number;
  const warm = await flood.run(300, 16, () => flood.send('/v1/challenge'));
  assert.ok(warm.every((r) => r.status === 200));
  const rss0 = p.rssMb();

  // 100 requests with distinct 200 KB paths and no token: one route, one denial, folded into one row (the
  // repeats are summarized by housekeeping), and what is written is bounded.
  const big = await flood.run(100, 8, (i) => flood.send(`/v1/admin/apps/${i}-${'p'.repeat(200_000)}`));
  assert.ok(big.every((r) => r.status === 401));
  const events = JSON.parse(
    (
      await flood.send('/v1/audit/events?event_type=token_auth_failed&limit=1000', {
        headers: { Authorization: `Bearer ${admin}` },
      })
    ).text,
  ).events as Record<string, string>[];
  assert.equal(events.length, 1);
  for (const e of events) {
    assert.ok((e.detail ?? '').length <= MAX_AUDIT_TEXT, `audit detail of ${(e.detail ?? '').length} characters`);
    assert.ok((e.resource ?? '').length <= MAX_AUDIT_TEXT, `audit resource of ${(e.resource ?? '').length} characters`);
  }
  const longest = Math.max(
    ...p
      .output()
      .split('\n')
      .map((l) => l.length),
  );
  assert.ok(longest < 20_000, `a log line of ${longest} characters`);

  // 2,000 bad-token requests on one route and 3,000 challenges: the trail grows by a handful of rows at most.
  const before = await auditCount();
  const bad = await flood.run(2000, 16, (i) =>
    flood.send('/v1/revoke', { body: '{}', headers: { Authorization: `Bearer bad.${i}.token` } }),
  );
  assert.ok(bad.every((r) => r.status === 401));
  const ch = await flood.run(3000, 16, () => flood.send('/v1/challenge'));
  assert.ok(ch.every((r) => r.status === 200));
  const grown = (await auditCount()) - before;
  assert.ok(grown <= 3, `the audit trail grew by ${grown} rows`);

  const rss1 = p.rssMb();
  assert.ok(rss1 - rss0 < 120, `RSS grew from ${rss0.toFixed(0)} to ${rss1.toFixed(0)} MB`);
  assert.ok(p.alive());
  assert.equal((await flood.send('/v1/health')).status, 200);
});

test('the nonce ceiling holds and 100,000 outstanding nonces cost little memory', async (t) => {
  const b = await startTestBroker(t);
  const nonces = b.handle.services.nonces;
  global.gc?.();
  const heap0 = process.memoryUsage().heapUsed;
  while (nonces.size < 100_000 - 5) await nonces.issue();
  const heapMb = (process.memoryUsage().heapUsed - heap0) / 1e6;
  assert.ok(heapMb < 64, `100,000 nonces use ${heapMb.toFixed(0)} MB of heap`);
  const answers = await Promise.all(Array.from({ length: 10 }, () => b.req('/v1/challenge')));
  assert.equal(answers.filter((r) => r.status === 200).length, 5);
  const refused = answers.filter((r) => r.status === 429);
  assert.equal(refused.length, 5);
  assert.equal(refused[0]?.headers['retry-after'], '30');
  assert.equal(refused[0]?.json.error_code, 'rate_limited');
});

test('rate limits: admin auth per address, X-Forwarded-For only from a trusted proxy, app auth per client and address', async (t) => {
  // The clock the buckets (5/s, burst 10) refill by is held still, so they cannot refill during a burst however
  // slowly a loaded machine answers it. No trusted proxies: a client rotating X-Forwarded-For is still one address.
  const b = await startTestBroker(t);
  t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
  const rotating = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      b.req('/v1/admin/auth', { body: { secret: 'wrong' }, headers: { 'X-Forwarded-For': `10.0.0.${i}` } }),
    ),
  );
  const statuses = rotating.map((r) => r.status);
  assert.ok(statuses.filter((s) => s === 429).length >= 5, statuses.join(','));
  assert.ok(statuses.every((s) => s === 401 || s === 429));

  // Behind a trusted proxy the forwarded address is the client: one address is limited, the next is not, and an
  // IPv4-mapped IPv6 spelling is the same address (one bucket: at least 30 - 10 - refill refusals).
  const p = await startTestBroker(t, { env: { AA_TRUSTED_PROXIES: '127.0.0.1/32,::1' } });
  const via = (ip: string, body: Record<string, unknown>, path = '/v1/admin/auth') =>
    p.req(path, { body, headers: { 'X-Forwarded-For': `203.0.113.9, ${ip}` } });
  const flooded = await Promise.all(
    Array.from({ length: 30 }, (_, i) => via(i % 2 ? '::ffff:198.51.100.1' : '198.51.100.1', { secret: 'wrong' })),
  );
  const refused = flooded.filter((r) => r.status === 429).length;
  assert.ok(refused >= 15, `${refused} of 30 refused`);
  assert.equal((await via('198.51.100.2', { secret: ADMIN_SECRET })).status, 200);

  // App auth: a flood for one client_id from one address locks out only that pair.
  const admin = await p.adminToken();
  const app = (await p.req('/v1/admin/apps', { token: admin, body: { name: 'flooded-app', scopes: ['read:data:*'] } }))
    .json;
  const appStatuses: number[] = [];
  for (let i = 0; i < 6; i++)
    appStatuses.push(
      (await via('198.51.100.7', { client_id: app.client_id, client_secret: 'wrong' }, '/v1/app/auth')).status,
    );
  assert.ok(appStatuses.includes(429), appStatuses.join(','));
  assert.equal(
    (await via('198.51.100.8', { client_id: app.client_id, client_secret: app.client_secret }, '/v1/app/auth')).status,
    200,
  );
});

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

test('a wrong secret takes the time of a right one; an unknown client_id the time of a wrong secret', async (t) => {
  // Rate limits are per address; a trusted-proxy setup lets every sample come from a fresh address.
  const b = await startTestBroker(t, { env: { AA_TRUSTED_PROXIES: '127.0.0.1/32,::1' } });
  const admin = await b.adminToken();
  const app = (await b.req('/v1/admin/apps', { token: admin, body: { name: 'timed-app', scopes: ['read:data:*'] } }))
    .json;
  let n = 0;
  const timed = async (path: string, body: Record<string, unknown>, expected: number): Promise<number> => {
    n++;
    const started = process.hrtime.bigint();
    const r = await b.req(path, {
      body,
      headers: { 'X-Forwarded-For': `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}` },
    });
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    assert.equal(r.status, expected, `${path}: ${r.text}`);
    return ms;
  };
  const samples = {
    right: [] as number[],
    wrong: [] as number[],
    unknown: [] as number[],
    wrongSecret: [] as number[],
  };
  // Interleaved, so drift on a busy machine hits every series alike.
  for (let i = 0; i < 21; i++) {
    samples.wrong.push(await timed('/v1/admin/auth', { secret: `${ADMIN_SECRET.slice(0, -1)}x` }, 401));
    samples.right.push(await timed('/v1/admin/auth', { secret: ADMIN_SECRET }, 200));
    samples.unknown.push(
      await timed(
        '/v1/app/auth',
        { client_id: `nope-${i.toString(16).padStart(12, '0')}`, client_secret: app.client_secret },
        401,
      ),
    );
    samples.wrongSecret.push(
      await timed('/v1/app/auth', { client_id: app.client_id, client_secret: 'f'.repeat(64) }, 401),
    );
  }
  const [right, wrong, unknown, wrongSecret] = [samples.right, samples.wrong, samples.unknown, samples.wrongSecret].map(
    median,
  ) as [number, number, number, number];
  t.diagnostic(
    `medians ms: admin right ${right.toFixed(2)} wrong ${wrong.toFixed(2)}; app unknown ${unknown.toFixed(2)} wrong secret ${wrongSecret.toFixed(2)}`,
  );
  // A right secret also signs a token and writes it durably; the bound catches a bcrypt-sized gap (~250 ms).
  assert.ok(Math.abs(right - wrong) < 100, `admin: right ${right} ms vs wrong ${wrong} ms`);
  assert.ok(Math.abs(unknown - wrongSecret) < 50, `app: unknown ${unknown} ms vs wrong secret ${wrongSecret} ms`);
});
