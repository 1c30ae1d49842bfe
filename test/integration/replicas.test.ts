/**
 * Three broker processes on one PostgreSQL database behave as one broker: every flow works with each request on a
 * different replica, single-use credentials are spent once cluster-wide, revocations reach every replica within a
 * second (and a replica that cannot vouch for that fails closed), the audit trail is one chain, and a replica killed
 * under write load loses no acknowledged write.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, type TestContext, test } from 'node:test';
import nacl from 'tweetnacl';
import { auditHash, GENESIS_HASH } from '../../src/store/audit-chain.js';
import { awrit } from '../cli/awrit.js';
import { ADMIN_SECRET } from '../helpers/broker.js';
import { type BrokerProcess, launchBroker } from '../helpers/broker-process.js';
import { type RequestOptions, request, type TestResponse } from '../helpers/http.js';
import { type PgCluster, pgSkip, startPostgres } from '../helpers/postgres.js';

let pg: PgCluster;
before(async () => {
  if (pgSkip === false) pg = await startPostgres();
});
after(() => pg?.stop());

interface Replica {
  url: string;
  dir: string;
  proc: BrokerProcess;
  req(path: string, opts?: RequestOptions): Promise<TestResponse>;
}

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'awrep-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function startReplica(t: TestContext, dbUrl: string, dir: string, env: Record<string, string> = {}) {
  const proc = launchBroker(t, dir, {
    AA_ADMIN_SECRET: ADMIN_SECRET,
    AA_DATABASE_URL: dbUrl,
    AA_LOG_LEVEL: 'standard',
    ...env,
  });
  const url = await proc.started();
  return { url, dir, proc, req: (path: string, opts?: RequestOptions) => request(url, path, opts) };
}

/** Three replicas started at the same moment on one fresh database (the migrations race among them). */
async function cluster(t: TestContext, env: Record<string, string> = {}): Promise<{ db: string; replicas: Replica[] }> {
  const db = await pg.createDatabase();
  const replicas = await Promise.all([0, 1, 2].map(() => startReplica(t, db, tempDir(t), env)));
  return { db, replicas };
}

async function adminToken(r: Replica): Promise<string> {
  const res = await r.req('/v1/admin/auth', { body: { secret: ADMIN_SECRET } });
  assert.equal(res.status, 200, res.text);
  return res.json.access_token as string;
}

async function launchToken(
  r: Replica,
  token: string,
  body: Record<string, unknown> = {},
  path = '/v1/admin/launch-tokens',
): Promise<string> {
  const res = await r.req(path, {
    token,
    body: { agent_name: 'agent', allowed_scope: ['read:data:*'], ...body },
  });
  assert.equal(res.status, 201, res.text);
  return res.json.launch_token as string;
}

/** Registration with the challenge from one replica and the registration on another. */
async function register(
  challengeOn: Replica,
  registerOn: Replica,
  lt: string,
  o: { task?: string; scope?: string[] } = {},
): Promise<TestResponse> {
  const keys = nacl.sign.keyPair();
  const ch = await challengeOn.req('/v1/challenge');
  assert.equal(ch.status, 200, ch.text);
  const nonce = ch.json.nonce as string;
  return registerOn.req('/v1/register', {
    body: {
      launch_token: lt,
      nonce,
      public_key: Buffer.from(keys.publicKey).toString('base64'),
      signature: Buffer.from(nacl.sign.detached(Buffer.from(nonce, 'hex'), keys.secretKey)).toString('base64'),
      orch_id: 'orch-1',
      task_id: o.task ?? 'task-1',
      requested_scope: o.scope ?? ['read:data:*'],
    },
  });
}

