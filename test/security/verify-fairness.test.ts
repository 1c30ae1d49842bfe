/**
 * Verification lanes under a flood: one address (behind a trusted proxy) sends forged tokens to
 * /v1/token/validate as fast as it can, while another address registers agents and validates real tokens that
 * are not in the verified cache. Every request of the other address must succeed; the flooder alone may be shed,
 * and then only with 503 and Retry-After. Run once per Ed25519 engine.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ED25519_ENGINES } from '../../src/crypto/ed25519-engine.js';
import { registerWith, startTestBroker } from '../helpers/broker.js';
import { Flood } from './support.js';

const FLOODER = '203.0.113.7';
const OTHER = '198.51.100.9';
// More than the single shared bound of 64 verifications that the pool used to have.
const FLOOD_CONNECTIONS = 72;
const FLOOD_MAX = 3000;

for (const engine of ED25519_ENGINES) {
  test(`a forged-token flood from one address denies nothing to another (ed25519=${engine})`, {
    timeout: 90_000,
  }, async (t) => {
    const env = { AA_TRUSTED_PROXIES: '127.0.0.1', AA_ED25519: engine };
    // Tokens issued by an earlier process on the same database and key are genuine but not in the new process's
    // verified cache, so validating them costs a real Ed25519 verification.
    const first = await startTestBroker(null, { env, keepDir: true });
    const earlier = [await first.registerAgent(), await first.registerAgent()];
    await first.stop();
    const b = await startTestBroker(t, { env, dir: first.dir });
    assert.ok(
      b.logs.some(
        (l) =>
          / \| main \| signing key loaded \| path=.*, kid=[A-Za-z0-9_-]{43}, ed25519=/.test(l) &&
          l.endsWith(`ed25519=${engine}`),
      ),
    );
    // Long-lived: on a loaded machine the flood can outlast the default launch-token lifetime.
    const launchTokens = [await b.launchToken({ ttl: 600 }), await b.launchToken({ ttl: 600 })];
    const fromOther = { 'X-Forwarded-For': OTHER };
    const other = {
      req: (path: string, o: Parameters<typeof b.req>[1] = {}) =>
        b.req(path, { ...o, headers: { ...o.headers, ...fromOther } }),
    };

    const forged = earlier[0]!.token.slice(0, -4) + (earlier[0]!.token.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    const flood = new Flood(b.handle.port, FLOOD_CONNECTIONS);
    t.after(() => flood.close());
    let otherDone = false;
    let sent = 0;
    let floodErrors = 0;
    const floodAnswers: { status: number; retryAfter: string | undefined; valid: unknown }[] = [];
    const flooding = Promise.all(
      Array.from({ length: FLOOD_CONNECTIONS }, async () => {
        while (!otherDone && sent < FLOOD_MAX) {
          sent++;
          const r = await flood
            .send('/v1/token/validate', {
              body: JSON.stringify({ token: forged }),
              headers: { 'X-Forwarded-For': FLOODER },
            })
            .catch(() => null);
          // A flood request that times out on a saturated machine says nothing about the other address.
          if (r === null) floodErrors++;
          else
            floodAnswers.push({
              status: r.status,
              retryAfter: r.headers['retry-after'] as string | undefined,
              valid: r.status === 200 ? JSON.parse(r.text).valid : undefined,
            });
        }
      }),
    );

    // The other address starts once the flood is occupying the verifier (inline verification has no queue).
    const pool = b.handle.services.pool;
    while (!pool.inlineEd25519 && pool.verificationsHeldBy(FLOODER) === 0 && sent < FLOOD_MAX)
      await new Promise((r) => setImmediate(r));

    const outcomes: string[] = [];
    try {
      for (let i = 0; i < launchTokens.length; i++) {
        const agent = await registerWith(other, launchTokens[i]!, { task: `during-flood-${i}` });
        const mine = await other.req('/v1/token/validate', { body: { token: agent.token } });
        outcomes.push(`register ${i}: 200, validate: ${mine.status} ${mine.json?.valid}`);
        const old = earlier[i % earlier.length]!;
        const uncached = await other.req('/v1/token/validate', { body: { token: old.token } });
        outcomes.push(`uncached ${i}: ${uncached.status} ${uncached.json?.valid}`);
      }
    } catch (err) {
      outcomes.push(`failed: ${(err as Error).message}`);
    } finally {
      otherDone = true;
      await flooding;
    }

    assert.deepEqual(
      outcomes,
      launchTokens.flatMap((_, i) => [`register ${i}: 200, validate: 200 true`, `uncached ${i}: 200 true`]),
    );
    assert.ok(floodAnswers.length > 0);
    for (const a of floodAnswers) {
      if (a.status === 200) assert.equal(a.valid, false);
      else {
        assert.equal(a.status, 503);
        assert.equal(a.retryAfter, '1');
      }
    }
    t.diagnostic(
      `flood: ${floodAnswers.length} answers, ${floodAnswers.filter((a) => a.status === 503).length} shed, ${floodErrors} failed`,
    );
  });
}
