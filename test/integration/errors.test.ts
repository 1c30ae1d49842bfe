/** Every route's error paths: status, error_code and the exact detail a client of the reference broker sees. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import nacl from 'tweetnacl';
import { ADMIN_SECRET, jwtPayload, registerWith, startTestBroker, type TestBroker } from '../helpers/broker.js';
import type { TestResponse } from '../helpers/http.js';

function problem(r: TestResponse, status: number, code: string, detail: string | RegExp): void {
  assert.equal(r.status, status, r.text);
  assert.equal(r.headers['content-type'], 'application/problem+json');
  assert.equal(r.json.error_code, code);
  assert.equal(r.json.type, `urn:agentwrit:error:${code}`);
  if (typeof detail === 'string') assert.equal(r.json.detail, detail);
  else assert.match(r.json.detail, detail);
  assert.equal(r.json.request_id, r.headers['x-request-id']);
}

async function events(b: TestBroker, type: string): Promise<Record<string, unknown>[]> {
  const admin = await b.adminToken();
  const r = await b.req(`/v1/audit/events?event_type=${type}&limit=1000`, { token: admin });
  return r.json.events;
}

test('bearer guard failures are generic and audited', async (t) => {
  const b = await startTestBroker(t);
  problem(await b.req('/v1/token/renew', { method: 'POST' }), 401, 'unauthorized', 'missing authorization header');
  problem(
    await b.req('/v1/token/renew', { method: 'POST', headers: { Authorization: 'Basic abc' } }),
    401,
    'unauthorized',
    'invalid authorization scheme',
  );
  problem(
    await b.req('/v1/token/renew', { method: 'POST', headers: { Authorization: 'bearer abc' } }),
    401,
    'unauthorized',
    'invalid authorization scheme',
  );
  problem(
    await b.req('/v1/token/renew', { method: 'POST', token: 'garbage' }),
    401,
    'unauthorized',
    'token verification failed',
  );
  const admin = await b.adminToken();
  const [h, p, s] = admin.split('.') as [string, string, string];
  const payload = jwtPayload(admin);
  const forged = Buffer.from(JSON.stringify({ ...payload, scope: [...payload.scope, 'x:y:z'] })).toString('base64url');
  problem(
    await b.req('/v1/audit/events', { token: `${h}.${forged}.${s}` }),
    401,
    'unauthorized',
    'token verification failed',
  );
  problem(await b.req('/v1/audit/events', { token: `${h}.${p}.` }), 401, 'unauthorized', 'token verification failed');
  problem(await b.req('/v1/audit/events', { token: `${h}.${p}` }), 401, 'unauthorized', 'token verification failed');
  // An agent token lacks admin scopes.
  const agent = await b.registerAgent();
  problem(
    await b.req('/v1/revoke', { token: agent.token, body: { level: 'token', target: 'x' } }),
    403,
    'insufficient_scope',
    'token lacks required scope: admin:revoke:*',
  );
  problem(
    await b.req('/v1/audit/events', { token: agent.token }),
    403,
    'insufficient_scope',
    'token lacks required scope: admin:audit:*',
  );

  const failed = await events(b, 'token_auth_failed');
  assert.ok(
    failed.some(
      (e) =>
        e.detail === 'missing authorization header | path=/v1/token/renew' &&
        e.resource === '/v1/token/renew' &&
        e.outcome === 'denied',
    ),
  );
  assert.ok(
    failed.some((e) => e.detail === 'token verification failed: signature verification failed | path=/v1/audit/events'),
  );
  assert.ok(failed.some((e) => e.detail === 'token verification failed: invalid token format | path=/v1/audit/events'));
  const sv = await events(b, 'scope_violation');
  assert.ok(
    sv.some(
      (e) =>
        e.detail === 'scope_violation | required=admin:revoke:* | actual=read:data:* | path=/v1/revoke' &&
        e.agent_id === agent.agentId,
    ),
  );

  // A revoked token: 401 with the generic text, audited as token_revoked_access with its identity.
  await b.req('/v1/revoke', { token: admin, body: { level: 'token', target: jwtPayload(agent.token).jti } });
  problem(
    await b.req('/v1/token/renew', { method: 'POST', token: agent.token }),
    401,
    'unauthorized',
    'token verification failed',
  );
  const ra = await events(b, 'token_revoked_access');
  assert.equal(ra.length, 1);
  assert.equal(ra[0]?.agent_id, agent.agentId);
  assert.equal(ra[0]?.task_id, 'task-1');
});

test('audience: tokens carry it, Bearer routes and validate enforce it', async (t) => {
  const b = await startTestBroker(t, { env: { AA_AUDIENCE: 'broker-a' }, keepDir: true });
  const admin = await b.adminToken();
  assert.deepEqual(jwtPayload(admin).aud, ['broker-a']);
  await b.stop();
  // Same signing key, another configured audience: the token is genuine but not for this broker.
  const c = await startTestBroker(t, { dir: b.dir, env: { AA_AUDIENCE: 'broker-b' } });
  problem(await c.req('/v1/audit/events', { token: admin }), 401, 'unauthorized', 'token audience mismatch');
  const v = await c.req('/v1/token/validate', { body: { token: admin } });
  assert.deepEqual(v.json, { valid: false, error: 'token is invalid or expired' });
});

test('validate input errors', async (t) => {
  const b = await startTestBroker(t);
  problem(await b.req('/v1/token/validate', { body: 'not json' }), 400, 'invalid_request', 'malformed JSON body');
  problem(await b.req('/v1/token/validate', { body: '' }), 400, 'invalid_request', 'malformed JSON body');
  problem(await b.req('/v1/token/validate', { body: '[]' }), 400, 'invalid_request', 'malformed JSON body');
  problem(await b.req('/v1/token/validate', { body: { token: 5 } }), 400, 'invalid_request', 'malformed JSON body');
  problem(await b.req('/v1/token/validate', { body: {} }), 400, 'invalid_request', 'token field is required');
  problem(await b.req('/v1/token/validate', { body: 'null' }), 400, 'invalid_request', 'token field is required');
  const garbage = await b.req('/v1/token/validate', { body: { token: 'a.b.c' } });
  assert.deepEqual(garbage.json, { valid: false, error: 'token is invalid or expired' });
  // Keys match case-insensitively, as the reference decoder does.
  const admin = await b.adminToken();
  assert.equal((await b.req('/v1/token/validate', { body: { TOKEN: admin } })).json.valid, true);

  // A NUL character in a field that could be stored is refused before it reaches a store (PostgreSQL text cannot
  // hold it); one in a token is just an invalid token.
  assert.equal((await b.req('/v1/token/validate', { body: { token: 'a\u0000b' } })).json.valid, false);
  for (let i = 0; i < 3; i++) {
    const login = await b.req('/v1/app/auth', { body: { client_id: `x\u0000${i}`, client_secret: 'y' } });
    problem(login, 400, 'invalid_request', 'invalid client_id: contains a NUL character');
  }
  const launch = await b.req('/v1/admin/launch-tokens', {
    token: admin,
    body: { agent_name: 'a', allowed_scope: ['read:data:*', 'x\u0000'] },
  });
  assert.equal(launch.status, 400, launch.text);
  // Writes keep working: nothing was queued that could fail the others.
  assert.equal((await b.req('/v1/health')).json.status, 'ok');
  assert.equal(
    (
      await b.req('/v1/admin/launch-tokens', {
        token: admin,
        body: { agent_name: 'a', allowed_scope: ['read:data:*'] },
      })
    ).status,
    201,
  );
});

test('register error paths consume nothing until the inputs are good', async (t) => {
  const b = await startTestBroker(t);
  const lt = await b.launchToken({ allowed_scope: ['read:data:*'] });
  const keys = nacl.sign.keyPair();
  const nonce = (await b.req('/v1/challenge')).json.nonce as string;
  const sig = Buffer.from(nacl.sign.detached(Buffer.from(nonce, 'hex'), keys.secretKey)).toString('base64');
  const good = {
    launch_token: lt,
    nonce,
    public_key: Buffer.from(keys.publicKey).toString('base64'),
    signature: sig,
    orch_id: 'o',
    task_id: 't',
    requested_scope: ['read:data:x'],
  };
  const reg = (body: unknown): Promise<TestResponse> => b.req('/v1/register', { body });
  problem(await reg('{'), 400, 'invalid_request', 'malformed JSON body');
  for (const f of ['launch_token', 'nonce', 'public_key', 'signature', 'orch_id', 'task_id', 'requested_scope']) {
    problem(await reg({ ...good, [f]: undefined }), 400, 'invalid_request', `missing required field: ${f}`);
  }
  problem(
    await reg({ ...good, requested_scope: [] }),
    400,
    'invalid_request',
    'missing required field: requested_scope',
  );
  for (const bad of ['a/b', '..', '.', '%2F', 'ü', 'x'.repeat(129)]) {
    problem(await reg({ ...good, orch_id: bad }), 400, 'invalid_request', /^invalid orch_id/);
  }
  problem(await reg({ ...good, task_id: 'a b' }), 400, 'invalid_request', /^invalid task_id/);
  problem(
    await reg({ ...good, launch_token: 'f'.repeat(64) }),
    401,
    'unauthorized',
    'launch token: launch token not found',
  );
  problem(
    await reg({ ...good, requested_scope: ['write:data:x'] }),
    403,
    'scope_violation',
    'requested scope exceeds allowed scope',
  );
  problem(
    await reg({ ...good, public_key: 'not base64!' }),
    401,
    'unauthorized',
    'invalid Ed25519 public key: base64 decode failed',
  );
  problem(
    await reg({ ...good, public_key: Buffer.from(keys.publicKey).toString('base64url') }),
    401,
    'unauthorized',
    /^invalid Ed25519 public key/,
  );
  problem(
    await reg({ ...good, public_key: Buffer.alloc(31).toString('base64') }),
    401,
    'unauthorized',
    'invalid Ed25519 public key: wrong key size',
  );
  problem(
    await reg({ ...good, public_key: Buffer.alloc(32).toString('base64') }),
    401,
    'unauthorized',
    'invalid Ed25519 public key: weak key',
  );
  problem(
    await reg({ ...good, signature: '***' }),
    401,
    'unauthorized',
    'nonce signature verification failed: base64 decode failed',
  );
  problem(await reg({ ...good, nonce: 'ab'.repeat(32) }), 401, 'unauthorized', 'nonce: nonce not found or expired');
  // A signature over the hex text (not the decoded bytes) fails — and burns the nonce.
  const hexSig = Buffer.from(nacl.sign.detached(Buffer.from(nonce, 'utf8'), keys.secretKey)).toString('base64');
  problem(await reg({ ...good, signature: hexSig }), 401, 'unauthorized', 'nonce signature verification failed');
  problem(await reg(good), 401, 'unauthorized', 'nonce: nonce already consumed');
  // The launch token survived all of that.
  const ok = await registerWith(b, lt, { scope: ['read:data:x'] });
  assert.ok(ok.agentId);
  problem(await reg(good), 401, 'unauthorized', 'launch token: launch token already consumed');
  const pv = await events(b, 'registration_policy_violation');
  assert.equal(pv[0]?.detail, 'scope violation: requested [write:data:x] exceeds allowed [read:data:*]');
});

test('concurrent registrations with one single-use launch token: exactly one wins', async (t) => {
  const b = await startTestBroker(t);
  const lt = await b.launchToken();
  const results = await Promise.allSettled(Array.from({ length: 20 }, () => registerWith(b, lt)));
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
  const multi = await b.launchToken({ single_use: false });
  const many = await Promise.allSettled(Array.from({ length: 5 }, () => registerWith(b, multi)));
  assert.equal(many.filter((r) => r.status === 'fulfilled').length, 5);
});

test('delegate, revoke, audit query and launch token input errors', async (t) => {
  const b = await startTestBroker(t);
  const admin = await b.adminToken();
  const a = await b.registerAgent({ scope: ['read:data:*'] });
  const d = (token: string, body: unknown): Promise<TestResponse> => b.req('/v1/delegate', { token, body });
  problem(await d(a.token, {}), 400, 'invalid_request', 'missing required field: delegate_to');
  problem(await d(a.token, { delegate_to: a.agentId }), 400, 'invalid_request', 'missing required field: scope');
  problem(
    await d(a.token, { delegate_to: a.agentId, scope: ['read:data:x'], ttl: 'x' }),
    400,
    'invalid_request',
    'malformed JSON body',
  );
  problem(
    await d(admin, { delegate_to: a.agentId, scope: ['admin:revoke:*'] }),
    403,
    'forbidden',
    'only agent tokens may delegate',
  );
  problem(
    await d(a.token, { delegate_to: 'spiffe://agentwrit.local/agent/x/y/z', scope: ['read:data:x'] }),
    404,
    'not_found',
    'delegate agent not found',
  );
  // Depth limit: five hops allowed, the sixth refused. A delegated token never outlives its delegator.
  let token = a.token;
  for (let i = 0; i < 5; i++) {
    const r = await d(token, { delegate_to: a.agentId, scope: ['read:data:*'], ttl: 100_000 });
    assert.equal(r.status, 200, r.text);
    assert.ok(jwtPayload(r.json.access_token).exp <= jwtPayload(a.token).exp);
    token = r.json.access_token;
  }
  problem(
    await d(token, { delegate_to: a.agentId, scope: ['read:data:*'] }),
    403,
    'scope_violation',
    'delegation depth limit exceeded',
  );

  const rv = (body: unknown): Promise<TestResponse> => b.req('/v1/revoke', { token: admin, body });
  problem(await rv({ level: 'token' }), 400, 'invalid_request', 'level and target are required');
  problem(await rv({ level: 'TOKEN', target: 'x' }), 400, 'invalid_request', 'invalid revocation level: TOKEN');
  problem(await rv('{'), 400, 'invalid_request', 'malformed JSON body');

  const q = (qs: string): Promise<TestResponse> => b.req(`/v1/audit/events${qs}`, { token: admin });
  problem(await q('?since=yesterday'), 400, 'invalid_request', /^invalid since/);
  problem(await q('?until=2026-13-01T00:00:00Z'), 400, 'invalid_request', /^invalid until/);
  problem(await q('?offset=-1'), 400, 'invalid_request', /^invalid offset/);
  problem(await q('?limit=abc'), 400, 'invalid_request', /^invalid limit/);
  const capped = await q('?limit=5000');
  assert.equal(capped.json.limit, 1000);
  const paged = await q('?limit=2&offset=1');
  assert.equal(paged.json.events.length, 2);
  assert.equal(paged.json.offset, 1);
  assert.equal(paged.json.events[0].id, 'evt-000002');
  const future = await q('?since=2999-01-01T00:00:00%2B02:00');
  assert.equal(future.json.total, 0);
  assert.deepEqual(future.json.events, []);

  const lt = (body: unknown): Promise<TestResponse> => b.req('/v1/admin/launch-tokens', { token: admin, body });
  problem(await lt({ allowed_scope: ['a:b:c'] }), 400, 'invalid_request', 'agent_name is required');
  problem(await lt({ agent_name: 'x' }), 400, 'invalid_request', 'allowed_scope must not be empty');
  problem(await lt({ agent_name: 'x', allowed_scope: ['a:b:c'], ttl: 1e12 }), 400, 'invalid_ttl', /^invalid ttl/);
  const denied = await events(b, 'launch_token_denied');
  assert.equal(denied[0]?.detail, 'launch token denied for agent= by=admin reason=agent_name is required');
});

test('admin auth: input errors, wrong secret, rate limit', async (t) => {
  const b = await startTestBroker(t);
  const auth = (body: unknown): Promise<TestResponse> => b.req('/v1/admin/auth', { body });
  problem(
    await auth({ client_id: 'x', client_secret: 'y' }),
    400,
    'invalid_request',
    'Admin auth format changed. Use {"secret": "..."} instead of client_id/client_secret',
  );
  problem(await auth('{"secret":"x"} junk'), 400, 'invalid_request', 'malformed JSON body');
  problem(await auth({}), 400, 'invalid_request', 'secret is required');
  problem(await auth({ secret: 'wrong' }), 401, 'unauthorized', 'invalid credentials');
  const ok = await auth({ Secret: ADMIN_SECRET });
  assert.equal(ok.status, 200);
  assert.deepEqual(Object.keys(ok.json), ['access_token', 'expires_in', 'token_type']);
  assert.equal(ok.json.expires_in, 300);
  // The bucket refills 5 tokens a second; with the clock held still, a slow machine cannot refill it meanwhile.
  t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
  let limited: TestResponse | undefined;
  for (let i = 0; i < 20 && limited === undefined; i++) {
    const r = await auth({ secret: 'wrong' });
    if (r.status === 429) limited = r;
  }
  assert.ok(limited, 'expected a 429');
  problem(limited, 429, 'rate_limited', 'rate limit exceeded, try again later');
  assert.equal(limited.headers['retry-after'], '1');
  const failed = await b.req('/v1/metrics');
  assert.match(failed.text, /agentwrit_admin_auth_total\{status="failure"\} \d+/);
});

test('revoking admin at agent level kills current admin tokens only', async (t) => {
  const b = await startTestBroker(t);
  const admin = await b.adminToken();
  const second = await b.adminToken();
  const r = await b.req('/v1/revoke', { token: admin, body: { level: 'agent', target: 'admin' } });
  assert.equal(r.status, 200);
  problem(await b.req('/v1/audit/events', { token: second }), 401, 'unauthorized', 'token verification failed');
  const fresh = await b.adminToken();
  assert.equal((await b.req('/v1/audit/events', { token: fresh })).status, 200);
});
