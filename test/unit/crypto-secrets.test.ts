import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { hashSync } from 'bcryptjs';
import { CryptoPool } from '../../src/crypto/crypto-pool.js';
import {
  clientSecretNeedsRehash,
  DUMMY_CLIENT_SECRET_HASH,
  digestsEqual,
  hashClientSecret,
  isBcryptHash,
  randomHex,
  sha256Hex,
  verifyClientSecret,
} from '../../src/crypto/secrets.js';

describe('hashing helpers', () => {
  it('sha256Hex matches the FIPS 180-2 "abc" vector for strings and bytes', () => {
    const abc = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
    assert.equal(sha256Hex('abc'), abc);
    assert.equal(sha256Hex(Uint8Array.from([0x61, 0x62, 0x63])), abc);
    assert.equal(
      sha256Hex('é'),
      createHash('sha256')
        .update(Buffer.from([0xc3, 0xa9]))
        .digest('hex'),
    );
  });

  it('randomHex gives lowercase hex of the requested size, fresh each time', () => {
    assert.match(randomHex(32), /^[0-9a-f]{64}$/);
    assert.match(randomHex(8), /^[0-9a-f]{16}$/);
    assert.notEqual(randomHex(16), randomHex(16));
  });

  it('digestsEqual compares whole digests, any difference or length mismatch is unequal', () => {
    const d = (t: string): Buffer => createHash('sha256').update(t).digest();
    assert.equal(digestsEqual(d('secret'), d('secret')), true);
    assert.equal(digestsEqual(d('secret'), d('secreT')), false);
    assert.equal(digestsEqual(d('é'), d('e\u0301')), false);
    assert.equal(digestsEqual(d('secret'), d('secret').subarray(0, 31)), false);
    assert.equal(digestsEqual(new Uint8Array(0), new Uint8Array(0)), true);
  });

  it('isBcryptHash follows the Go broker rule', () => {
    const h = hashSync('x', 4);
    assert.equal(isBcryptHash(h), true);
    assert.equal(isBcryptHash(`$2a$${h.slice(4)}`), true);
    assert.equal(isBcryptHash(`$2y$${h.slice(4)}`), true);
    assert.equal(isBcryptHash(`$2x$${h.slice(4)}`), false);
    assert.equal(isBcryptHash(h.slice(0, 59)), false);
    assert.equal(isBcryptHash(`${h}x`), false);
    assert.equal(isBcryptHash('sha256$00$00'), false);
  });
});

describe('client secrets', () => {
  const pool = new CryptoPool({ size: 1 });
  after(() => pool.close());

  it('hashes to the salted sha256 format', () => {
    const secret = randomHex(32);
    const stored = hashClientSecret(secret);
    const m = /^sha256\$([0-9a-f]{32})\$([0-9a-f]{64})$/.exec(stored);
    assert.ok(m, stored);
    const expected = createHash('sha256')
      .update(Buffer.from(m[1] as string, 'hex'))
      .update(secret)
      .digest('hex');
    assert.equal(m[2], expected);
    assert.notEqual(hashClientSecret(secret), stored, 'salt must differ per hash');
  });

  it('verifies the sha256 form', async () => {
    const stored = hashClientSecret('right');
    assert.equal(await verifyClientSecret('right', stored, pool), true);
    assert.equal(await verifyClientSecret('wrong', stored, pool), false);
    assert.equal(await verifyClientSecret('', stored, pool), false);
    const flipped = stored.slice(0, -1) + (stored.endsWith('0') ? '1' : '0');
    assert.equal(await verifyClientSecret('right', flipped, pool), false);
    assert.equal(await verifyClientSecret('right', stored.toUpperCase(), pool), false);
    assert.equal(await verifyClientSecret('right', `${stored}0`, pool), false);
  });

  it('verifies bcrypt hashes imported from a Go broker', async () => {
    const stored = hashSync('legacy-secret', 4).replace(/^\$2b\$/, '$2a$');
    assert.equal(await verifyClientSecret('legacy-secret', stored, pool), true);
    assert.equal(await verifyClientSecret('legacy-secreT', stored, pool), false);
  });

  it('never matches unknown formats', async () => {
    for (const stored of ['', 'right', sha256Hex('right'), `sha256$$${sha256Hex('right')}`, 'plain:right']) {
      assert.equal(await verifyClientSecret('right', stored, pool), false, stored);
    }
  });

  it('offers a dummy hash that is well-formed and matches nothing', async () => {
    assert.match(DUMMY_CLIENT_SECRET_HASH, /^sha256\$[0-9a-f]{32}\$[0-9a-f]{64}$/);
    assert.equal(await verifyClientSecret('', DUMMY_CLIENT_SECRET_HASH, pool), false);
    assert.equal(await verifyClientSecret(randomHex(32), DUMMY_CLIENT_SECRET_HASH, pool), false);
  });

  it('flags legacy hashes for rehashing', () => {
    assert.equal(clientSecretNeedsRehash(hashClientSecret('x')), false);
    assert.equal(clientSecretNeedsRehash(hashSync('x', 4)), true);
  });
});
