/**
 * Token forgery: every way a hostile client can bend a JWT is refused with the generic texts, and no forged
 * token reaches a handler (the revocations it asks for never happen). Tokens are forged with the broker's own
 * signing key where that is the only way to reach a claim rule; a control token made the same way is accepted,
 * so the forging harness itself is proven sound.
 */
import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { test } from 'node:test';
import { ED25519_ENGINES } from '../../src/crypto/ed25519-engine.js';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { ADMIN_SECRET, assertNoSecrets, b64u, brokerKey, forge, keyMaterial } from './support.js';

const ADMIN_SCOPES = ['admin:launch-tokens:*', 'admin:revoke:*', 'admin:audit:*'];

function claims(extra: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: '',
    sub: 'admin',
    exp: now + 300,
    nbf: now,
    iat: now,
    jti: randomBytes(16).toString('hex'),
    scope: ADMIN_SCOPES,
    ...extra,
  };
}

/** Sends `token` to a Bearer route that would revoke `target` and to validate; returns both answers. */
async function tryToken(
  b: TestBroker,
  token: string,
  target: string,
): Promise<{ bearer: number; detail: string; valid: boolean }> {
  const r = await b.req('/v1/revoke', { token, body: { level: 'agent', target } });
  const v = await b.req('/v1/token/validate', { body: { token } });
  if (token === '') {
    assert.equal(v.status, 400);
    return { bearer: r.status, detail: r.json?.detail, valid: false };
  }
  assert.equal(v.status, 200);
  if (!v.json.valid) assert.equal(v.json.error, 'token is invalid or expired');
  return { bearer: r.status, detail: r.json?.detail, valid: v.json.valid as boolean };
}

