/**
 * Scopes and privilege: delegation only narrows, stops at depth 5, never outlives its delegator and is for agents
 * only; every token kind is held to its own routes; an app stays under its ceiling; a deregistered app's token dies.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jwtPayload, registerWith, startTestBroker } from '../helpers/broker.js';

test('delegation cannot widen, deepen past 5, outlive the delegator, or start from a non-agent token', async (t) => {
  const b = await startTestBroker(t);
  const root = await b.registerAgent({
    scope: ['read:data:*', 'write:data:x'],
    launchBody: { allowed_scope: ['read:data:*', 'write:data:x'], max_ttl: 120 },
  });
  const peer = await b.registerAgent({ scope: ['read:data:*'] });
  const deleg = (token: string, body: Record<string, unknown>) =>
    b.req('/v1/delegate', { token, body: { delegate_to: peer.agentId, ...body } });

  for (const scope of [
    ['write:data:*'],
    ['read:data:*', 'write:data:y'],
    ['read:*:*'],
    ['admin:revoke:*'],
    ['*:*:*'],
  ]) {
    const r = await deleg(root.token, { scope });
    assert.equal(r.status, 403, `widen to ${scope}`);
    assert.equal(r.json.error_code, 'scope_violation');
  }

  // A chain of five delegations works; the sixth is refused.
  let token = root.token;
  for (let depth = 1; depth <= 5; depth++) {
    const r = await deleg(token, { scope: ['read:data:x'], ttl: 3600 });
    assert.equal(r.status, 200, `depth ${depth}: ${r.text}`);
    assert.equal(r.json.delegation_chain.length, depth);
    // Never outlives the token that created it, whatever ttl was asked for.
    assert.ok(jwtPayload(r.json.access_token).exp <= jwtPayload(token).exp, `depth ${depth} outlives its delegator`);
    token = r.json.access_token as string;
  }
  const sixth = await deleg(token, { scope: ['read:data:x'] });
  assert.equal(sixth.status, 403);
  assert.equal(sixth.json.detail, 'delegation depth limit exceeded');

  // Unregistered delegate, ttl beyond ten years.
  assert.equal(
    (
      await b.req('/v1/delegate', {
        token: root.token,
        body: { delegate_to: 'spiffe://agentwrit.local/agent/x/y/z', scope: ['read:data:x'] },
      })
    ).status,
    404,
  );
  assert.equal((await deleg(root.token, { scope: ['read:data:x'], ttl: 1e12 })).status, 400);

  // Admin and app tokens cannot delegate, even to scopes they hold.
  const admin = await b.adminToken();
  const adminDeleg = await deleg(admin, { scope: ['admin:audit:*'] });
  assert.equal(adminDeleg.status, 403);
  assert.equal(adminDeleg.json.detail, 'only agent tokens may delegate');
  const app = await b.req('/v1/admin/apps', { token: admin, body: { name: 'deleg-app', scopes: ['read:data:*'] } });
  const appTok = (
    await b.req('/v1/app/auth', { body: { client_id: app.json.client_id, client_secret: app.json.client_secret } })
  ).json.access_token as string;
  assert.equal((await deleg(appTok, { scope: ['app:launch-tokens:*'] })).status, 403);
});

test('each token kind is held to its own routes; app ceilings hold; a deregistered app is dead everywhere', async (t) => {
  const b = await startTestBroker(t);
  const admin = await b.adminToken();
  const agent = await b.registerAgent({ scope: ['read:data:*'] });
  const created = await b.req('/v1/admin/apps', {
    token: admin,
    body: { name: 'ceiling-app', scopes: ['read:data:*'] },
  });
  assert.equal(created.status, 201);
  const auth = await b.req('/v1/app/auth', {
    body: { client_id: created.json.client_id, client_secret: created.json.client_secret },
  });
  const app = auth.json.access_token as string;

  const adminRoutes: [string, string, unknown][] = [
    ['POST', '/v1/revoke', { level: 'agent', target: 'x' }],
    ['GET', '/v1/audit/events', undefined],
    ['POST', '/v1/admin/launch-tokens', { agent_name: 'a', allowed_scope: ['read:data:*'] }],
    ['POST', '/v1/admin/apps', { name: 'evil-app', scopes: ['read:data:*'] }],
    ['GET', '/v1/admin/apps', undefined],
    ['GET', `/v1/admin/apps/${created.json.app_id}`, undefined],
    ['PUT', `/v1/admin/apps/${created.json.app_id}`, { scopes: ['admin:revoke:*'] }],
    ['DELETE', `/v1/admin/apps/${created.json.app_id}`, undefined],
  ];
  for (const [who, token] of [
    ['app', app],
    ['agent', agent.token],
  ] as const) {
    for (const [method, path, body] of adminRoutes) {
      const r = await b.req(path, { method, token, body });
      assert.equal(r.status, 403, `${who} token on ${method} ${path}`);
      assert.equal(r.json.error_code, 'insufficient_scope');
    }
  }
  for (const [who, token] of [
    ['admin', admin],
    ['agent', agent.token],
  ] as const) {
    const r = await b.req('/v1/app/launch-tokens', {
      token,
      body: { agent_name: 'a', allowed_scope: ['read:data:*'] },
    });
    assert.equal(r.status, 403, `${who} token on the app route`);
  }
  // Nothing above changed the app.
  assert.deepEqual((await b.req(`/v1/admin/apps/${created.json.app_id}`, { token: admin })).json.scopes, [
    'read:data:*',
  ]);

  // The app's launch tokens stay under its ceiling, and what it mints cannot register wider.
  for (const scope of [['write:data:*'], ['read:data:*', 'admin:revoke:*'], ['read:*:*']]) {
    const r = await b.req('/v1/app/launch-tokens', { token: app, body: { agent_name: 'a', allowed_scope: scope } });
    assert.equal(r.status, 403, `ceiling ${scope}`);
  }
  const lt = await b.req('/v1/app/launch-tokens', {
    token: app,
    body: { agent_name: 'a', allowed_scope: ['read:data:x'] },
  });
  assert.equal(lt.status, 201);
  await assert.rejects(registerWith(b, lt.json.launch_token as string, { scope: ['read:data:*'] }), /403/);

  // Deregistered: the live app token is refused on every route, by validate, and the app cannot log in again.
  assert.equal((await b.req(`/v1/admin/apps/${created.json.app_id}`, { method: 'DELETE', token: admin })).status, 200);
  for (const [path, body] of [
    ['/v1/app/launch-tokens', { agent_name: 'a', allowed_scope: ['read:data:x'] }],
    ['/v1/token/renew', {}],
    ['/v1/delegate', { delegate_to: agent.agentId, scope: ['x:y:z'] }],
  ] as const) {
    const r = await b.req(path, { token: app, body });
    assert.equal(r.status, 401, path);
    assert.equal(r.json.detail, 'token verification failed');
  }
  assert.equal((await b.req('/v1/token/validate', { body: { token: app } })).json.valid, false);
  const again = await b.req('/v1/app/auth', {
    body: { client_id: created.json.client_id, client_secret: created.json.client_secret },
  });
  assert.equal(again.status, 401);
});
