/** AA_SEED_TOKENS=true prints a working launch token and admin token (development aid). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jwtPayload, registerWith, startTestBroker } from '../helpers/broker.js';

test('seed tokens are printed, usable, and honour AA_AUDIENCE', async (t) => {
  const b = await startTestBroker(t, { env: { AA_SEED_TOKENS: 'true', AA_AUDIENCE: 'aud-1' } });
  const launch = b.logs.find((l) => l.startsWith('SEED_LAUNCH_TOKEN='))?.slice('SEED_LAUNCH_TOKEN='.length);
  const admin = b.logs.find((l) => l.startsWith('SEED_ADMIN_TOKEN='))?.slice('SEED_ADMIN_TOKEN='.length);
  assert.match(String(launch), /^[0-9a-f]{64}$/);
  assert.ok(admin);
  const claims = jwtPayload(admin);
  assert.equal(claims.exp - claims.iat, 3600);
  assert.deepEqual(claims.aud, ['aud-1']);
  const audit = await b.req('/v1/audit/events', { token: admin });
  assert.equal(audit.status, 200);
  assert.equal(audit.json.events[0].event_type, 'launch_token_issued');
  assert.equal(
    audit.json.events[0].detail,
    'launch token issued for agent=seed-agent scope=[*:*:*] max_ttl=3600 created_by=seed',
  );
  // `*:*:*` only covers `*:*:<x>` (the wildcard is the identifier position only).
  const agent = await registerWith(b, launch as string, { scope: ['*:*:anything'] });
  assert.equal(agent.expiresIn, 3600);
  const m = await b.req('/v1/metrics');
  assert.match(m.text, /agentwrit_launch_tokens_created_total 1/);
  assert.match(m.text, /agentwrit_registrations_total\{status="success"\} 1/);
});

test('no seed tokens unless exactly "true"', async (t) => {
  const b = await startTestBroker(t, { env: { AA_SEED_TOKENS: 'TRUE' } });
  assert.equal(
    b.logs.some((l) => l.startsWith('SEED_')),
    false,
  );
});
