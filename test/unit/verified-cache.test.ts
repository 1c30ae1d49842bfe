/**
 * The verified-token cache (decisions.md, performance): a token this process issued is never verified with Ed25519
 * again, yet expiry and revocation are still checked on every use; a token under an unknown key never gets in; and
 * the cache stays bounded.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CryptoPool } from '../../src/crypto/crypto-pool.js';
import { type Ed25519KeyPair, generateKeyPair, signDetached, verifyDetached } from '../../src/crypto/ed25519.js';
import { encodeCompactJws, encodeSigningInput, jwtHeaderJson } from '../../src/crypto/jwt.js';
import { anonymousLane } from '../../src/crypto/verify-lanes.js';
import { type Claims, serializeClaims } from '../../src/services/claims.js';
import { SigningKeys } from '../../src/services/signing-keys.js';
import { TokenService } from '../../src/services/tokens.js';
import { VerifiedTokenCache } from '../../src/services/verified-cache.js';

/** The pool's Ed25519 interface, run inline and counted. */
function countingPool(): { pool: CryptoPool; calls: { sign: number; verify: number } } {
  const calls = { sign: 0, verify: 0 };
  const pool = {
    async sign(message: Uint8Array, secretKey: Uint8Array) {
      calls.sign++;
      return signDetached(message, secretKey);
    },
    async verify(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array) {
      calls.verify++;
      return verifyDetached(message, signature, publicKey);
    },
  } as unknown as CryptoPool;
  return { pool, calls };
}

const lane = anonymousLane('192.0.2.1');

function service(opts: { cacheSize?: number; revoked?: Set<string> } = {}) {
  const key = generateKeyPair();
  const { pool, calls } = countingPool();
  const revoked = opts.revoked ?? new Set<string>();
  const tokens = new TokenService(
    new SigningKeys([], key),
    pool,
    { issuer: '', audience: '', defaultTtl: 300, maxTtl: 86400 },
    (c) => revoked.has(c.jti),
    { issued: () => undefined, clockSkew: () => undefined },
    opts.cacheSize,
  );
  return { tokens, key, calls, revoked };
}

/** A token with the service's kid, signed by `signer` (the broker's key or another one). */
function forge(kid: string, signer: Ed25519KeyPair, claims: Partial<Claims> = {}): string {
  const now = Math.floor(Date.now() / 1000);
  const c: Claims = {
    iss: '',
    sub: 'admin',
    exp: now + 300,
    nbf: now,
    iat: now,
    jti: 'f'.repeat(32),
    scope: ['admin:revoke:*'],
    ...claims,
  };
  const input = encodeSigningInput(jwtHeaderJson(kid), serializeClaims(c));
  return encodeCompactJws(input, signDetached(Buffer.from(input), signer.secretKey));
}

/** Runs `fn` with Date.now fixed at `base` plus `offsetSeconds`: no real time passes on a slow machine. */
function withClock<T>(offsetSeconds: number, fn: () => Promise<T>, base = Date.now()): Promise<T> {
  const realNow = Date.now;
  Date.now = () => base + offsetSeconds * 1000;
  return fn().finally(() => {
    Date.now = realNow;
  });
}