/** Every event through one replica, checked link by link: one chain, no fork, no gap. */
async function verifyChain(r: Replica, admin: string): Promise<number> {
  let prev = GENESIS_HASH;
  let n = 0;
  for (let offset = 0; ; offset += 1000) {
    const page = await r.req(`/v1/audit/events?limit=1000&offset=${offset}`, { token: admin });
    assert.equal(page.status, 200, page.text);
    const events = page.json.events as Record<string, unknown>[];
    for (const e of events) {
      n++;
      assert.equal(e.id, `evt-${String(n).padStart(6, '0')}`, 'no gap in the numbering');
      assert.equal(e.prev_hash, prev, `chain broken at ${String(e.id)}`);
      const row = {
        id: String(e.id),
        timestamp: String(e.timestamp),
        event_type: String(e.event_type),
        agent_id: String(e.agent_id ?? ''),
        task_id: String(e.task_id ?? ''),
        orch_id: String(e.orch_id ?? ''),
        detail: String(e.detail),
        resource: String(e.resource ?? ''),
        outcome: String(e.outcome ?? ''),
        deleg_depth: Number(e.deleg_depth ?? 0),
        deleg_chain_hash: String(e.deleg_chain_hash ?? ''),
        bytes_transferred: Number(e.bytes_transferred ?? 0),
        prev_hash: String(e.prev_hash),
      };
      assert.equal(auditHash(row), e.hash, `hash of ${String(e.id)}`);
      prev = String(e.hash);
    }
    if (events.length < 1000) return n;
  }
}

