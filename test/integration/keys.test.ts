/**
 * Signing-key rotation against a real broker: tokens of the previous key keep verifying while it retires, the JWKS
 * follows every state, the states survive a restart, retirement and rotation by age happen in housekeeping on a
 * driven clock, and `revoke_previous` kills earlier tokens at once, even those in the verified cache.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { startBroker } from '../../src/broker.js';
import { loadConfig } from '../../src/config/config.js';
import { createLogger } from '../../src/observability/log.js';
import { housekeeping } from '../../src/services/operations/system.js';
import { jwtHeader, startTestBroker, type TestBroker } from '../helpers/broker.js';

const valid = async (b: TestBroker, token: string): Promise<boolean> =>
  (await b.req('/v1/token/validate', { body: { token } })).json.valid === true;

const jwksKids = async (b: TestBroker, path = '/.well-known/jwks.json'): Promise<string[]> => {
  const r = await b.req(path);
  assert.equal(r.status, 200);
  assert.equal(r.headers['cache-control'], 'public, max-age=60');
  return (r.json.keys as Array<{ kid: string }>).map((k) => k.kid);
};

const keyStates = async (b: TestBroker, admin: string): Promise<Record<string, string>> => {
  const r = await b.req('/v1/admin/keys', { token: admin });
  assert.equal(r.status, 200, r.text);
  return Object.fromEntries((r.json.keys as Array<{ kid: string; state: string }>).map((k) => [k.kid, k.state]));
};

test('rotate: old and new tokens verify, the JWKS lists both, and a restart keeps both keys and their states', async (t) => {
  const b1 = await startTestBroker(null, { keepDir: true, env: { AA_MAX_TTL: '600' } });
  t.after(() => b1.stop());
  const oldAdmin = await b1.adminToken();
  const agent = await b1.registerAgent();
  const oldKid = jwtHeader(agent.token).kid as string;
  assert.deepEqual(await jwksKids(b1), [oldKid]);
  assert.deepEqual(await keyStates(b1, oldAdmin), { [oldKid]: 'active' });

  const rot = await b1.req('/v1/admin/keys/rotate', { method: 'POST', token: oldAdmin });
  assert.equal(rot.status, 200, rot.text);
  const newKid = rot.json.kid as string;
  assert.notEqual(newKid, oldKid);
  assert.equal(rot.json.previous.length, 1);
  assert.equal(rot.json.previous[0].kid, oldKid);
  assert.equal(rot.json.previous[0].state, 'retiring');
  // The overlap is AA_MAX_TTL: every token the old key signed has expired by then.
  const retireAt = Date.parse(rot.json.previous[0].retire_at as string);
  const rotatedAt = Date.parse(rot.json.previous[0].rotated_at as string);
  assert.equal(retireAt - rotatedAt, 600_000);
  // The key file now holds the new key only, still private to the broker.
  assert.equal(statSync(b1.env.AA_SIGNING_KEY_PATH as string).mode & 0o777, 0o600);

  const newAdmin = await b1.adminToken();
  assert.equal(jwtHeader(newAdmin).kid, newKid);
  assert.equal(await valid(b1, agent.token), true, 'a token of the retiring key still verifies');
  assert.equal(await valid(b1, newAdmin), true);
  assert.equal((await b1.req('/v1/audit/events?event_type=signing_key_rotated', { token: oldAdmin })).status, 200);
  assert.deepEqual(await jwksKids(b1), [newKid, oldKid]);
  assert.deepEqual(await jwksKids(b1, '/v1/jwks'), [newKid, oldKid]);
  const audit = await b1.req('/v1/audit/events?event_type=signing_key_rotated', { token: newAdmin });
  assert.equal(audit.json.total, 1);
  assert.equal(
    audit.json.events[0].detail,
    `kid=${newKid} retiring=[${oldKid}] retired=[] reason=request rotated_by=admin`,
  );
  await b1.stop();

  const b2 = await startTestBroker(t, { dir: b1.dir });
  assert.deepEqual(await keyStates(b2, await b2.adminToken()), { [newKid]: 'active', [oldKid]: 'retiring' });
  assert.deepEqual(await jwksKids(b2), [newKid, oldKid]);
  // After the restart neither token is in the verified cache: both are checked with Ed25519 against their own key.
  assert.equal(await valid(b2, agent.token), true);
  assert.equal(await valid(b2, newAdmin), true);
});

test('a retiring key stops verifying once housekeeping retires it (driven clock)', async (t) => {
  const b = await startTestBroker(t, { env: { AA_MAX_TTL: '600' } });
  const admin = await b.adminToken();
  const agent = await b.registerAgent();
  const oldKid = jwtHeader(agent.token).kid as string;
  const rot = await b.req('/v1/admin/keys/rotate', { method: 'POST', token: admin, body: {} });
  assert.equal(rot.status, 200);
  const s = b.handle.services;
  const now = Date.now();
  assert.equal((await housekeeping(s, now + 300_000)).signing_keys_retired, 0, 'halfway through the overlap');
  assert.equal(await valid(b, agent.token), true);
  assert.equal((await housekeeping(s, now + 602_000)).signing_keys_retired, 1);
  // The agent token's own exp has not passed on the real clock: only the retirement stops it, cached or not.
  assert.equal(await valid(b, agent.token), false);
  assert.equal((await b.req('/v1/token/renew', { method: 'POST', token: agent.token })).status, 401);
  assert.deepEqual(await jwksKids(b), [rot.json.kid]);
  assert.equal((await keyStates(b, await b.adminToken()))[oldKid], 'retired');
});

test('revoke_previous retires every earlier key at once, killing cached tokens', async (t) => {
  const b = await startTestBroker(t);
  const admin1 = await b.adminToken(); // issued here, so in the verified cache
  const agent = await b.registerAgent();
  assert.equal(await valid(b, agent.token), true);
  const first = await b.req('/v1/admin/keys/rotate', { method: 'POST', token: admin1 });
  const admin2 = await b.adminToken();
  assert.equal(await valid(b, admin2), true);

  const second = await b.req('/v1/admin/keys/rotate', {
    method: 'POST',
    token: admin2,
    body: { revoke_previous: true },
  });
  assert.equal(second.status, 200, second.text);
  const states = Object.fromEntries(
    (second.json.previous as Array<{ kid: string; state: string }>).map((k) => [k.kid, k.state]),
  );
  assert.deepEqual(states, { [first.json.kid]: 'retired', [jwtHeader(admin1).kid as string]: 'retired' });
  for (const old of [admin1, admin2, agent.token]) {
    assert.equal(await valid(b, old), false);
    assert.equal((await b.req('/v1/admin/keys', { token: old })).status, 401);
  }
  assert.deepEqual(await jwksKids(b), [second.json.kid]);
  const admin3 = await b.adminToken();
  assert.equal(await valid(b, admin3), true);
  const audit = await b.req('/v1/audit/events?event_type=signing_key_rotated', { token: admin3 });
  assert.match(
    audit.json.events[1].detail,
    /^kid=\S+ retiring=\[\] retired=\[\S+ \S+\] reason=request rotated_by=admin$/,
  );
});

test('AA_SIGNING_KEY_MAX_AGE: housekeeping rotates a key once it is older', async (t) => {
  const b = await startTestBroker(t, { env: { AA_SIGNING_KEY_MAX_AGE: '1h' } });
  const s = b.handle.services;
  const first = s.tokens.kid;
  const now = Date.now();
  assert.equal((await housekeeping(s, now + 1800_000)).signing_keys_rotated, 0);
  assert.equal(s.tokens.kid, first);
  assert.equal((await housekeeping(s, now + 3601_000)).signing_keys_rotated, 1);
  const second = s.tokens.kid;
  assert.notEqual(second, first);
  // The new key's age counts from that rotation.
  assert.equal((await housekeeping(s, now + 3700_000)).signing_keys_rotated, 0);
  const admin = await b.adminToken();
  assert.deepEqual(await keyStates(b, admin), { [first]: 'retiring', [second]: 'active' });
  const audit = await b.req('/v1/audit/events?event_type=signing_key_rotated', { token: admin });
  assert.equal(
    audit.json.events[0].detail,
    `kid=${second} retiring=[${first}] retired=[] reason=max_age rotated_by=system`,
  );
});

test('key routes: scope, body and method errors are RFC 7807; a rotated-out key file refuses to start', async (t) => {
  const b = await startTestBroker(t, { keepDir: true });
  const agent = await b.registerAgent();
  const denied = await b.req('/v1/admin/keys/rotate', { method: 'POST', token: agent.token });
  assert.equal(denied.status, 403);
  assert.equal(denied.json.type, 'urn:agentwrit:error:insufficient_scope');
  assert.equal((await b.req('/v1/admin/keys')).status, 401);
  const admin = await b.adminToken();
  for (const body of ['{', '[]', '{"revoke_previous":"yes"}']) {
    const r = await b.req('/v1/admin/keys/rotate', { method: 'POST', token: admin, body });
    assert.equal(r.status, 400, body);
    assert.equal(r.headers['content-type'], 'application/problem+json');
  }
  assert.equal((await b.req('/v1/admin/keys', { method: 'DELETE', token: admin })).status, 405);
  assert.equal(Object.keys(await keyStates(b, admin)).length, 1, 'no failed request rotated');

  // Put the old key back in the key file after a rotation: the broker must not sign with it again.
  const keyPath = b.env.AA_SIGNING_KEY_PATH as string;
  const oldPem = readFileSync(keyPath);
  assert.equal(
    (await b.req('/v1/admin/keys/rotate', { method: 'POST', token: admin, body: { revoke_previous: true } })).status,
    200,
  );
  await b.handle.close();
  writeFileSync(keyPath, oldPem, { mode: 0o600 });
  const config = loadConfig(b.env, { homeDir: null, etcPath: `${b.dir}/none`, warn: () => undefined });
  const logger = createLogger({ level: 'quiet', stdout: () => undefined, stderr: () => undefined });
  await assert.rejects(
    startBroker(config, { logger, print: () => undefined }),
    /signing key: keystore: the key file holds key \S+, which was rotated out \(state retired\)/,
  );

  // No key file at all (or one the table has never seen, as after a crash between writing the file and committing
  // the rotation): the file's key is adopted as a rotation, and the previous active key retires normally.
  const active = b.handle.services.tokens.kid;
  rmSync(keyPath);
  const b2 = await startTestBroker(t, { dir: b.dir });
  const adopted = b2.handle.services.tokens.kid;
  const admin2 = await b2.adminToken();
  if ((b.env.AA_DATABASE_URL ?? '') !== '') {
    // A shared store cannot tell this broker's previous key from another broker's active key: both stay active,
    // and `awrit key rotate` is how an operator retires them (operator guide, "Scaling out").
    assert.equal((await keyStates(b2, admin2))[active], 'active');
    assert.equal((await keyStates(b2, admin2))[adopted], 'active');
    return;
  }
  assert.equal((await keyStates(b2, admin2))[active], 'retiring');
  assert.equal((await keyStates(b2, admin2))[adopted], 'active');
  const audit = await b2.req('/v1/audit/events?event_type=signing_key_rotated', { token: admin2 });
  assert.equal(
    audit.json.events.at(-1).detail,
    `kid=${adopted} retiring=[${active}] retired=[] reason=key_file rotated_by=key_file`,
  );
});
