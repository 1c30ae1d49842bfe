/**
 * Registration under attack: replayed, expired and borrowed nonces, signatures over the wrong bytes, bad and weak
 * keys, scope beyond the launch token, SPIFFE path tricks in orch_id/task_id, and a race of 50 registrations for
 * one single-use launch token. None of the failures consumes the launch token.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import nacl from 'tweetnacl';
import { ED25519_ENGINES } from '../../src/crypto/ed25519-engine.js';
import { registerWith, startTestBroker, type TestBroker } from '../helpers/broker.js';

interface Attempt {
  launch_token: string;
  nonce: string;
  public_key: string;
  signature: string;
  orch_id: string;
  task_id: string;
  requested_scope: string[];
}

async function nonce(b: TestBroker): Promise<string> {
  return (await b.req('/v1/challenge')).json.nonce as string;
}

function signed(n: string, lt: string, keys = nacl.sign.keyPair(), over: Uint8Array = Buffer.from(n, 'hex')): Attempt {
  return {
    launch_token: lt,
    nonce: n,
    public_key: Buffer.from(keys.publicKey).toString('base64'),
    signature: Buffer.from(nacl.sign.detached(over, keys.secretKey)).toString('base64'),
    orch_id: 'orch',
    task_id: 'task',
    requested_scope: ['read:data:*'],
  };
}

// Once per Ed25519 engine: these are the signature acceptance rules as clients meet them.
for (const engine of ED25519_ENGINES)
  test(`registration refuses every forged proof and path trick, and consumes nothing while refusing (ed25519=${engine})`, async (t) => {
    const b = await startTestBroker(t, { env: { AA_ED25519: engine } });
    const lt = await b.launchToken({ allowed_scope: ['read:data:*'] });
    const expect = async (body: Attempt, status: number, detail: RegExp | string, what: string): Promise<void> => {
      const r = await b.req('/v1/register', { body });
      assert.equal(r.status, status, `${what}: ${r.text}`);
      if (typeof detail === 'string') assert.equal(r.json.detail, detail, what);
      else assert.match(r.json.detail, detail, what);
      assert.equal(r.headers['content-type'], 'application/problem+json', what);
    };

    // A good registration burns its nonce: replaying it (with a fresh signature even) fails.
    const n1 = await nonce(b);
    const lt2 = await b.launchToken({ allowed_scope: ['read:data:*'], single_use: false });
    assert.equal((await b.req('/v1/register', { body: signed(n1, lt2) })).status, 200);
    await expect(signed(n1, lt2), 401, 'nonce: nonce already consumed', 'replayed nonce');

    // A nonce the broker never issued, and one issued for someone else's registration (signed over another nonce).
    await expect(signed('ab'.repeat(32), lt), 401, 'nonce: nonce not found or expired', 'unknown nonce');
    const mine = await nonce(b);
    const theirs = await nonce(b);
    await expect(
      { ...signed(theirs, lt), nonce: mine },
      401,
      'nonce signature verification failed',
      'signature over another nonce',
    );
    await expect(
      signed(mine, lt),
      401,
      'nonce: nonce already consumed',
      'a nonce is burned by the attempt that named it',
    );

    // The signature must cover the 32 decoded bytes, not the hex text or its base64.
    const n2 = await nonce(b);
    await expect(
      signed(n2, lt, undefined, Buffer.from(n2, 'utf8')),
      401,
      'nonce signature verification failed',
      'signed hex text',
    );
    const n3 = await nonce(b);
    await expect({ ...signed(n3, lt), signature: '' }, 400, 'missing required field: signature', 'empty signature');
    await expect(
      { ...signed(n3, lt), signature: 'AAAA' },
      401,
      'nonce signature verification failed',
      'short signature',
    );
    await expect(
      { ...signed(await nonce(b), lt), signature: Buffer.alloc(64).toString('base64') },
      401,
      'nonce signature verification failed',
      'zero signature',
    );

    // Keys of the wrong length and weak (small-order) keys, with otherwise valid-looking signatures.
    const keys = nacl.sign.keyPair();
    for (const len of [0, 31, 33, 64]) {
      const pk = Buffer.alloc(len, 7).toString('base64');
      await expect(
        { ...signed(await nonce(b), lt, keys), public_key: pk },
        len === 0 ? 400 : 401,
        len === 0 ? /missing required field/ : 'invalid Ed25519 public key: wrong key size',
        `key length ${len}`,
      );
    }
    const weak = [
      Buffer.alloc(32), // all zero
      Buffer.concat([Buffer.from([1]), Buffer.alloc(31)]), // the identity point
      Buffer.concat([Buffer.alloc(31), Buffer.from([0x80])]), // zero with the sign bit
      Buffer.from('ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', 'hex'), // order 2
      Buffer.from('26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05', 'hex'), // order 8
    ];
    for (const pk of weak) {
      await expect(
        { ...signed(await nonce(b), lt), public_key: pk.toString('base64') },
        401,
        'invalid Ed25519 public key: weak key',
        `weak key ${pk.toString('hex').slice(0, 8)}`,
      );
    }
    await expect(
      { ...signed(await nonce(b), lt), public_key: '!!!!' },
      401,
      'invalid Ed25519 public key: base64 decode failed',
      'bad base64 key',
    );
    const url = Buffer.from(keys.publicKey).toString('base64url');
    await expect(
      { ...signed(await nonce(b), lt, keys), public_key: url },
      401,
      /invalid Ed25519 public key/,
      'base64url key',
    );

    // Scope beyond the launch token's allowance (including wildcard tricks).
    for (const scope of [
      ['write:data:*'],
      ['read:data:*', 'admin:revoke:*'],
      ['read:*:*'],
      ['*:*:*'],
      ['read:data'],
      ['read:data:*', ''],
    ]) {
      await expect(
        { ...signed(await nonce(b), lt), requested_scope: scope },
        403,
        'requested scope exceeds allowed scope',
        `scope ${scope}`,
      );
    }

    // SPIFFE path segments: separators, traversal, encodings, unicode, control characters, empty, over-long.
    const bad = [
      'a/b',
      '..',
      '.',
      '%2F',
      'a%2Fb',
      '../x',
      'é',
      'a b',
      'a\u0000b',
      'a\nb',
      '\u202e',
      '*',
      'a?b',
      'a#b',
      'x'.repeat(129),
      'spiffe://x',
    ];
    for (const field of ['orch_id', 'task_id'] as const) {
      for (const v of bad) {
        await expect(
          { ...signed(await nonce(b), lt), [field]: v },
          400,
          new RegExp(`^invalid ${field}: `),
          `${field}=${JSON.stringify(v)}`,
        );
      }
      await expect(
        { ...signed(await nonce(b), lt), [field]: '' },
        400,
        `missing required field: ${field}`,
        `${field} empty`,
      );
    }

    // None of that consumed the single-use launch token.
    const ok = await registerWith(b, lt, { scope: ['read:data:*'], orch: 'o.k-1', task: 't_1' });
    assert.match(ok.agentId, /^spiffe:\/\/agentwrit\.local\/agent\/o\.k-1\/t_1\/[0-9a-f]{16}$/);
    await expect(signed(await nonce(b), lt), 401, 'launch token: launch token already consumed', 'used launch token');
  });

test('an expired nonce and an expired launch token are refused', async (t) => {
  const b = await startTestBroker(t);
  const lt = await b.launchToken({ allowed_scope: ['read:data:*'], ttl: 3600 });
  const shortLt = await b.launchToken({ allowed_scope: ['read:data:*'], ttl: 1 });
  const n = await nonce(b);
  const n2 = await nonce(b);
  t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
  t.mock.timers.tick(31_000);
  const r = await b.req('/v1/register', { body: signed(n, lt) });
  assert.equal(r.status, 401);
  assert.equal(r.json.detail, 'nonce: nonce not found or expired');
  const r2 = await b.req('/v1/register', { body: signed(n2, shortLt) });
  assert.equal(r2.status, 401);
  assert.equal(r2.json.detail, 'launch token: launch token expired');
  t.mock.timers.reset();
});

test('50 concurrent registrations with one single-use launch token: exactly one wins', async (t) => {
  const b = await startTestBroker(t);
  const lt = await b.launchToken({ allowed_scope: ['read:data:*'] });
  const nonces = await Promise.all(Array.from({ length: 50 }, () => nonce(b)));
  const bodies = nonces.map((n) => signed(n, lt));
  const answers = await Promise.all(bodies.map((body) => b.req('/v1/register', { body })));
  const statuses = answers.map((a) => a.status);
  assert.equal(statuses.filter((s) => s === 200).length, 1, statuses.join(','));
  assert.ok(
    statuses.every((s) => s === 200 || s === 401),
    statuses.join(','),
  );
  for (const a of answers) if (a.status === 401) assert.match(a.json.detail, /launch token.*already consumed/);
  assert.equal(
    b.handle.services.agents.activeCount(Math.floor(Date.now() / 1000), () => false),
    1,
  );
});