/** Polls `check` until it holds; returns the milliseconds it took. Fails past `limitMs`. */
async function within(limitMs: number, what: string, check: () => Promise<boolean>): Promise<number> {
  const start = performance.now();
  for (;;) {
    if (await check()) return performance.now() - start;
    const spent = performance.now() - start;
    assert.ok(spent < limitMs, `${what}: not within ${limitMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('three replicas behind round robin are one broker: admin, apps, launch tokens, register, renew, delegate, revoke, audit', {
  skip: pgSkip,
  timeout: 120_000,
}, async (t) => {
  const { replicas } = await cluster(t);
  const [a, b, c] = replicas as [Replica, Replica, Replica];
  let turn = 0;
  const rr = (): Replica => replicas[turn++ % 3] as Replica;

  // An admin token from one replica works on the others (its key is published in the shared table).
  const admin = await adminToken(a);
  const app = await b.req('/v1/admin/apps', {
    token: admin,
    body: { name: 'billing', scopes: ['read:data:*', 'write:data:*'] },
  });
  assert.equal(app.status, 201, app.text);
  assert.equal((await c.req(`/v1/admin/apps/${app.json.app_id}`, { token: admin })).status, 200);
  assert.equal((await a.req('/v1/admin/apps', { token: admin })).json.total, 1);
  const login = await c.req('/v1/app/auth', {
    body: { client_id: app.json.client_id, client_secret: app.json.client_secret },
  });
  assert.equal(login.status, 200, login.text);
  const appToken = login.json.access_token as string;

  // A launch token minted on A, a challenge from B, registration on C.
  const lt = await launchToken(
    a,
    appToken,
    { allowed_scope: ['read:data:*', 'write:data:*'] },
    '/v1/app/launch-tokens',
  );
  const reg = await register(b, c, lt, { scope: ['read:data:*', 'write:data:*'] });
  assert.equal(reg.status, 200, reg.text);
  const agentToken = reg.json.access_token as string;
  for (const r of replicas) {
    const v = await r.req('/v1/token/validate', { body: { token: agentToken } });
    assert.equal(v.json.valid, true, v.text);
  }

  // Renew and delegate on whichever replica comes next.
  const renewed = await rr().req('/v1/token/renew', { token: agentToken, method: 'POST' });
  assert.equal(renewed.status, 200, renewed.text);
  const fresh = renewed.json.access_token as string;
  // The renewed token's jti is revoked; every replica learns it within a second.
  for (const r of replicas) {
    await within(1000, 'renewal revokes the old token everywhere', async () => {
      return (await r.req('/v1/token/validate', { body: { token: agentToken } })).json.valid === false;
    });
  }
  const second = await register(rr(), rr(), await launchToken(rr(), admin), { task: 'task-2' });
  assert.equal(second.status, 200, second.text);
  const delegated = await rr().req('/v1/delegate', {
    token: fresh,
    body: { delegate_to: second.json.agent_id, scope: ['read:data:*'], ttl: 60 },
  });
  assert.equal(delegated.status, 200, delegated.text);
  for (const r of replicas) {
    assert.equal(
      (await r.req('/v1/token/validate', { body: { token: delegated.json.access_token } })).json.valid,
      true,
    );
  }

  // Revocation on one replica reaches the others within a second.
  const revoked = await a.req('/v1/revoke', { token: admin, body: { level: 'agent', target: reg.json.agent_id } });
  assert.equal(revoked.status, 200, revoked.text);
  for (const r of [b, c]) {
    await within(1000, 'agent revocation on another replica', async () => {
      return (await r.req('/v1/token/validate', { body: { token: fresh } })).json.valid === false;
    });
  }
  assert.equal((await c.req('/v1/token/validate', { body: { token: delegated.json.access_token } })).json.valid, true);
  const chain = await b.req('/v1/revoke', { token: admin, body: { level: 'task', target: 'task-2' } });
  assert.equal(chain.status, 200, chain.text);
  await within(1000, 'task revocation on another replica', async () => {
    return (await c.req('/v1/token/validate', { body: { token: second.json.access_token } })).json.valid === false;
  });

  // Every replica lists every replica's key; the trail is one chain, the same through each replica.
  const kids = new Set<string>();
  for (const r of replicas) for (const k of (await r.req('/v1/jwks')).json.keys) kids.add(k.kid as string);
  assert.equal(kids.size, 3, 'three keys, one per replica');
  for (const r of replicas) assert.equal((await r.req('/v1/jwks')).json.keys.length, 3);
  const events = await verifyChain(c, admin);
  assert.ok(events >= 10, `${events} events`);
  assert.equal(await verifyChain(a, admin), events);
  for (const r of replicas) assert.equal((await r.req('/v1/health')).json.status, 'ok');
});

test('single use, cluster-wide: one launch token raced on three replicas, one nonce spent on two', {
  skip: pgSkip,
  timeout: 120_000,
}, async (t) => {
  const { replicas } = await cluster(t);
  const [a, b, c] = replicas as [Replica, Replica, Replica];
  const admin = await adminToken(a);
  for (let round = 0; round < 5; round++) {
    const lt = await launchToken(replicas[round % 3] as Replica, admin, { single_use: true });
    const results = await Promise.all(replicas.map((r, i) => register(r, replicas[(i + round) % 3] as Replica, lt)));
    const won = results.filter((r) => r.status === 200);
    assert.equal(won.length, 1, results.map((r) => `${r.status} ${r.text}`).join('\n'));
    for (const r of results.filter((x) => x.status !== 200)) {
      assert.equal(r.status, 401, r.text);
      assert.match(r.json.detail, /already consumed/);
    }
  }

  // A nonce issued by A is good on B, once: the same answer on C is a replay.
  const lt = await launchToken(a, admin, { single_use: false });
  const keys = nacl.sign.keyPair();
  const nonce = (await a.req('/v1/challenge')).json.nonce as string;
  const body = {
    launch_token: lt,
    nonce,
    public_key: Buffer.from(keys.publicKey).toString('base64'),
    signature: Buffer.from(nacl.sign.detached(Buffer.from(nonce, 'hex'), keys.secretKey)).toString('base64'),
    orch_id: 'orch-1',
    task_id: 'task-1',
    requested_scope: ['read:data:*'],
  };
  const both = await Promise.all([b.req('/v1/register', { body }), c.req('/v1/register', { body })]);
  assert.deepEqual(both.map((r) => r.status).sort(), [200, 401], both.map((r) => r.text).join('\n'));
  const replay = await a.req('/v1/register', { body });
  assert.equal(replay.status, 401);
  assert.match(replay.json.detail, /nonce already consumed/);
});

test('one audit chain after concurrent writes on every replica; awrit audit verify agrees on any of them', {
  skip: pgSkip,
  timeout: 120_000,
}, async (t) => {
  const { replicas } = await cluster(t);
  const admin = await adminToken(replicas[0] as Replica);
  const writes = await Promise.all(
    Array.from({ length: 90 }, (_, i) =>
      (replicas[i % 3] as Replica).req('/v1/admin/launch-tokens', {
        token: admin,
        body: { agent_name: `a${i}`, allowed_scope: ['read:data:*'] },
      }),
    ),
  );
  assert.ok(writes.every((w) => w.status === 201));
  const n = await verifyChain(replicas[2] as Replica, admin);
  assert.ok(n >= 91, `${n} events`);
  for (const r of replicas) {
    const v = await awrit(['audit', 'verify'], { env: { AACTL_BROKER_URL: r.url, AACTL_ADMIN_SECRET: ADMIN_SECRET } });
    assert.equal(v.code, 0, v.stderr);
    assert.match(v.stdout, /intact/i);
  }
});

test('kill -9 of a replica under write load loses no acknowledged write; it restarts into the same cluster', {
  skip: pgSkip,
  timeout: 180_000,
}, async (t) => {
  const { db, replicas } = await cluster(t);
  const admin = await adminToken(replicas[0] as Replica);
  const victim = replicas[1] as Replica;
  const acknowledged: string[] = [];
  let stop = false;
  let killedAfter = -1;
  const killAt = 20 + Math.floor(Math.random() * 40);
  const writer = async (r: Replica, w: number): Promise<void> => {
    for (let i = 0; !stop; i++) {
      const name = `app-${w}-${i}`;
      const res = await r
        .req('/v1/admin/apps', { token: admin, body: { name, scopes: ['read:data:*'] } })
        .catch(() => null);
      if (res?.status === 201) acknowledged.push(name);
      if (r === victim && !victim.proc.alive()) return;
      if (acknowledged.length >= killAt && killedAfter < 0) {
        killedAfter = acknowledged.length;
        victim.proc.child.kill('SIGKILL');
      }
      if (acknowledged.length >= killAt + 30) stop = true;
    }
  };
  await Promise.all(replicas.flatMap((r, i) => [writer(r, i * 2), writer(r, i * 2 + 1)]));
  await victim.proc.exited;
  assert.ok(killedAfter > 0);

  const listed = new Set(
    ((await (replicas[2] as Replica).req('/v1/admin/apps', { token: admin })).json.apps as { name: string }[]).map(
      (x) => x.name,
    ),
  );
  for (const name of acknowledged) assert.ok(listed.has(name), `acknowledged app ${name} is missing`);

  // The killed replica comes back on its own key file and sees what the others wrote meanwhile.
  const back = await startReplica(t, db, victim.dir);
  const total = (await back.req('/v1/admin/apps', { token: admin })).json.total as number;
  assert.equal(total, listed.size);
  await verifyChain(back, admin);
});

test('key rotation through one replica rotates every replica within seconds; old tokens keep verifying', {
  skip: pgSkip,
  timeout: 120_000,
}, async (t) => {
  const { replicas } = await cluster(t);
  const [a, b, c] = replicas as [Replica, Replica, Replica];
  const admin = await adminToken(b);
  const before = new Set(((await a.req('/v1/jwks')).json.keys as { kid: string }[]).map((k) => k.kid));
  assert.equal(before.size, 3);
  const rotated = await a.req('/v1/admin/keys/rotate', { method: 'POST', token: admin, body: {} });
  assert.equal(rotated.status, 200, rotated.text);
  // Every replica ends up signing with a key that was not there before.
  for (const r of [a, b, c]) {
    await within(10_000, 'replica rotated', async () => {
      const token = (await r.req('/v1/admin/auth', { body: { secret: ADMIN_SECRET } })).json.access_token as string;
      const kid = JSON.parse(Buffer.from(token.split('.')[0] as string, 'base64url').toString()).kid as string;
      return !before.has(kid);
    });
  }
  const keys = await c.req('/v1/admin/keys', { token: admin });
  assert.equal(keys.status, 200, keys.text);
  const states = (keys.json.keys as { state: string }[]).map((k) => k.state).sort();
  assert.deepEqual(states, ['active', 'active', 'active', 'retiring', 'retiring', 'retiring']);
  // The admin token signed before the rotation still verifies everywhere, with its key retiring.
  for (const r of replicas)
    assert.equal((await r.req('/v1/token/validate', { body: { token: admin } })).json.valid, true);
});

test('replicas sharing one key file: one key, and a rotation through one is adopted by the others', {
  skip: pgSkip,
  timeout: 120_000,
}, async (t) => {
  const db = await pg.createDatabase();
  const shared = join(tempDir(t), 'signing.key');
  // The first start creates the file; the others find it.
  const first = await startReplica(t, db, tempDir(t), { AA_SIGNING_KEY_PATH: shared });
  const others = await Promise.all([0, 1].map(() => startReplica(t, db, tempDir(t), { AA_SIGNING_KEY_PATH: shared })));
  const replicas = [first, ...others];
  const admin = await adminToken(first);
  const kidOf = (token: string): string =>
    JSON.parse(Buffer.from(token.split('.')[0] as string, 'base64url').toString()).kid as string;
  const before = kidOf(admin);
  for (const r of replicas) {
    const jwks = (await r.req('/v1/jwks')).json.keys as { kid: string }[];
    assert.deepEqual(
      jwks.map((k) => k.kid),
      [before],
    );
  }
  const rotated = await others[0]!.req('/v1/admin/keys/rotate', { method: 'POST', token: admin, body: {} });
  assert.equal(rotated.status, 200, rotated.text);
  const after = rotated.json.kid as string;
  for (const r of replicas) {
    await within(10_000, 'replica signs with the shared new key', async () => {
      const token = (await r.req('/v1/admin/auth', { body: { secret: ADMIN_SECRET } })).json.access_token as string;
      return kidOf(token) === after;
    });
  }
  const keys = await first.req('/v1/admin/keys', { token: admin });
  assert.deepEqual(
    (keys.json.keys as { kid: string; state: string }[]).map((k) => [k.kid, k.state]),
    [
      [after, 'active'],
      [before, 'retiring'],
    ],
    'no replica made a key of its own',
  );
  for (const r of replicas)
    assert.equal((await r.req('/v1/token/validate', { body: { token: admin } })).json.valid, true);
});

test('database outage: every replica fails closed past AA_REVOCATION_MAX_LAG and recovers by itself', {
  skip: pgSkip,
  timeout: 120_000,
}, async (t) => {
  const { replicas } = await cluster(t, { AA_REVOCATION_MAX_LAG: '1s' });
  const admin = await adminToken(replicas[0] as Replica);
  await pg.pause();
  try {
    for (const r of replicas) {
      await within(30_000, 'fail closed', async () => {
        const v = await r.req('/v1/token/validate', { body: { token: admin } });
        if (v.status === 200) return false;
        assert.equal(v.status, 503, v.text);
        assert.equal(v.headers['retry-after'], '1');
        return true;
      });
      const h = await r.req('/v1/health');
      assert.equal(h.status, 503);
      assert.equal(h.json.status, 'degraded');
    }
  } finally {
    await pg.resume();
  }
  for (const r of replicas) {
    await within(30_000, 'recovery', async () => (await r.req('/v1/health')).status === 200);
    assert.equal((await r.req('/v1/token/validate', { body: { token: admin } })).json.valid, true);
  }
  const lt = await launchToken(replicas[1] as Replica, admin);
  assert.equal((await register(replicas[2] as Replica, replicas[0] as Replica, lt)).status, 200);
});
