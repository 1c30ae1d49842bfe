import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { jwkThumbprint, keyPairFromSeed, signDetached, verifyDetached } from '../../src/crypto/ed25519.js';
import { hasDuplicateKeys } from '../../src/crypto/json-keys.js';
import {
  checkHeader,
  encodeCompactJws,
  encodeSigningInput,
  jwtHeaderJson,
  MAX_TOKEN_LENGTH,
  parseJsonObject,
  splitCompactJws,
} from '../../src/crypto/jwt.js';

const kp = keyPairFromSeed(new Uint8Array(32).fill(7));
const KID = jwkThumbprint(kp.publicKey);
const KIDS: ReadonlySet<string> = new Set([KID]);
const PAYLOAD = '{"iss":"","sub":"admin","exp":2000000000,"nbf":1,"iat":1,"jti":"00","scope":["a:b:c"]}';
const b64u = (s: string | Uint8Array): string => Buffer.from(s).toString('base64url');
const SIG64 = b64u(new Uint8Array(64));

function token(headerJson: string, payload: string | Uint8Array = PAYLOAD, sig = SIG64): string {
  return `${b64u(headerJson)}.${b64u(payload)}.${sig}`;
}

function headerOf(json: string): Record<string, unknown> {
  const parts = splitCompactJws(token(json));
  assert.ok(parts, `header ${json} should split`);
  return parts.header;
}

describe('encoding', () => {
  it('serializes the header exactly like the Go broker', () => {
    assert.equal(jwtHeaderJson(KID), `{"alg":"EdDSA","typ":"JWT","kid":"${KID}"}`);
    const input = encodeSigningInput(jwtHeaderJson(KID), PAYLOAD);
    // Prefix observed on tokens from the Go broker.
    assert.ok(input.startsWith('eyJhbGciOiJFZERTQSIsInR5cCI6Ik'), input);
    assert.equal(input, `${b64u(jwtHeaderJson(KID))}.${b64u(PAYLOAD)}`);
  });

  it('serializes a header object in its key order', () => {
    assert.equal(
      encodeSigningInput({ alg: 'EdDSA', typ: 'JWT', kid: KID }, PAYLOAD),
      encodeSigningInput(jwtHeaderJson(KID), PAYLOAD),
    );
  });

  it('keeps payload bytes as given, including non-ASCII and Go escapes', () => {
    const payload = '{"sub":"\\u003cé\\u003e"}';
    const input = encodeSigningInput(jwtHeaderJson(KID), payload);
    const parts = splitCompactJws(encodeCompactJws(input, new Uint8Array(64)));
    assert.ok(parts);
    assert.equal(parts.payloadJson, payload);
  });

  it('round-trips a signed token', () => {
    const input = encodeSigningInput(jwtHeaderJson(KID), PAYLOAD);
    const sig = signDetached(new TextEncoder().encode(input), kp.secretKey);
    const jws = encodeCompactJws(input, sig);
    const parts = splitCompactJws(jws);
    assert.ok(parts);
    assert.equal(parts.signingInput, input);
    assert.equal(parts.payloadJson, PAYLOAD);
    assert.deepEqual(parts.signature, sig);
    assert.equal(`${parts.headerB64}.${parts.payloadB64}.${parts.signatureB64}`, jws);
    assert.deepEqual({ ...parts.header }, { alg: 'EdDSA', typ: 'JWT', kid: KID });
    assert.equal(checkHeader(parts.header, KIDS), true);
    assert.equal(verifyDetached(new TextEncoder().encode(parts.signingInput), parts.signature, kp.publicKey), true);
  });
});