// Once per Ed25519 engine: these are the signature acceptance rules as clients meet them.
for (const engine of ED25519_ENGINES)
  test(`forged, tampered and malformed tokens are refused before any handler (ed25519=${engine})`, async (t) => {
    const b = await startTestBroker(t, { env: { AA_ED25519: engine } });
    const key = brokerKey(join(b.dir, 'signing.key'));
    const kid = b.handle.services.tokens.kid;
    const header = { alg: 'EdDSA', typ: 'JWT', kid };
    const admin = await b.adminToken();
    const [h, p, s] = admin.split('.') as [string, string, string];

    // Control: a token the harness forges with the right key and rules is accepted (so rejections below are real).
    const control = await tryToken(b, forge(key, header, claims()), 'control-target');
    assert.deepEqual(control, { bearer: 200, detail: undefined, valid: true });

    const otherKey = generateKeyPairSync('ed25519').privateKey;
    const pub = Buffer.from(b.handle.services.tokens.jwks().keys[0]?.x as string, 'base64url');
    const hs256 = (secret: Buffer): string => {
      const input = `${b64u(JSON.stringify({ alg: 'HS256', typ: 'JWT', kid }))}.${b64u(JSON.stringify(claims()))}`;
      return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
    };
    const now = Math.floor(Date.now() / 1000);
    const editedPayload = b64u(
      JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), scope: [...ADMIN_SCOPES, 'x:y:*'] }),
    );

    const cases: Record<string, string> = {
      'alg none, no signature': `${b64u(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${b64u(JSON.stringify(claims()))}.`,
      'alg none, real signature kept': `${b64u(JSON.stringify({ alg: 'none', typ: 'JWT', kid }))}.${p}.${s}`,
      'alg HS256 keyed with the raw public key': hs256(pub),
      'alg HS256 keyed with the JWK x text': hs256(Buffer.from(pub.toString('base64url'))),
      'alg missing': forge(key, { typ: 'JWT', kid }, claims()),
      'alg lower case': forge(key, { alg: 'eddsa', typ: 'JWT', kid }, claims()),
      'header re-ordered after signing': `${b64u(JSON.stringify({ kid, typ: 'JWT', alg: 'EdDSA' }))}.${p}.${s}`,
      'header field added after signing': `${b64u(JSON.stringify({ ...header, x: 1 }))}.${p}.${s}`,
      'header with jwk (embedded key)': forge(
        key,
        { ...header, jwk: { kty: 'OKP', crv: 'Ed25519', x: b64u(pub) } },
        claims(),
      ),
      'header with jku': forge(key, { ...header, jku: 'http://127.0.0.1:1/keys' }, claims()),
      'header with x5u': forge(key, { ...header, x5u: 'http://127.0.0.1:1/cert' }, claims()),
      'header with crit': forge(key, { ...header, crit: ['exp'], exp: 1 }, claims()),
      'duplicate alg in header': forge(key, `{"alg":"none","alg":"EdDSA","typ":"JWT","kid":"${kid}"}`, claims()),
      'unknown kid': forge(key, { ...header, kid: 'a'.repeat(43) }, claims()),
      'kid missing': forge(key, { alg: 'EdDSA', typ: 'JWT' }, claims()),
      'kid path traversal': forge(key, { ...header, kid: '../../../../etc/passwd' }, claims()),
      'kid SQL injection': forge(key, { ...header, kid: "x' OR '1'='1' --" }, claims()),
      'kid as number': forge(key, { ...header, kid: 1 }, claims()),
      'kid as array holding the real kid': forge(key, { ...header, kid: [kid] }, claims()),
      'kid as object': forge(key, { ...header, kid: { toString: kid } }, claims()),
      'kid null': forge(key, { ...header, kid: null }, claims()),
      'typ at+jwt': forge(key, { ...header, typ: 'at+jwt' }, claims()),
      'typ as number': forge(key, { ...header, typ: 1 }, claims()),
      'signature stripped': `${h}.${p}.`,
      'signature part missing': `${h}.${p}`,
      'signature truncated': `${h}.${p}.${s.slice(0, -2)}`,
      'signature with one bit flipped': `${h}.${p}.${s.slice(0, 10)}${s[10] === 'A' ? 'B' : 'A'}${s.slice(11)}`,
      'signature from another key': forge(otherKey, header, claims()),
      'payload edited after signing': `${h}.${editedPayload}.${s}`,
      'padding added': `${h}=.${p}.${s}`,
      'padding on the signature': `${h}.${p}.${s}==`,
      'standard base64 characters': `${h}.${p}.${s.replace(/-/g, '+').replace(/_/g, '/')}${/[-_]/.test(s) ? '' : '+'}`,
      'non-canonical trailing bits': `${h}.${p}.${s.slice(0, -1)}${String.fromCharCode(s.charCodeAt(s.length - 1) ^ 1)}`,
      'whitespace inside': `${h}.${p} .${s}`,
      'four parts': `${h}.${p}.${s}.${s}`,
      expired: forge(key, header, claims({ exp: now - 5, iat: now - 100, nbf: now - 100 })),
      'no expiry': forge(key, header, { ...claims(), exp: undefined }),
      'nbf in the future': forge(key, header, claims({ nbf: now + 600 })),
      'exp as a string': forge(key, header, claims({ exp: String(now + 300) })),
      'exp beyond 2^53': forge(
        key,
        header,
        `{"iss":"","sub":"admin","exp":9007199254740993,"nbf":${now},"iat":${now},"jti":"j1","scope":${JSON.stringify(ADMIN_SCOPES)}}`,
      ),
      'exp 1e300': forge(
        key,
        header,
        `{"iss":"","sub":"admin","exp":1e300,"nbf":${now},"iat":${now},"jti":"j2","scope":${JSON.stringify(ADMIN_SCOPES)}}`,
      ),
      'exp fractional': forge(key, header, claims({ exp: now + 300.5 })),
      'scope as a string': forge(key, header, claims({ scope: ADMIN_SCOPES.join(' ') })),
      'scope with a non-string entry': forge(key, header, claims({ scope: [...ADMIN_SCOPES, 1] })),
      'sub as an array': forge(key, header, claims({ sub: ['admin'] })),
      'duplicate sub claim': forge(
        key,
        header,
        `{"iss":"","sub":"nobody","sub":"admin","exp":${now + 300},"nbf":${now},"iat":${now},"jti":"j3","scope":${JSON.stringify(ADMIN_SCOPES)}}`,
      ),
      'duplicate scope claim via escape': forge(
        key,
        header,
        `{"iss":"","sub":"admin","exp":${now + 300},"nbf":${now},"iat":${now},"jti":"j4","scope":[],"\\u0073cope":${JSON.stringify(ADMIN_SCOPES)}}`,
      ),
      'payload is an array': forge(key, header, JSON.stringify([claims()])),
      'payload with a BOM': forge(key, header, `\ufeff${JSON.stringify(claims())}`),
      'missing jti': forge(key, header, { ...claims(), jti: '' }),
      'missing sub': forge(key, header, { ...claims(), sub: '' }),
      'oversized (signed, 9 KiB)': forge(key, header, claims({ pad: 'x'.repeat(9000) })),
      'empty token': '',
      'just dots': '..',
      'random printable bytes': String.fromCharCode(...randomBytes(200).map((x) => 0x21 + (x % 0x5e)), 0xe9, 0xff),
    };

    for (const [name, token] of Object.entries(cases)) {
      const r = await tryToken(b, token, `victim-${name}`);
      assert.equal(r.valid, false, `${name}: validate said valid`);
      if (token === '') continue; // `Bearer ` with nothing is the missing-token case, covered below
      assert.equal(r.bearer, 401, `${name}: bearer status ${r.bearer}`);
      assert.equal(r.detail, 'token verification failed', name);
    }

    // Bearer header variations: 8 KiB+ token, lower-case scheme, doubled space, no token at all.
    const long = await b.req('/v1/revoke', {
      headers: { Authorization: `Bearer ${'A'.repeat(16_384)}` },
      body: { level: 'agent', target: 'victim-long' },
    });
    assert.equal(long.status, 401);
    assert.equal(long.json.detail, 'token verification failed');
    for (const value of [
      `bearer ${admin}`,
      `Bearer  ${admin}`,
      'Bearer ',
      `Basic ${Buffer.from('admin:x').toString('base64')}`,
    ]) {
      const r = await b.req('/v1/revoke', {
        headers: { Authorization: value },
        body: { level: 'agent', target: 'victim-header' },
      });
      assert.equal(r.status, 401, value.slice(0, 12));
    }

    // Nothing but the control reached the revoke handler.
    const ev = await b.req('/v1/audit/events?event_type=token_revoked&limit=1000', { token: admin });
    assert.deepEqual(
      ev.json.events.map((e: { agent_id: string }) => e.agent_id),
      ['control-target'],
    );
    assert.equal(
      b.handle.services.revocations.isRevoked({ sub: 'victim-alg none, no signature', jti: 'x' } as never),
      false,
    );

    // The denials are audited with reasons but never the token text.
    const denials = await b.req('/v1/audit/events?event_type=token_auth_failed&limit=1000', { token: admin });
    assert.ok(denials.json.total >= 5);
    const all = await b.req('/v1/audit/events?limit=1000', { token: admin });
    assertNoSecrets(
      'token tests: logs and audit',
      [...b.logs, all.text],
      [ADMIN_SECRET, admin, ...keyMaterial(join(b.dir, 'signing.key'))],
    );
  });

test('AA_AUDIENCE: a token for another audience, or none, is refused on Bearer routes and by validate', async (t) => {
  const b = await startTestBroker(t, { env: { AA_AUDIENCE: 'broker-a' } });
  const key = brokerKey(join(b.dir, 'signing.key'));
  const header = { alg: 'EdDSA', typ: 'JWT', kid: b.handle.services.tokens.kid };
  const ok = await tryToken(b, forge(key, header, claims({ aud: ['broker-a'] })), 'aud-control');
  assert.equal(ok.bearer, 200);
  assert.equal(ok.valid, true);
  const asString = await tryToken(b, forge(key, header, claims({ aud: 'broker-a' })), 'aud-string');
  assert.equal(asString.bearer, 200, 'RFC 7519 allows aud as a single string');
  for (const aud of [['broker-b'], 'broker-b', [], undefined, ['Broker-A'], ['broker-a '], 7, [['broker-a']]]) {
    const r = await tryToken(b, forge(key, header, claims({ aud })), `aud-${JSON.stringify(aud)}`);
    assert.equal(r.bearer, 401, `aud ${JSON.stringify(aud)}`);
    assert.equal(r.valid, false, `aud ${JSON.stringify(aud)}`);
  }
});
