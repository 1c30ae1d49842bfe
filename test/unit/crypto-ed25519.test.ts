import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import nacl from 'tweetnacl';
import {
  generateKeyPair,
  isWeakPublicKey,
  jwkThumbprint,
  keyPairFromSeed,
  signDetached,
  verifyDetached,
} from '../../src/crypto/ed25519.js';
import { ED25519_ENGINES, ed25519Engine } from '../../src/crypto/ed25519-engine.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

// RFC 8032 §7.1: TEST 1, TEST 2, TEST 3 and TEST SHA(abc).
const V1 = {
  seed: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
  pub: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
  msg: '',
  sig: 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
};
const V2 = {
  seed: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
  pub: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
  msg: '72',
  sig: '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
};

const V3 = {
  seed: 'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
  pub: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
  msg: 'af82',
  sig: '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
};
const VABC = {
  seed: '833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42',
  pub: 'ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf',
  msg: 'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f',
  sig: 'dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704',
};
const VECTORS = [
  ['TEST 1', V1],
  ['TEST 2', V2],
  ['TEST 3', V3],
  ['TEST SHA(abc)', VABC],
] as const;

const L = 2n ** 252n + 27742317777372353535851937790883648493n;

function leToBigInt(b: Uint8Array): bigint {
  let n = 0n;
  for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i] as number);
  return n;
}
function bigIntToLe(n: bigint, len: number): Uint8Array {
  const out = new Uint8Array(len);
  for (let i = 0; i < len; i++) {
    out[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return out;
}

describe('ed25519 helpers (default engine)', () => {
  for (const [name, v] of [
    ['TEST 1', V1],
    ['TEST 2', V2],
  ] as const) {
    it(`matches RFC 8032 ${name}`, () => {
      const kp = keyPairFromSeed(hex(v.seed));
      assert.equal(toHex(kp.publicKey), v.pub);
      assert.equal(toHex(kp.seed), v.seed);
      assert.equal(toHex(kp.secretKey), v.seed + v.pub);
      const sig = signDetached(hex(v.msg), kp.secretKey);
      assert.equal(toHex(sig), v.sig);
      assert.equal(verifyDetached(hex(v.msg), hex(v.sig), hex(v.pub)), true);
    });
  }

  it('round-trips with a generated key and detects tampering', () => {
    const kp = generateKeyPair();
    assert.equal(kp.seed.length, 32);
    assert.equal(kp.publicKey.length, 32);
    assert.equal(kp.secretKey.length, 64);
    assert.deepEqual(keyPairFromSeed(kp.seed).publicKey, kp.publicKey);
    const msg = new TextEncoder().encode('nonce bytes');
    const sig = signDetached(msg, kp.secretKey);
    assert.equal(verifyDetached(msg, sig, kp.publicKey), true);

    const otherMsg = Uint8Array.from(msg);
    otherMsg[0] = (otherMsg[0] as number) ^ 1;
    assert.equal(verifyDetached(otherMsg, sig, kp.publicKey), false);
    const badSig = Uint8Array.from(sig);
    badSig[5] = (badSig[5] as number) ^ 0x40;
    assert.equal(verifyDetached(msg, badSig, kp.publicKey), false);
    assert.equal(verifyDetached(msg, sig, generateKeyPair().publicKey), false);
  });

  it('generates distinct keys', () => {
    assert.notDeepEqual(generateKeyPair().seed, generateKeyPair().seed);
  });

  it('returns false, not an exception, for wrong lengths', () => {
    const msg = new Uint8Array(0);
    const sig = hex(V1.sig);
    const pub = hex(V1.pub);
    assert.equal(verifyDetached(msg, sig.subarray(0, 63), pub), false);
    assert.equal(verifyDetached(msg, Uint8Array.from([...sig, 0]), pub), false);
    assert.equal(verifyDetached(msg, sig, pub.subarray(0, 31)), false);
    assert.equal(verifyDetached(msg, new Uint8Array(0), new Uint8Array(0)), false);
  });

  it('refuses a seed of the wrong length', () => {
    assert.throws(() => keyPairFromSeed(new Uint8Array(31)), RangeError);
  });

  it('rejects a non-canonical S (S + L) that tweetnacl alone would accept', () => {
    const msg = hex(V1.msg);
    const sig = hex(V1.sig);
    const s = leToBigInt(sig.subarray(32));
    assert.ok(s < L);
    const malleable = Uint8Array.from(sig);
    malleable.set(bigIntToLe(s + L, 32), 32);
    // The check in verifyDetached is what stands between us and signature malleability.
    assert.equal(nacl.sign.detached.verify(msg, malleable, hex(V1.pub)), true);
    assert.equal(verifyDetached(msg, malleable, hex(V1.pub)), false);

    const sEqualsL = Uint8Array.from(sig);
    sEqualsL.set(bigIntToLe(L, 32), 32);
    assert.equal(verifyDetached(msg, sEqualsL, hex(V1.pub)), false);
    const sMax = Uint8Array.from(sig);
    sMax.fill(0xff, 32);
    assert.equal(verifyDetached(msg, sMax, hex(V1.pub)), false);
  });

  it('rejects a public key that is not a curve point', () => {
    // y = 2 has no matching x on edwards25519.
    const notOnCurve = new Uint8Array(32);
    notOnCurve[0] = 2;
    assert.equal(verifyDetached(new Uint8Array(0), hex(V1.sig), notOnCurve), false);
  });
});

for (const name of ED25519_ENGINES) {
  const engine = ed25519Engine(name);
  describe(`ed25519 engine ${name}`, () => {
    for (const [label, v] of VECTORS) {
      it(`matches RFC 8032 ${label}`, () => {
        const kp = keyPairFromSeed(hex(v.seed));
        assert.equal(toHex(kp.publicKey), v.pub);
        assert.equal(toHex(engine.sign(hex(v.msg), kp.secretKey)), v.sig);
        assert.equal(engine.verify(hex(v.msg), hex(v.sig), hex(v.pub)), true);
        const tampered = hex(v.sig);
        tampered[10] = (tampered[10] as number) ^ 1;
        assert.equal(engine.verify(hex(v.msg), tampered, hex(v.pub)), false);
      });
    }

    it('applies the shared rules: lengths, canonical S, points that are not on the curve', () => {
      const msg = hex(V1.msg);
      const sig = hex(V1.sig);
      const pub = hex(V1.pub);
      assert.equal(engine.verify(msg, sig.subarray(0, 63), pub), false);
      assert.equal(engine.verify(msg, Uint8Array.from([...sig, 0]), pub), false);
      assert.equal(engine.verify(msg, sig, pub.subarray(0, 31)), false);
      assert.equal(engine.verify(msg, new Uint8Array(0), new Uint8Array(0)), false);
      const s = leToBigInt(sig.subarray(32));
      for (const bad of [s + L, L, 2n ** 256n - 1n]) {
        const forged = Uint8Array.from(sig);
        forged.set(bigIntToLe(bad, 32), 32);
        assert.equal(engine.verify(msg, forged, pub), false, `S = ${bad}`);
      }
      const notOnCurve = new Uint8Array(32);
      notOnCurve[0] = 2;
      assert.equal(engine.verify(msg, sig, notOnCurve), false);
      assert.throws(() => engine.sign(msg, new Uint8Array(32)), RangeError);
    });
  });
}

describe('ed25519 engines agree', () => {
  const [a, b] = ED25519_ENGINES.map(ed25519Engine) as [
    ReturnType<typeof ed25519Engine>,
    ReturnType<typeof ed25519Engine>,
  ];
  it('produce identical bytes and verify each other, for random keys and messages', () => {
    for (let i = 0; i < 24; i++) {
      const kp = generateKeyPair();
      const msg = Uint8Array.from(createHash('sha512').update(`message ${i}`).digest()).subarray(0, i * 13);
      const sa = a.sign(msg, kp.secretKey);
      const sb = b.sign(msg, kp.secretKey);
      assert.deepEqual(sa, sb, `signature ${i}`);
      assert.equal(a.verify(msg, sb, kp.publicKey), true);
      assert.equal(b.verify(msg, sa, kp.publicKey), true);
      const other = generateKeyPair().publicKey;
      assert.equal(a.verify(msg, sa, other), false);
      assert.equal(b.verify(msg, sa, other), false);
    }
  });

  it('reject the same signatures under small-order keys (registration refuses those keys anyway)', () => {
    // R = identity, S = 0 under the identity key: a "signature" valid for any message to a lax verifier.
    const identity = hex('0100000000000000000000000000000000000000000000000000000000000000');
    const sig = new Uint8Array(64);
    sig.set(identity, 0);
    const msg = new TextEncoder().encode('any message');
    assert.equal(a.verify(msg, sig, identity), b.verify(msg, sig, identity));
    assert.equal(isWeakPublicKey(identity), true);
  });
});

describe('isWeakPublicKey', () => {
  // Independent edwards25519 arithmetic: the full 8-torsion subgroup is generated from one point of order 8,
  // then every byte string a decoder accepts for those points is listed.
  const P = 2n ** 255n - 19n;
  const mod = (a: bigint): bigint => ((a % P) + P) % P;
  const pow = (b: bigint, e: bigint): bigint => {
    let r = 1n;
    b = mod(b);
    while (e > 0n) {
      if (e & 1n) r = mod(r * b);
      b = mod(b * b);
      e >>= 1n;
    }
    return r;
  };
  const inv = (a: bigint): bigint => pow(a, P - 2n);
  const D = mod(-121665n * inv(121666n));
  const SQRT_M1 = pow(2n, (P - 1n) / 4n);
  type Pt = { x: bigint; y: bigint };
  const add = (a: Pt, b: Pt): Pt => {
    const t = mod(D * a.x * b.x * a.y * b.y);
    return { x: mod((a.x * b.y + a.y * b.x) * inv(1n + t)), y: mod((a.y * b.y + a.x * b.x) * inv(1n - t)) };
  };
  const decode = (enc: Uint8Array): Pt | null => {
    const sign = ((enc[31] as number) >> 7) & 1;
    const yRaw = leToBigInt(enc) & ((1n << 255n) - 1n);
    const y = mod(yRaw);
    const u = mod(y * y - 1n);
    const v = mod(D * y * y + 1n);
    let x = mod(u * pow(v, 3n) * pow(u * pow(v, 7n), (P - 5n) / 8n));
    if (mod(v * x * x) !== u) {
      if (mod(v * x * x) !== mod(-u)) return null;
      x = mod(x * SQRT_M1);
    }
    if (Number(x & 1n) !== sign) x = mod(-x);
    return { x, y };
  };
  const encode = (p: Pt, y = p.y, signOverride?: number): Uint8Array => {
    const out = bigIntToLe(y, 32);
    const sign = signOverride ?? Number(p.x & 1n);
    out[31] = (out[31] as number) | (sign << 7);
    return out;
  };

  const order8 = decode(hex('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a'));
  assert.ok(order8);
  const torsion: Pt[] = [{ x: 0n, y: 1n }];
  for (let i = 1; i < 8; i++) torsion.push(add(torsion[i - 1] as Pt, order8));
  const encodings = new Map<string, Uint8Array>();
  for (const p of torsion) {
    const variants = [encode(p)];
    if (p.x === 0n) variants.push(encode(p, p.y, 1)); // "-0": decoders accept either sign bit when x = 0
    if (p.y + P < 2n ** 255n) {
      variants.push(encode(p, p.y + P, 0), encode(p, p.y + P, 1)); // non-canonical y
    }
    for (const v of variants) encodings.set(toHex(v), v);
  }

  it('the independent construction really is the 8-torsion subgroup', () => {
    assert.equal(new Set(torsion.map((p) => `${p.x},${p.y}`)).size, 8);
    const eighth = add(torsion[7] as Pt, order8);
    assert.deepEqual(eighth, { x: 0n, y: 1n });
    assert.equal(encodings.size, 14);
  });

  it('flags every encoding of every small-order point', () => {
    for (const [h, enc] of encodings) assert.equal(isWeakPublicKey(enc), true, h);
  });

  it('does not flag ordinary keys or near misses', () => {
    assert.equal(isWeakPublicKey(hex(V1.pub)), false);
    assert.equal(isWeakPublicKey(hex(V2.pub)), false);
    for (let i = 0; i < 20; i++) assert.equal(isWeakPublicKey(generateKeyPair().publicKey), false);
    for (const [, enc] of encodings) {
      const near = Uint8Array.from(enc);
      near[15] = (near[15] as number) ^ 0x01;
      assert.equal(isWeakPublicKey(near), false, toHex(near));
    }
  });

  it('treats a key of the wrong length as unusable', () => {
    assert.equal(isWeakPublicKey(new Uint8Array(31)), true);
    assert.equal(isWeakPublicKey(new Uint8Array(33)), true);
  });
});

describe('jwkThumbprint', () => {
  it('matches the RFC 8037 Appendix A.3 example', () => {
    assert.equal(jwkThumbprint(hex(V1.pub)), 'kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k');
  });

  it('follows the RFC 7638 definition for any key', () => {
    const pub = generateKeyPair().publicKey;
    const jwk = { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(pub).toString('base64url') };
    // Required members only, sorted lexicographically, no whitespace.
    const members = Object.keys(jwk).sort();
    const json = `{${members.map((k) => `"${k}":"${jwk[k as keyof typeof jwk]}"`).join(',')}}`;
    const expected = createHash('sha256').update(json, 'utf8').digest('base64url');
    const kid = jwkThumbprint(pub);
    assert.equal(kid, expected);
    assert.match(kid, /^[A-Za-z0-9_-]{43}$/);
  });
});
