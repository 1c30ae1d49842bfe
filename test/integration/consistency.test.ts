/**
 * State stays consistent across await points and failures: a concurrent deregistration is not undone by an app
 * login, a token being signed is visible to a revocation of its subject, renewals never extend a delegated token,
 * deregistered apps' launch tokens stop working, and the app-auth bucket follows the client_id authenticated.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import bcrypt from 'bcryptjs';
import { issueToken } from '../../src/services/operations/tokens.js';
import { jwtPayload, registerWith, startTestBroker } from '../helpers/broker.js';

test('an app login racing a deregistration does not bring the app back', async (t) => {
  const b = await startTestBroker(t);
  const admin = await b.adminToken();
  const created = (await b.req('/v1/admin/apps', { token: admin, body: { name: 'legacy-app', scopes: ['read:x:*'] } }))
    .json;
  // As imported from a Go database: a bcrypt hash, whose check takes long enough for the race.
  const s = b.handle.services;
  const app = s.apps.get(created.app_id);
  assert.ok(app);
  s.apps.put({ ...app, client_secret_hash: bcrypt.hashSync(created.client_secret, 10) });
  const login = b.req('/v1/app/auth', { body: { client_id: created.client_id, client_secret: created.client_secret } });
  await new Promise((r) => setTimeout(r, 5));
  const del = await b.req(`/v1/admin/apps/${created.app_id}`, { method: 'DELETE', token: admin });
  assert.equal(del.status, 200);
  await login;
  const after = await b.req(`/v1/admin/apps/${created.app_id}`, { token: admin });
  assert.equal(after.json.status, 'inactive');
  const again = await b.req('/v1/app/auth', {
    body: { client_id: created.client_id, client_secret: created.client_secret },
  });
  assert.equal(again.status, 401);
});

test('a token of a non-agent subject is tracked before its signature is awaited', async (t) => {
  const b = await startTestBroker(t);
  const s = b.handle.services;
  const now = Math.floor(Date.now() / 1000);
  const before = s.issued.live('admin', now).length;
  const pending = issueToken(s, s.begin(), { sub: 'admin', scope: ['admin:audit:*'], ttl: 60 });
  assert.equal(s.issued.live('admin', now).length, before + 1, 'visible while signing');
  await pending;
});

test('renewing a delegated token never extends it past the delegator', async (t) => {
  const b = await startTestBroker(t);
  const a = await b.registerAgent({ scope: ['read:data:*'], launchBody: { max_ttl: 120 } });
  const target = await b.registerAgent({ scope: ['read:data:*'] });
  const d = await b.req('/v1/delegate', {
    token: a.token,
    body: { delegate_to: target.agentId, scope: ['read:data:x'], ttl: 3600 },
  });
  assert.equal(d.status, 200);
  const delegatedExp = jwtPayload(d.json.access_token).exp as number;
  assert.ok(delegatedExp <= (jwtPayload(a.token).exp as number));
  let token = d.json.access_token as string;
  for (let i = 0; i < 2; i++) {
    const r = await b.req('/v1/token/renew', { method: 'POST', token });
    assert.equal(r.status, 200, r.text);
    token = r.json.access_token;
    assert.ok((jwtPayload(token).exp as number) <= delegatedExp, 'renewal extended a delegated token');
  }
});

test("explicit token revocations never expire; a deregistered app's launch tokens stop working", async (t) => {
  const b = await startTestBroker(t);
  const admin = await b.adminToken();
  const agent = await b.registerAgent();
  await b.req('/v1/revoke', { token: admin, body: { level: 'token', target: jwtPayload(agent.token).jti } });
  const row = b.handle.services.revocations.get('token', jwtPayload(agent.token).jti);
  assert.ok(row);
  assert.equal(row.expires_at, null);

  const app = (await b.req('/v1/admin/apps', { token: admin, body: { name: 'short-lived', scopes: ['read:x:*'] } }))
    .json;
  const appToken = (
    await b.req('/v1/app/auth', { body: { client_id: app.client_id, client_secret: app.client_secret } })
  ).json.access_token;
  const lt = (
    await b.req('/v1/app/launch-tokens', { token: appToken, body: { agent_name: 'a', allowed_scope: ['read:x:1'] } })
  ).json.launch_token;
  await b.req(`/v1/admin/apps/${app.app_id}`, { method: 'DELETE', token: admin });
  await assert.rejects(registerWith(b, lt, { scope: ['read:x:1'] }), /issuing app is deregistered/);
});

test('the app-auth bucket is keyed by the client_id that is authenticated', async (t) => {
  const b = await startTestBroker(t);
  t.mock.timers.enable({ apis: ['Date'], now: Date.now() }); // no refill between the attempts, however slow
  const statuses: number[] = [];
  for (let i = 0; i < 6; i++) {
    const body = `{"client_id":"decoy-${i}","CLIENT_ID":"wb-000000000000","client_secret":"x"}`;
    statuses.push((await b.req('/v1/app/auth', { body })).status);
  }
  assert.ok(statuses.includes(429), `no 429 in ${statuses.join(',')}`);
});

test('denials on a path with client-chosen ids fold into one row per route', async (t) => {
  const b = await startTestBroker(t);
  for (let i = 0; i < 30; i++) assert.equal((await b.req(`/v1/admin/apps/app-${i}-${'z'.repeat(300)}`)).status, 401);
  const admin = await b.adminToken();
  const r = await b.req('/v1/audit/events?event_type=token_auth_failed', { token: admin });
  assert.equal(r.json.total, 1);
  assert.ok((r.json.events[0].resource as string).length < 300);
});