describe('splitCompactJws', () => {
  const good = jwtHeaderJson(KID);

  it('accepts a well-formed token', () => {
    assert.ok(splitCompactJws(token(good)));
  });

  it('rejects anything but exactly three parts', () => {
    const t = token(good);
    const [h, p, s] = t.split('.') as [string, string, string];
    for (const bad of [`${h}.${p}`, `${h}.${p}.${s}.${s}`, `${h}.${p}.${s}.`, h, '', '..', `.${p}.${s}`]) {
      assert.equal(splitCompactJws(bad), null, bad);
    }
  });

  it('rejects padding and non-base64url characters in any part', () => {
    const [h, p, s] = token(good).split('.') as [string, string, string];
    const padded = (x: string): string => x + '='.repeat((4 - (x.length % 4)) % 4 || 4);
    assert.equal(splitCompactJws(`${padded(h)}.${p}.${s}`), null);
    assert.equal(splitCompactJws(`${h}.${padded(p)}.${s}`), null);
    assert.equal(splitCompactJws(`${h}.${p}.${s}==`), null);
    assert.equal(splitCompactJws(`${h}.${p}.${s.replace(/A/g, '+')}`), null);
    assert.equal(splitCompactJws(`${h} .${p}.${s}`), null);
  });

  it('rejects a non-canonical spelling of the signature', () => {
    const [h, p, s] = token(good).split('.') as [string, string, string];
    // 64 bytes → 86 chars; the last char carries 4 unused bits.
    assert.equal(s.length, 86);
    assert.equal(splitCompactJws(`${h}.${p}.${s.slice(0, -1)}B`), null);
  });

  it('rejects a signature that is not 64 bytes', () => {
    for (const n of [0, 32, 63, 65, 128]) {
      assert.equal(splitCompactJws(token(good, PAYLOAD, b64u(new Uint8Array(n)))), null, `${n} bytes`);
    }
  });

  it('rejects header and payload bytes that are not UTF-8', () => {
    assert.equal(splitCompactJws(token(good, Uint8Array.from([0x7b, 0xff, 0x7d]))), null);
    assert.equal(splitCompactJws(token(good, Uint8Array.from([0x7b, 0xc3, 0x7d]))), null);
    const badHeader = `${b64u(Uint8Array.from([0x7b, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x3a, 0x31, 0x7d]))}.${b64u(PAYLOAD)}.${SIG64}`;
    assert.equal(splitCompactJws(badHeader), null);
  });

  it('does not parse the payload (claim rules live elsewhere)', () => {
    const parts = splitCompactJws(token(good, 'not json'));
    assert.ok(parts);
    assert.equal(parts.payloadJson, 'not json');
  });

  it('rejects a header that is not a JSON object', () => {
    for (const h of ['', 'null', '[]', '"EdDSA"', '1', '{', '{"alg":"EdDSA"} x', `\ufeff${good}`]) {
      assert.equal(splitCompactJws(token(h)), null, JSON.stringify(h));
    }
  });

  it('rejects duplicate header members, including escaped spellings', () => {
    assert.equal(splitCompactJws(token(`{"alg":"none","alg":"EdDSA","kid":"${KID}"}`)), null);
    assert.equal(splitCompactJws(token(`{"alg":"EdDSA","\\u0061lg":"none","kid":"${KID}"}`)), null);
    assert.equal(splitCompactJws(token(`{"alg":"EdDSA","kid":"x","kid":"${KID}"}`)), null);
  });

  it('gives the header a null prototype so __proto__ is plain data', () => {
    const h = headerOf(`{"alg":"EdDSA","kid":"${KID}","__proto__":{"polluted":true}}`);
    assert.equal(Object.getPrototypeOf(h), null);
    // biome-ignore lint/suspicious/noProto: an own property named __proto__ is what this test is about
    assert.deepEqual(h.__proto__, { polluted: true });
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it('bounds the token length', () => {
    const longPayload = JSON.stringify({ pad: 'x'.repeat(MAX_TOKEN_LENGTH) });
    assert.equal(splitCompactJws(token(good, longPayload)), null);
    const justFits = 'x'.repeat(Math.floor(((MAX_TOKEN_LENGTH - 200) * 3) / 4));
    assert.ok(splitCompactJws(token(good, justFits)));
  });
});

describe('checkHeader', () => {
  it('accepts EdDSA with a known kid, with or without typ JWT', () => {
    assert.equal(checkHeader(headerOf(jwtHeaderJson(KID)), KIDS), true);
    assert.equal(checkHeader(headerOf(`{"alg":"EdDSA","kid":"${KID}"}`), KIDS), true);
  });

  it('rejects every other algorithm', () => {
    for (const alg of ['none', 'None', 'HS256', 'RS256', 'ES256', 'eddsa', 'EdDSA ', 'Ed25519']) {
      assert.equal(checkHeader(headerOf(`{"alg":"${alg}","typ":"JWT","kid":"${KID}"}`), KIDS), false, alg);
    }
    assert.equal(checkHeader(headerOf(`{"typ":"JWT","kid":"${KID}"}`), KIDS), false);
    assert.equal(checkHeader(headerOf(`{"alg":["EdDSA"],"kid":"${KID}"}`), KIDS), false);
  });

  it('requires a known string kid', () => {
    assert.equal(checkHeader(headerOf('{"alg":"EdDSA","typ":"JWT"}'), KIDS), false);
    assert.equal(checkHeader(headerOf('{"alg":"EdDSA","typ":"JWT","kid":""}'), KIDS), false);
    assert.equal(checkHeader(headerOf('{"alg":"EdDSA","typ":"JWT","kid":"other"}'), KIDS), false);
    assert.equal(checkHeader(headerOf('{"alg":"EdDSA","typ":"JWT","kid":null}'), KIDS), false);
    assert.equal(checkHeader(headerOf(`{"alg":"EdDSA","typ":"JWT","kid":["${KID}"]}`), KIDS), false);
    assert.equal(checkHeader(headerOf(jwtHeaderJson(KID)), new Set()), false);
  });

  it('rejects a typ other than JWT', () => {
    for (const typ of ['"jwt"', '"JWS"', '"at+jwt"', 'null', '1']) {
      assert.equal(checkHeader(headerOf(`{"alg":"EdDSA","typ":${typ},"kid":"${KID}"}`), KIDS), false, typ);
    }
  });

  it('fails closed on crit and key-bearing fields', () => {
    for (const field of ['crit', 'jku', 'jwk', 'x5u', 'x5c']) {
      const h = headerOf(`{"alg":"EdDSA","typ":"JWT","kid":"${KID}","${field}":null}`);
      assert.equal(checkHeader(h, KIDS), false, field);
    }
  });
});

describe('hasDuplicateKeys / parseJsonObject', () => {
  it('finds duplicates at any depth and only among siblings', () => {
    assert.equal(hasDuplicateKeys('{"a":1,"b":2}'), false);
    assert.equal(hasDuplicateKeys('{"a":1,"a":2}'), true);
    assert.equal(hasDuplicateKeys('{"a":{"b":1,"b":1}}'), true);
    assert.equal(hasDuplicateKeys('{"a":{"b":1},"c":{"b":1}}'), false);
    assert.equal(hasDuplicateKeys('[{"a":1},{"a":1}]'), false);
    assert.equal(hasDuplicateKeys('{"a":[{"x":1,"x":2}]}'), true);
    assert.equal(hasDuplicateKeys('{"a":"\\"a\\":","b":["a","a"]}'), false);
    assert.equal(hasDuplicateKeys('{"a\\\\":1,"a\\\\":2}'), true);
    assert.equal(hasDuplicateKeys('{"a\\\\":1,"a":2}'), false);
    assert.equal(hasDuplicateKeys('{"\\u00e9":1,"é":2}'), true);
    assert.equal(hasDuplicateKeys('{}'), false);
    assert.equal(hasDuplicateKeys('"a"'), false);
  });

  it('parseJsonObject returns only duplicate-free top-level objects', () => {
    assert.deepEqual({ ...parseJsonObject('{"a":[1,{"b":null}]}') }, { a: [1, { b: null }] });
    assert.equal(parseJsonObject('{"a":1,"a":1}'), null);
    assert.equal(parseJsonObject('[1]'), null);
    assert.equal(parseJsonObject('nope'), null);
  });
});
