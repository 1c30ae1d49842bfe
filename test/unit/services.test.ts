/** Service mechanisms whose failure paths a running broker cannot easily provoke on demand. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CryptoPool, CryptoPoolBusyError } from '../../src/crypto/crypto-pool.js';
import { generateKeyPair } from '../../src/crypto/ed25519.js';
import { anonymousLane, PAID_LANE } from '../../src/crypto/verify-lanes.js';
import { AuditLog } from '../../src/services/audit.js';
import type { Claims } from '../../src/services/claims.js';
import { Nonces } from '../../src/services/nonces.js';
import { Persister } from '../../src/services/persister.js';
import { Revocations } from '../../src/services/revocations.js';
import { MemoryNonceBook } from '../../src/store/memory-nonces.js';
import { type Mutation, type Store, StoreWriteError } from '../../src/store/store.js';

/** A store whose disk has failed: every commit is refused, as the durable store refuses after a failed fsync. */
function failingStore(): Store & { commits: Mutation[][] } {
  const commits: Mutation[][] = [];
  return {
    commits,
    load: () => Promise.reject(new Error('unused')),
    commit: (batch) => {
      commits.push([...batch]);
      return new Promise((_, reject) => setTimeout(() => reject(new StoreWriteError('disk failed')), 5));
    },
    queryAudit: () => Promise.reject(new Error('unused')),
    auditRange: () => Promise.reject(new Error('unused')),
    healthy: () => false,
    close: () => Promise.resolve(),
    feed: null,
    nonces: new MemoryNonceBook(),
  };
}

test('a failed group commit undoes newest first and rewinds the audit chain', async () => {
  const audit = new AuditLog({ lastSeq: 0, lastHash: '' }, () => undefined);
  const p = new Persister(failingStore(), audit);
  let state = 'original';
  const log: string[] = [];
  const change = (to: string): (() => void) => {
    const previous = state;
    state = to;
    return () => {
      log.push(`undo ${to}`);
      state = previous;
    };
  };
  const first = p.commit([], [{ event_type: 'a', detail: '', outcome: 'success' }], change('first'));
  const second = p.commit([], [{ event_type: 'b', detail: '', outcome: 'success' }], change('second'));
  const third = p.commit([], [{ event_type: 'c', detail: '', outcome: 'success' }], change('third'));
  const results = await Promise.allSettled([first, second, third]);
  assert.deepEqual(
    results.map((r) => r.status),
    ['rejected', 'rejected', 'rejected'],
  );
  assert.deepEqual(log, ['undo third', 'undo second', 'undo first']);
  assert.equal(state, 'original');
  assert.equal(audit.count, 0, 'no audit id is consumed by a failed commit');
  assert.equal(audit.record({ event_type: 'd', detail: '', outcome: 'success' }).id, 'evt-000001');
});

test('the crypto pool sheds only the anonymous client over its share, never registration or signatures', async () => {
  const pool = new CryptoPool({ size: 1, inlineEd25519: false, lanes: { perClient: 2 } });
  try {
    const msg = Buffer.alloc(32, 1);
    const sig = Buffer.alloc(64, 0);
    const key = Buffer.alloc(32, 9);
    const flooder = anonymousLane('203.0.113.7');
    const results = await Promise.allSettled([
      pool.verify(msg, sig, key, flooder),
      pool.verify(msg, sig, key, flooder),
      pool.verify(msg, sig, key, flooder),
      pool.verify(msg, sig, key, anonymousLane('198.51.100.9')),
      pool.verify(msg, sig, key, PAID_LANE),
      pool.sign(msg, generateKeyPair().secretKey),
    ]);
    assert.deepEqual(
      results.map((r) =>
        r.status === 'rejected' ? (r.reason instanceof CryptoPoolBusyError ? 'busy' : 'error') : 'done',
      ),
      ['done', 'done', 'busy', 'done', 'done', 'done'],
    );
    // Once they finish, the client is admitted again.
    assert.equal(await pool.verify(msg, sig, key, flooder), false);
  } finally {
    await pool.close();
  }
});

test('nonce pruning drops exactly the expired prefix, and the ceiling holds until something expires', async () => {
  const n = new Nonces(new MemoryNonceBook(), 3);
  const a = await n.issue(0);
  await n.issue(10_000);
  assert.ok(a);
  assert.equal(await n.prune(30_001), 1);
  assert.equal(n.size, 1);
  const b = await n.issue(30_001);
  await n.issue(30_002);
  assert.equal(await n.issue(30_003), null, 'ceiling holds while nothing has expired');
  assert.equal(await n.consume(a, 30_003), 'not_found');
  assert.ok(b);
  assert.equal(await n.consume(b, 30_003), 'ok');
  assert.equal(await n.consume(b, 30_003), 'consumed', 'spent once');
});

test('an imported agent-level revocation of admin kills tokens issued before it, not after', () => {
  const r = new Revocations();
  r.load([{ level: 'agent', target: 'admin', revoked_at: '2026-01-01 00:00:00', expires_at: null }]);
  const token = (iat: number, sub = 'admin'): Claims => ({
    iss: '',
    sub,
    exp: iat + 300,
    nbf: iat,
    iat,
    jti: `j${iat}`,
    scope: null,
  });
  const cutoff = Date.UTC(2026, 0, 1) / 1000;
  assert.equal(r.isRevoked(token(cutoff - 60)), true);
  assert.equal(r.isRevoked(token(cutoff)), true);
  assert.equal(r.isRevoked(token(cutoff + 1)), false);
  r.load([{ level: 'agent', target: 'spiffe://td/agent/o/t/i', revoked_at: '2026-01-01 00:00:00', expires_at: null }]);
  assert.equal(r.isRevoked(token(cutoff + 10_000, 'spiffe://td/agent/o/t/i')), true, 'agents stay revoked for good');
});
