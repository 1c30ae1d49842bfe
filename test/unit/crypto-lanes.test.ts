import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { anonymousLane, CryptoPoolBusyError, PAID_LANE, VerifyLanes } from '../../src/crypto/verify-lanes.js';

/** Work items the test finishes by hand, recording the order in which the lanes started them. */
function harness(limits: ConstructorParameters<typeof VerifyLanes>[0]) {
  const lanes = new VerifyLanes(limits);
  const started: string[] = [];
  const running: Array<() => void> = [];
  const submit = (label: string, lane: ReturnType<typeof anonymousLane>) =>
    lanes.run(lane, () => {
      started.push(label);
      return new Promise<string>((resolve) => running.push(() => resolve(label)));
    });
  const finishOldest = async (): Promise<void> => {
    running.shift()?.();
    await new Promise((r) => setImmediate(r));
  };
  return { lanes, started, submit, finishOldest };
}

describe('VerifyLanes', () => {
  it('serves waiting clients round-robin, so a flood delays another client by one job per slot', async () => {
    const h = harness({ anonymousInFlight: 1, perClient: 10, anonymousTotal: 100, paid: 10 });
    const flood = anonymousLane('203.0.113.7');
    const jobs = [];
    for (let i = 0; i < 5; i++) jobs.push(h.submit(`flood${i}`, flood));
    jobs.push(h.submit('other', anonymousLane('198.51.100.9')));
    assert.deepEqual(h.started, ['flood0']);
    await h.finishOldest();
    assert.deepEqual(h.started, ['flood0', 'flood1']);
    // The other client is next even though three more flood jobs arrived before it.
    await h.finishOldest();
    assert.deepEqual(h.started, ['flood0', 'flood1', 'other']);
    while (h.started.length < 6) await h.finishOldest();
    await h.finishOldest();
    assert.deepEqual(await Promise.all(jobs), ['flood0', 'flood1', 'flood2', 'flood3', 'flood4', 'other']);
  });

  it('refuses only the client over its share, and never the paid lane because of anonymous load', async () => {
    const h = harness({ anonymousInFlight: 1, perClient: 3, anonymousTotal: 4, paid: 2 });
    const flood = anonymousLane('203.0.113.7');
    const accepted = [h.submit('f0', flood), h.submit('f1', flood), h.submit('f2', flood)];
    await assert.rejects(h.submit('f3', flood), CryptoPoolBusyError);
    assert.equal(h.lanes.heldBy('203.0.113.7'), 3);
    // Past the total, a client below an equal share (4 / 2 clients = 2) is still admitted.
    const others = [h.submit('o0', anonymousLane('198.51.100.9')), h.submit('o1', anonymousLane('198.51.100.9'))];
    await assert.rejects(h.submit('o2', anonymousLane('198.51.100.9')), CryptoPoolBusyError);
    // Registration does not queue behind any of it.
    const paid = h.submit('paid', PAID_LANE);
    assert.ok(h.started.includes('paid'));
    while (h.started.length < 6) await h.finishOldest();
    await h.finishOldest();
    await Promise.all([...accepted, ...others, paid]);
    assert.equal(h.lanes.heldBy('203.0.113.7'), 0);
    assert.equal(h.lanes.anonymousInProgress, 0);
  });

  it('bounds the paid lane by itself', async () => {
    const h = harness({ anonymousInFlight: 1, perClient: 1, anonymousTotal: 1, paid: 1 });
    const first = h.submit('p0', PAID_LANE);
    await assert.rejects(h.submit('p1', PAID_LANE), CryptoPoolBusyError);
    await h.finishOldest();
    assert.equal(await first, 'p0');
    const again = h.submit('p2', PAID_LANE);
    await h.finishOldest();
    assert.equal(await again, 'p2');
  });
});