describe('verified-token cache', () => {
  it('is filled at issuance: an issued token verifies without an Ed25519 verify', async () => {
    const { tokens, calls } = service();
    const { token } = await tokens.issue({ sub: 'admin', scope: ['admin:revoke:*'], ttl: 60 });
    for (let i = 0; i < 3; i++) assert.equal((await tokens.verify(token, lane)).ok, true);
    assert.deepEqual(calls, { sign: 1, verify: 0 });
  });

  it('a revoked token is rejected even though its signature is cached', async () => {
    const { tokens, calls, revoked } = service();
    const { token, claims } = await tokens.issue({ sub: 'admin', scope: ['admin:revoke:*'], ttl: 60 });
    assert.equal((await tokens.verify(token, lane)).ok, true);
    revoked.add(claims.jti);
    const v = await tokens.verify(token, lane);
    assert.equal(v.ok, false);
    assert.equal(!v.ok && v.reason, 'token has been revoked');
    assert.equal(calls.verify, 0, 'the rejection came from the cached entry, not a fresh verify');
  });

  it('an expired token is rejected even though its signature is cached', async () => {
    const { tokens, calls } = service();
    const base = Date.now();
    const { token } = await withClock(0, () => tokens.issue({ sub: 'admin', scope: ['admin:revoke:*'], ttl: 5 }), base);
    assert.equal((await tokens.verify(token, lane)).ok, true);
    // Exactly at exp the token is still good (now > exp is the rule); one second later it is not.
    const atExp = await withClock(5, () => tokens.verify(token, lane), base);
    assert.equal(atExp.ok, true);
    const after = await withClock(6, () => tokens.verify(token, lane), base);
    assert.equal(after.ok, false);
    assert.equal(!after.ok && after.reason, 'token expired');
    // The entry left the cache when it was found past exp (so the late check paid a verify); back in the present
    // the signature still verifies: expiry is a claim check, never a false signature failure.
    assert.equal((await tokens.verify(token, lane)).ok, true);
    assert.equal(calls.verify, 2);
  });

  it('a token signed by an unknown key is rejected and never cached', async () => {
    const { tokens, key, calls } = service();
    const control = forge(tokens.kid, key);
    assert.equal(
      (await tokens.verify(control, lane)).ok,
      true,
      'control: the same token signed by the broker key passes',
    );
    const forged = forge(tokens.kid, generateKeyPair(), { jti: 'e'.repeat(32) });
    for (let i = 0; i < 2; i++) {
      const v = await tokens.verify(forged, lane);
      assert.equal(v.ok, false);
      assert.equal(!v.ok && v.reason, 'signature verification failed');
    }
    assert.equal(calls.verify, 3, 'the forged token was checked with Ed25519 each time');
  });

  it('an issued token altered after signing misses the cache and fails verification', async () => {
    const { tokens, calls } = service();
    const { token } = await tokens.issue({ sub: 'admin', scope: ['admin:revoke:*'], ttl: 60 });
    const [h, p, s] = token.split('.') as [string, string, string];
    const payload = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
    const altered = `${h}.${Buffer.from(JSON.stringify({ ...payload, scope: ['admin:audit:*'] })).toString('base64url')}.${s}`;
    const v = await tokens.verify(altered, lane);
    assert.equal(v.ok, false);
    assert.equal(calls.verify, 1);
  });

  it('is bounded: past its size the oldest entries fall out, and only cost a re-verify', async () => {
    const { tokens, calls } = service({ cacheSize: 3 });
    const issued = [];
    for (let i = 0; i < 5; i++)
      issued.push((await tokens.issue({ sub: 'admin', scope: ['admin:revoke:*'], ttl: 60 })).token);
    for (const t of issued.slice(2)) assert.equal((await tokens.verify(t, lane)).ok, true);
    assert.equal(calls.verify, 0, 'the three newest are cached');
    assert.equal((await tokens.verify(issued[0] as string, lane)).ok, true);
    assert.equal(calls.verify, 1, 'the oldest was evicted and verified again');
  });

  it('VerifiedTokenCache never holds more than its bound and drops entries at exp', () => {
    const cache = new VerifiedTokenCache(100);
    const claims = (exp: number): Claims => ({ iss: '', sub: 's', exp, nbf: 0, iat: 0, jti: 'j', scope: null });
    for (let i = 0; i < 1000; i++) cache.set(VerifiedTokenCache.keyOf(`token-${i}`), claims(2000 + i), 'kid');
    assert.equal(cache.size, 100);
    assert.equal(cache.get(VerifiedTokenCache.keyOf('token-0'), 0), undefined);
    assert.notEqual(cache.get(VerifiedTokenCache.keyOf('token-999'), 0), undefined);
    // get() at a time past exp drops the entry; prune() drops every expired one.
    assert.equal(cache.get(VerifiedTokenCache.keyOf('token-999'), 3000), undefined);
    assert.equal(cache.size, 99);
    assert.equal(cache.prune(2950), 50);
    assert.equal(cache.size, 49);
    cache.clear();
    assert.equal(cache.size, 0);
  });

  it('keys on the whole token', () => {
    assert.notEqual(VerifiedTokenCache.keyOf('a.b.c'), VerifiedTokenCache.keyOf('a.b.d'));
    assert.equal(VerifiedTokenCache.keyOf('a.b.c'), VerifiedTokenCache.keyOf('a.b.c'));
  });
});
