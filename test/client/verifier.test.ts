/** The resource-server verifier against the real broker: every check, and a signing-key rotation. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AgentWritApp, createVerifier, VerificationError, type VerifyCheck } from '../../src/client/index.js';
import { startTestBroker } from '../helpers/broker.js';
import { createApp } from './support.js';

const rejectsWith = (p: Promise<unknown>, check: VerifyCheck) =>
  assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof VerificationError, String(e));
    assert.equal(e.check, check, e.message);
    return true;
  });

function forge(
  token: string,
  edit: (header: Record<string, unknown>, claims: Record<string, unknown>) => void,
): string {
  const [h, p, s] = token.split('.') as [string, string, string];
  const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as Record<string, unknown>;
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
  edit(header, claims);
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${enc(header)}.${enc(claims)}.${s}`;
}

test('verifier: signature, time, issuer, audience, scope and revocation checks', async (t) => {
  const b = await startTestBroker(t, { env: { AA_AUDIENCE: 'orders-api', AA_ISSUER: 'https://broker.test' } });
  const app = new AgentWritApp({
    brokerUrl: b.url,
    ...(await createApp(b, 'verifier', { scopes: ['read:orders:*'] })),
  });
  t.after(() => app.close());
  const agent = await app.createAgent({ orchId: 'shop', taskId: 'orders', requestedScope: ['read:orders:*'] });
  const token = agent.accessToken;

  const v = createVerifier({ brokerUrl: b.url, audience: 'orders-api', issuer: 'https://broker.test' });
  t.after(() => v.close());
  const claims = await v.verify(token, { requiredScope: ['read:orders:42'] });
  assert.equal(claims.sub, agent.agentId);
  assert.deepEqual(claims.aud, ['orders-api']);
  await rejectsWith(v.verify(token, { requiredScope: ['write:orders:42'] }), 'scope');

  await rejectsWith(v.verify('not-a-token'), 'malformed');
  await rejectsWith(v.verify(''), 'malformed');
  await rejectsWith(v.verify(forge(token, (h) => (h.alg = 'none'))), 'algorithm');
  await rejectsWith(v.verify(forge(token, (_h, c) => (c.scope = ['read:orders:*', 'write:orders:*']))), 'signature');
  await rejectsWith(v.verify(forge(token, (h) => (h.kid = 'no-such-key'))), 'unknown_key');

  const wrongAudience = createVerifier({ brokerUrl: b.url, audience: 'billing-api', revocation: 'none' });
  const wrongIssuer = createVerifier({ brokerUrl: b.url, issuer: 'https://elsewhere.test', revocation: 'none' });
  const past = createVerifier({ brokerUrl: b.url, revocation: 'none', clock: () => (claims.exp + 1) * 1000 });
  const before = createVerifier({ brokerUrl: b.url, revocation: 'none', clock: () => (claims.nbf - 1) * 1000 });
  t.after(() => {
    for (const x of [wrongAudience, wrongIssuer, past, before]) x.close();
  });
  await rejectsWith(wrongAudience.verify(token), 'audience');
  await rejectsWith(wrongIssuer.verify(token), 'issuer');
  await rejectsWith(past.verify(token), 'expired');
  await rejectsWith(before.verify(token), 'not_yet_valid');
  // The last second of the lifetime still counts, as at the broker.
  const edge = createVerifier({ brokerUrl: b.url, revocation: 'none', clock: () => claims.exp * 1000 + 999 });
  assert.equal((await edge.verify(token)).jti, claims.jti);
  edge.close();

  // Revocation: only the round trip to the broker can see a released token.
  const trusting = createVerifier({ brokerUrl: b.url, revocation: 'none' });
  t.after(() => trusting.close());
  await agent.release();
  await rejectsWith(v.verify(token), 'revoked');
  assert.equal((await trusting.verify(token)).jti, claims.jti, "revocation: 'none' trusts an unexpired signed token");
});

test('verifier: a rotated broker key is picked up through an unknown kid; retired keys drop out', async (t) => {
  const b = await startTestBroker(t);
  const admin = await b.adminToken();
  const app = new AgentWritApp({ brokerUrl: b.url, ...(await createApp(b, 'rotation')) });
  t.after(() => app.close());
  const oldAgent = await app.createAgent({ orchId: 'o', taskId: 'before', requestedScope: ['read:data:x'] });
  // The verifier's clock runs ahead on demand: past its one-second guard against JWKS refetch floods, and past
  // its JWKS cache lifetime.
  let ahead = 0;
  const v = createVerifier({
    brokerUrl: b.url,
    revocation: 'none',
    jwksCacheMs: 60_000,
    clock: () => Date.now() + ahead,
  });
  t.after(() => v.close());
  assert.equal((await v.verify(oldAgent.accessToken)).sub, oldAgent.agentId);

  assert.equal((await b.req('/v1/admin/keys/rotate', { token: admin, body: {} })).status, 200);
  const newAgent = await app.createAgent({ orchId: 'o', taskId: 'after', requestedScope: ['read:data:x'] });
  assert.notEqual(newAgent.accessToken.split('.')[0], oldAgent.accessToken.split('.')[0], 'different kid');
  ahead += 1_000;
  assert.equal((await v.verify(newAgent.accessToken)).sub, newAgent.agentId);
  // The previous key is retiring: still published, its tokens still verify.
  assert.equal((await v.verify(oldAgent.accessToken)).sub, oldAgent.agentId);

  // Emergency rotation: every earlier key is retired. Once the verifier's cached JWKS expires, their tokens fail.
  assert.equal((await b.req('/v1/admin/keys/rotate', { token: admin, body: { revoke_previous: true } })).status, 200);
  ahead += 61_000;
  await rejectsWith(v.verify(oldAgent.accessToken), 'unknown_key');
  await rejectsWith(v.verify(newAgent.accessToken), 'unknown_key');
});
