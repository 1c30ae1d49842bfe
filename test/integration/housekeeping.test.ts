/** Housekeeping really prunes, and floods of identical denials are folded into one audit row. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RepeatAggregator } from '../../src/services/repeat-aggregator.js';
import { startTestBroker } from '../helpers/broker.js';

test('housekeeping prunes expired launch tokens, revocations and agents and logs the counts', async (t) => {
  const b = await startTestBroker(t);
  await b.launchToken({ ttl: 1 });
  const agent = await b.registerAgent({ launchBody: { max_ttl: 1 } });
  assert.equal((await b.req('/v1/token/release', { method: 'POST', token: agent.token })).status, 204);
  const before = await b.req('/v1/metrics');
  assert.match(before.text, /agentwrit_active_agents 1/);
  // Two seconds later, by the clock the broker reads, instead of waiting for them.
  t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
  t.mock.timers.tick(2_100);
  await b.handle.housekeep();
  const line = b.logs.find((l) => l.includes('| housekeeping | pruned |'));
  assert.ok(line, 'expected a pruned line');
  assert.match(line, /launch_tokens=2/); // the expired one and the consumed one
  assert.match(line, /revocations=1/);
  const after = await b.req('/v1/metrics');
  assert.match(after.text, /agentwrit_active_agents 0/);
  assert.equal(b.handle.services.revocations.size, 0);
});

test('identical denials within a window become one event plus a summary', async (t) => {
  const b = await startTestBroker(t);
  for (let i = 0; i < 5; i++) assert.equal((await b.req('/v1/token/renew', { method: 'POST' })).status, 401);
  const admin = await b.adminToken();
  const r = await b.req('/v1/audit/events?event_type=token_auth_failed', { token: admin });
  assert.equal(r.json.total, 1);

  const agg = new RepeatAggregator(1000, 2);
  const ev = { event_type: 'token_auth_failed', detail: 'x', outcome: 'denied' as const };
  assert.equal(agg.admit(ev, 0), true);
  assert.equal(agg.admit(ev, 10), false);
  assert.equal(agg.admit(ev, 20), false);
  assert.deepEqual(agg.flush(500), []);
  assert.deepEqual(
    agg.flush(1000).map((e) => e.detail),
    ['x | repeated=2'],
  );
  // The key set is capped; extra keys fold into one overflow entry.
  assert.equal(agg.admit({ ...ev, detail: 'a' }, 2000), true);
  assert.equal(agg.admit({ ...ev, detail: 'b' }, 2000), true);
  assert.equal(agg.admit({ ...ev, detail: 'c' }, 2000), true);
  assert.equal(agg.admit({ ...ev, detail: 'd' }, 2000), false);
  assert.equal(agg.size, 3);
});
