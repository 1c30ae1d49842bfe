/**
 * Secrets: after a workload that handles every kind of secret — including clients that put secrets where they do
 * not belong (paths, request ids, wrong fields, error-provoking bodies) — no log line, audit event, metrics
 * label or error body contains the admin secret, a client secret, a launch token, a full JWT or key material.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { ADMIN_SECRET, registerWith, startTestBroker } from '../helpers/broker.js';
import type { TestResponse } from '../helpers/http.js';
import { assertNoSecrets, keyMaterial } from './support.js';

test('no secret appears in logs, audit events, metrics or error bodies', async (t) => {
  const b = await startTestBroker(t, { env: { AA_LOG_LEVEL: 'trace' } });
  const errors: TestResponse[] = [];
  const req = async (...args: Parameters<typeof b.req>): Promise<TestResponse> => {
    const r = await b.req(...args);
    if (r.status >= 400) errors.push(r);
    return r;
  };
  const admin = await b.adminToken();
  const app = (await req('/v1/admin/apps', { token: admin, body: { name: 'secret-app', scopes: ['read:data:*'] } }))
    .json;
  const appToken = (await req('/v1/app/auth', { body: { client_id: app.client_id, client_secret: app.client_secret } }))
    .json.access_token as string;
  const lt = (
    await req('/v1/app/launch-tokens', {
      token: appToken,
      body: { agent_name: 's', allowed_scope: ['read:data:*'], single_use: false },
    })
  ).json.launch_token as string;
  const agent = await registerWith(b, lt, { scope: ['read:data:*'] });
  const peer = await registerWith(b, lt, { scope: ['read:data:*'], orch: 'o2' });
  const delegated = (
    await req('/v1/delegate', { token: agent.token, body: { delegate_to: peer.agentId, scope: ['read:data:x'] } })
  ).json.access_token as string;
  const renewal = await req('/v1/token/renew', { method: 'POST', token: peer.token });
  assert.equal(renewal.status, 200, renewal.text);
  const renewed = renewal.json.access_token as string;
  const secrets = [
    ADMIN_SECRET,
    app.client_secret,
    lt,
    admin,
    appToken,
    agent.token,
    peer.token,
    delegated,
    renewed,
    ...keyMaterial(join(b.dir, 'signing.key')),
  ];

  // Wrong and misplaced secrets. Text a client sends as a non-secret field (a path, a scope, a client_id, a
  // request id) is logged and audited as sent, by design; query strings are never logged.
  await req(`/v1/nope?secret=${ADMIN_SECRET}&token=${admin}`);
  await req(`/v1/admin/apps?client_secret=${app.client_secret}`, { token: `${admin}x` });
  await req('/v1/admin/auth', { body: { secret: `${ADMIN_SECRET}x` } });
  await req('/v1/admin/auth', { body: { client_id: 'admin', client_secret: ADMIN_SECRET } });
  await req('/v1/admin/auth', { body: `{"secret":"${ADMIN_SECRET}"` });
  await req('/v1/app/auth', {
    body: { client_id: app.client_id, client_secret: `${app.client_secret.slice(0, -1)}0` },
  });
  await req('/v1/app/auth', { body: { client_id: 'nobody', client_secret: ADMIN_SECRET } });
  await req('/v1/register', {
    body: {
      launch_token: lt,
      nonce: 'x',
      public_key: 'x',
      signature: 'x',
      orch_id: 'o',
      task_id: 't',
      requested_scope: ['write:data:*'],
    },
  });
  await req('/v1/register', {
    body: {
      launch_token: `${lt}0`,
      nonce: 'x',
      public_key: 'x',
      signature: 'x',
      orch_id: 'o',
      task_id: 't',
      requested_scope: ['a:b:c'],
    },
  });
  await req('/v1/register', {
    body: {
      launch_token: lt,
      nonce: 'x',
      public_key: 'x',
      signature: 'x',
      orch_id: ADMIN_SECRET,
      task_id: admin,
      requested_scope: ['read:data:*'],
    },
  });
  await req('/v1/token/validate', { body: { token: `${admin}x` } });
  await req('/v1/token/validate', { body: { token: renewed.split('.').reverse().join('.') } });
  await req('/v1/revoke', { token: `${admin}x`, body: { level: 'agent', target: 'x' } });
  await req('/v1/revoke', { token: admin, body: { level: 'everything', target: lt } });
  await req('/v1/revoke', { token: appToken, body: { level: 'token', target: admin } });
  await req('/v1/delegate', { token: agent.token, body: { delegate_to: app.client_secret, scope: ['read:data:x'] } });
  await req('/v1/delegate', { token: agent.token, body: { delegate_to: peer.agentId, scope: ['write:data:*'] } });
  await req('/v1/admin/launch-tokens', { token: admin, body: { agent_name: '', allowed_scope: [lt] } });
  await req('/v1/admin/apps', { token: admin, body: { name: 'secret-app', scopes: ['a:b:c'] } });
  await req('/v1/token/release', { method: 'POST', token: agent.token });
  await req('/v1/token/release', { method: 'POST', token: agent.token });
  await req('/v1/token/renew', { method: 'POST', token: agent.token });
  assert.ok(errors.length >= 15);

  const audit = await b.req('/v1/audit/events?limit=1000', { token: await b.adminToken() });
  assert.ok(audit.json.total > 20);
  const metrics = await b.req('/v1/metrics');
  assertNoSecrets('logs', b.logs, secrets);
  assertNoSecrets('audit events', [audit.text], secrets);
  assertNoSecrets('metrics', [metrics.text], secrets);
  assertNoSecrets(
    'error bodies',
    errors.map((r) => `${JSON.stringify(r.headers)} ${r.text}`),
    secrets,
  );
});
