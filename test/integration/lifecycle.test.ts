/**
 * The full credential lifecycle as a client of the reference broker drives it: admin auth → launch token →
 * challenge → register → validate → renew → delegate two hops → revoke each level → audit query → release.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jwtHeader, jwtPayload, registerWith, startTestBroker } from '../helpers/broker.js';

test('full lifecycle against a real broker', async (t) => {
  const b = await startTestBroker(t);
  const admin = await b.adminToken();

  // Launch token.
  const lt = await b.req('/v1/admin/launch-tokens', {
    token: admin,
    body: { agent_name: 'data-processor', allowed_scope: ['read:data:*', 'write:data:*'], max_ttl: 300, ttl: 30 },
  });
  assert.equal(lt.status, 201);
  assert.match(lt.json.launch_token, /^[0-9a-f]{64}$/);
  assert.match(lt.json.expires_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.deepEqual(lt.json.policy, { allowed_scope: ['read:data:*', 'write:data:*'], max_ttl: 300 });

  // Challenge + register.
  const a = await registerWith(b, lt.json.launch_token, {
    scope: ['read:data:*', 'write:data:*'],
    orch: 'reporting-service',
    task: 'quarterly-report',
  });
  assert.match(a.agentId, /^spiffe:\/\/agentwrit\.local\/agent\/reporting-service\/quarterly-report\/[0-9a-f]{16}$/);
  assert.equal(a.expiresIn, 300);
  const h = jwtHeader(a.token);
  assert.equal(h.alg, 'EdDSA');
  assert.equal(h.typ, 'JWT');
  assert.equal(typeof h.kid, 'string');
  assert.ok(a.token.startsWith('eyJhbGciOiJFZERTQSIsInR5cCI6Ik'));
  const p = jwtPayload(a.token);
  assert.equal(p.iss, '');
  assert.equal(p.sub, a.agentId);
  assert.deepEqual(p.scope, ['read:data:*', 'write:data:*']);
  assert.equal(p.exp - p.iat, 300);
  assert.match(p.jti, /^[0-9a-f]{32}$/);
  assert.deepEqual(Object.keys(p), ['iss', 'sub', 'exp', 'nbf', 'iat', 'jti', 'scope', 'task_id', 'orch_id']);

  // The single-use launch token is spent.
  await assert.rejects(registerWith(b, lt.json.launch_token), /launch token already consumed/);

  // Validate.
  const v = await b.req('/v1/token/validate', { body: { token: a.token } });
  assert.equal(v.status, 200);
  assert.equal(v.json.valid, true);
  assert.equal(v.json.claims.sub, a.agentId);
  assert.equal(v.headers['content-type'], 'application/json');
  assert.ok(v.text.endsWith('}\n'));

  // Renew: new token, same identity and lifetime; the old one is dead.
  const r = await b.req('/v1/token/renew', { method: 'POST', token: a.token });
  assert.equal(r.status, 200);
  assert.deepEqual(Object.keys(r.json), ['access_token', 'expires_in']);
  assert.equal(r.json.expires_in, 300);
  const renewed = r.json.access_token as string;
  assert.notEqual(jwtPayload(renewed).jti, p.jti);
  assert.equal(jwtPayload(renewed).sub, a.agentId);
  const oldV = await b.req('/v1/token/validate', { body: { token: a.token } });
  assert.deepEqual(oldV.json, { valid: false, error: 'token is invalid or expired' });
  const oldUse = await b.req('/v1/token/renew', { method: 'POST', token: a.token });
  assert.equal(oldUse.status, 401);
  assert.equal(oldUse.json.detail, 'token verification failed');

  // Delegate two hops: A → B → C.
  const bAgent = await b.registerAgent({ scope: ['read:data:*'], orch: 'o2', task: 't2' });
  const cAgent = await b.registerAgent({ scope: ['read:data:*'], orch: 'o3', task: 't3' });
  const d1 = await b.req('/v1/delegate', {
    token: renewed,
    body: { delegate_to: bAgent.agentId, scope: ['read:data:x'], ttl: 120 },
  });
  assert.equal(d1.status, 200, d1.text);
  assert.equal(d1.json.expires_in, 120);
  assert.equal(d1.json.delegation_chain.length, 1);
  assert.equal(d1.json.delegation_chain[0].agent, a.agentId);
  assert.match(d1.json.delegation_chain[0].signature, /^[0-9a-f]{128}$/);
  const d2 = await b.req('/v1/delegate', {
    token: d1.json.access_token,
    body: { delegate_to: cAgent.agentId, scope: ['read:data:x'] },
  });
  assert.equal(d2.status, 200, d2.text);
  assert.equal(d2.json.expires_in, 60);
  assert.equal(d2.json.delegation_chain.length, 2);
  const c2 = jwtPayload(d2.json.access_token);
  assert.equal(c2.sub, cAgent.agentId);
  assert.equal(c2.task_id, 'quarterly-report');
  assert.equal(c2.orch_id, 'reporting-service');
  assert.match(c2.chain_hash, /^[0-9a-f]{64}$/);
  // Widening is refused.
  const wide = await b.req('/v1/delegate', {
    token: d1.json.access_token,
    body: { delegate_to: cAgent.agentId, scope: ['write:data:x'] },
  });
  assert.equal(wide.status, 403);
  assert.equal(wide.json.type, 'urn:agentwrit:error:scope_violation');
  assert.equal(wide.json.detail, 'delegated scope exceeds delegator scope');

  // Revoke: chain (root A) kills both delegated tokens but not A's own token.
  const rv = async (level: string, target: string): Promise<void> => {
    const res = await b.req('/v1/revoke', { token: admin, body: { level, target } });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json, { revoked: true, level, target, count: 1 });
  };
  const valid = async (token: string): Promise<boolean> =>
    (await b.req('/v1/token/validate', { body: { token } })).json.valid;
  await rv('chain', a.agentId);
  assert.equal(await valid(d1.json.access_token), false);
  assert.equal(await valid(d2.json.access_token), false);
  assert.equal(await valid(renewed), true);
  // Token level.
  await rv('token', jwtPayload(bAgent.token).jti);
  assert.equal(await valid(bAgent.token), false);
  // Task level.
  await rv('task', 't3');
  assert.equal(await valid(cAgent.token), false);
  // Agent level.
  await rv('agent', a.agentId);
  assert.equal(await valid(renewed), false);

  // Audit query.
  const audit = await b.req('/v1/audit/events?event_type=token_revoked', { token: admin });
  assert.equal(audit.status, 200);
  assert.equal(audit.json.total, 4);
  assert.equal(audit.json.events.length, 4);
  assert.equal(audit.json.limit, 100);
  assert.equal(audit.json.offset, 0);
  assert.match(audit.json.events[0].detail, /^revoked at level=chain target=spiffe:.* by=admin$/);
  const all = await b.req('/v1/audit/events?limit=1000', { token: admin });
  const types = (all.json.events as Array<{ event_type: string }>).map((e) => e.event_type);
  for (const tpe of [
    'admin_auth',
    'launch_token_issued',
    'agent_registered',
    'token_issued',
    'token_renewed',
    'delegation_created',
    'delegation_attenuation_violation',
    'token_revoked',
  ]) {
    assert.ok(types.includes(tpe), `missing ${tpe}`);
  }
  const ids = (all.json.events as Array<{ id: string }>).map((e) => e.id);
  assert.equal(ids[0], 'evt-000001');

  // Release: 204, then idempotent.
  const fresh = await b.registerAgent();
  const rel = await b.req('/v1/token/release', { method: 'POST', token: fresh.token });
  assert.equal(rel.status, 204);
  assert.equal(rel.text, '');
  assert.equal(await valid(fresh.token), false);
  const rel2 = await b.req('/v1/token/release', { method: 'POST', token: fresh.token });
  assert.equal(rel2.status, 204);
});
