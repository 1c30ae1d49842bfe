/** App-driven lifecycle and the app management routes. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jwtPayload, registerWith, startTestBroker } from '../helpers/broker.js';

test('app lifecycle: register app → app auth → launch tokens within and beyond the ceiling', async (t) => {
  const b = await startTestBroker(t);
  const admin = await b.adminToken();
  const created = await b.req('/v1/admin/apps', {
    token: admin,
    body: { name: 'weather-bot', scopes: ['read:weather:*'], token_ttl: 600 },
  });
  assert.equal(created.status, 201, created.text);
  assert.deepEqual(Object.keys(created.json), [
    'app_id',
    'name',
    'client_id',
    'client_secret',
    'scopes',
    'token_ttl',
    'status',
  ]);
  assert.match(created.json.app_id, /^app-weather-bot-[0-9a-f]{6}$/);
  assert.match(created.json.client_id, /^wb-[0-9a-f]{12}$/);
  assert.match(created.json.client_secret, /^[0-9a-f]{64}$/);
  assert.equal(created.json.name, 'weather-bot');
  assert.equal(created.json.status, 'active');
  const { client_id, client_secret, app_id } = created.json;

  const auth = await b.req('/v1/app/auth', { body: { client_id, client_secret } });
  assert.equal(auth.status, 200, auth.text);
  assert.equal(auth.json.token_type, 'Bearer');
  assert.equal(auth.json.expires_in, 600);
  assert.deepEqual(auth.json.scopes, ['app:launch-tokens:*', 'app:agents:*', 'app:audit:read']);
  const appToken = auth.json.access_token as string;
  assert.equal(jwtPayload(appToken).sub, `app:${app_id}`);

  const within = await b.req('/v1/app/launch-tokens', {
    token: appToken,
    body: { agent_name: 'w1', allowed_scope: ['read:weather:berlin'] },
  });
  assert.equal(within.status, 201, within.text);
  const agent = await registerWith(b, within.json.launch_token, { scope: ['read:weather:berlin'] });
  assert.ok(agent.agentId.startsWith('spiffe://'));

  const beyond = await b.req('/v1/app/launch-tokens', {
    token: appToken,
    body: { agent_name: 'w2', allowed_scope: ['write:weather:*'] },
  });
  assert.equal(beyond.status, 403);
  assert.equal(beyond.json.error_code, 'forbidden');
  assert.equal(beyond.json.detail, 'requested scopes exceed app ceiling; allowed: [read:weather:*]');

  // Cross-route: app token on the admin route and admin token on the app route.
  const cross1 = await b.req('/v1/admin/launch-tokens', {
    token: appToken,
    body: { agent_name: 'x', allowed_scope: ['a:b:c'] },
  });
  assert.equal(cross1.status, 403);
  assert.equal(cross1.json.detail, 'token lacks required scope: admin:launch-tokens:*');
  const cross2 = await b.req('/v1/app/launch-tokens', {
    token: admin,
    body: { agent_name: 'x', allowed_scope: ['a:b:c'] },
  });
  assert.equal(cross2.status, 403);
  assert.equal(cross2.json.error_code, 'insufficient_scope');

  // Wrong secret, unknown client.
  const wrong = await b.req('/v1/app/auth', { body: { client_id, client_secret: 'f'.repeat(64) } });
  assert.equal(wrong.status, 401);
  assert.equal(wrong.json.detail, 'Authentication failed');
  const unknown = await b.req('/v1/app/auth', { body: { client_id: 'zz-000000000000', client_secret: 'x' } });
  assert.equal(unknown.status, 401);

  // List, get, update (atomic), delete.
  const list = await b.req('/v1/admin/apps', { token: admin });
  assert.equal(list.status, 200);
  assert.equal(list.json.total, 1);
  assert.deepEqual(Object.keys(list.json.apps[0]), [
    'app_id',
    'name',
    'client_id',
    'scopes',
    'token_ttl',
    'status',
    'created_at',
    'updated_at',
  ]);
  const got = await b.req(`/v1/admin/apps/${app_id}`, { token: admin });
  assert.equal(got.json.name, 'weather-bot');
  const badPut = await b.req(`/v1/admin/apps/${app_id}`, {
    method: 'PUT',
    token: admin,
    body: { scopes: ['read:x:*'], token_ttl: 5 },
  });
  assert.equal(badPut.status, 400);
  assert.equal(badPut.json.error_code, 'invalid_ttl');
  const unchanged = await b.req(`/v1/admin/apps/${app_id}`, { token: admin });
  assert.deepEqual(unchanged.json.scopes, ['read:weather:*']);
  const put = await b.req(`/v1/admin/apps/${app_id}`, {
    method: 'PUT',
    token: admin,
    body: { scopes: ['read:weather:*', 'read:news:*'], token_ttl: 120 },
  });
  assert.equal(put.status, 200, put.text);
  assert.deepEqual(put.json.scopes, ['read:weather:*', 'read:news:*']);
  assert.equal(put.json.token_ttl, 120);
  const dup = await b.req('/v1/admin/apps', { token: admin, body: { name: 'weather-bot', scopes: ['a:b:c'] } });
  assert.equal(dup.status, 409);
  assert.equal(dup.json.error_code, 'conflict');

  const del = await b.req(`/v1/admin/apps/${app_id}`, { method: 'DELETE', token: admin });
  assert.equal(del.status, 200);
  assert.equal(del.json.status, 'inactive');
  assert.equal(del.json.name, 'weather-bot');
  assert.match(del.json.deregistered_at, /Z$/);
  // The deregistered app's token stops working at once, and it can no longer authenticate.
  const after = await b.req('/v1/app/launch-tokens', {
    token: appToken,
    body: { agent_name: 'w3', allowed_scope: ['read:weather:x'] },
  });
  assert.equal(after.status, 401);
  assert.equal(after.json.detail, 'token verification failed');
  const reauth = await b.req('/v1/app/auth', { body: { client_id, client_secret } });
  assert.equal(reauth.status, 401);
  const notFound = await b.req('/v1/admin/apps/app-nope-000000', { token: admin });
  assert.equal(notFound.status, 404);
  assert.equal(notFound.json.detail, 'app not found');
});

test('app registration validation', async (t) => {
  const b = await startTestBroker(t);
  const admin = await b.adminToken();
  const cases: [unknown, number, string][] = [
    [{}, 400, 'name is required'],
    [{ name: 'ok-name' }, 400, 'scopes must not be empty'],
    [
      { name: 'ok-name', scopes: ['a:b:c'], token_ttl: 0 },
      400,
      'invalid token TTL: must be between 60 and 86400 seconds, got 0',
    ],
    [
      { name: 'Bad', scopes: ['a:b:c'] },
      400,
      'invalid app name: must be lowercase letters, digits, and hyphens (2-64 characters, starting with a letter)',
    ],
    [{ name: 'ok-name', scopes: ['a:b'] }, 400, 'invalid scope format: use action:resource:identifier'],
    [
      { name: 'ok-name', scopes: ['a:b:c'], token_ttl: 86401 },
      400,
      'invalid token TTL: must be between 60 and 86400 seconds, got 86401',
    ],
    [{ name: 'ok-name', scopes: 'a:b:c' }, 400, 'malformed JSON body'],
  ];
  for (const [body, status, detail] of cases) {
    const r = await b.req('/v1/admin/apps', { token: admin, body });
    assert.equal(r.status, status, JSON.stringify(body));
    assert.equal(r.json.detail, detail);
    assert.equal(r.headers['content-type'], 'application/problem+json');
  }
  const none = await b.req('/v1/admin/apps/app-x-000000', { method: 'PUT', token: admin, body: {} });
  assert.equal(none.json.detail, 'at least one of scopes or token_ttl must be provided');
});
