import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { decodeBase64Std, decodeBase64Url, encodeBase64, encodeBase64Url } from '../../src/crypto/base64.js';

const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);

describe('base64url (JWT parts)', () => {
  it('encodes with the URL alphabet and no padding', () => {
    assert.equal(encodeBase64Url(bytes(0xfb, 0xff)), '-_8');
    assert.equal(encodeBase64Url(bytes(0)), 'AA');
    assert.equal(encodeBase64Url(new Uint8Array(0)), '');
  });

  it('encodes only the viewed range of a subarray', () => {
    const backing = bytes(1, 2, 0xfb, 0xff, 3);
    assert.equal(encodeBase64Url(backing.subarray(2, 4)), '-_8');
  });

  it('decodes canonical text to a plain Uint8Array', () => {
    const out = decodeBase64Url('-_8');
    assert.deepEqual(out, bytes(0xfb, 0xff));
    assert.equal(Object.getPrototypeOf(out), Uint8Array.prototype);
    assert.deepEqual(decodeBase64Url(''), new Uint8Array(0));
    assert.deepEqual(decodeBase64Url('AAE'), bytes(0, 1));
  });

  it('round-trips every length', () => {
    for (let n = 0; n < 70; n++) {
      const b = new Uint8Array(randomBytes(n));
      assert.deepEqual(decodeBase64Url(encodeBase64Url(b)), b, `length ${n}`);
    }
  });

  it('rejects padding, the standard alphabet and stray characters', () => {
    for (const bad of ['AA==', 'AA=', 'AAA=', '+/8', 'ab/c', 'AA\n', 'A A', 'AA.', 'Zm9v\r\n', 'é']) {
      assert.equal(decodeBase64Url(bad), null, JSON.stringify(bad));
    }
  });

  it('rejects impossible lengths', () => {
    assert.equal(decodeBase64Url('A'), null);
    assert.equal(decodeBase64Url('AAAAA'), null);
  });

  it('rejects non-zero unused trailing bits so each byte string has one spelling', () => {
    // 'AA' is [0]; 'AB'..'AP' carry bits beyond the single byte.
    assert.deepEqual(decodeBase64Url('AA'), bytes(0));
    for (const c of 'BCDEFGHIJKLMNOP') assert.equal(decodeBase64Url(`A${c}`), null, `A${c}`);
    assert.deepEqual(decodeBase64Url('AQ'), bytes(0x01));
    // Three chars carry 16 bits; the last char's two low bits are unused.
    assert.deepEqual(decodeBase64Url('AAE'), bytes(0, 1));
    for (const c of 'BCD') assert.equal(decodeBase64Url(`AA${c}`), null, `AA${c}`);
    assert.equal(decodeBase64Url('-_9'), null);
    assert.equal(decodeBase64Url('-__'), null);
  });
});

describe('standard base64 (registration public_key / signature, Go StdEncoding)', () => {
  it('encodes with padding', () => {
    assert.equal(encodeBase64(bytes(0xfb, 0xff)), '+/8=');
    assert.equal(encodeBase64(bytes(0)), 'AA==');
  });

  it('decodes padded standard text', () => {
    assert.deepEqual(decodeBase64Std('+/8='), bytes(0xfb, 0xff));
    assert.deepEqual(decodeBase64Std('AA=='), bytes(0));
    assert.deepEqual(decodeBase64Std('AAAA'), bytes(0, 0, 0));
    assert.deepEqual(decodeBase64Std(''), new Uint8Array(0));
  });

  it('round-trips a 32-byte key and a 64-byte signature', () => {
    for (const n of [32, 64]) {
      const b = new Uint8Array(randomBytes(n));
      assert.deepEqual(decodeBase64Std(encodeBase64(b)), b);
    }
  });

  it('requires padding', () => {
    assert.equal(decodeBase64Std('AA'), null);
    assert.equal(decodeBase64Std('AAA'), null);
    assert.equal(decodeBase64Std('+/8'), null);
  });

  it('rejects the URL-safe alphabet', () => {
    assert.equal(decodeBase64Std('-_8='), null);
    assert.equal(decodeBase64Std('AA_A'), null);
  });

  it('rejects misplaced or excess padding and other characters', () => {
    for (const bad of ['A===', '====', 'AA==AA==', 'A=AA', '=AAA', 'AA= ', ' AA=', 'AA\t==', 'AAA.']) {
      assert.equal(decodeBase64Std(bad), null, JSON.stringify(bad));
    }
  });

  it('ignores CR and LF anywhere, like Go', () => {
    assert.deepEqual(decodeBase64Std('AA\r\n=='), bytes(0));
    assert.deepEqual(decodeBase64Std('\nA\nA=\r='), bytes(0));
    assert.deepEqual(decodeBase64Std('+/8=\n'), bytes(0xfb, 0xff));
    assert.equal(decodeBase64Std('AA\r\n='), null);
  });

  it('accepts non-zero unused trailing bits, like Go StdEncoding (non-strict)', () => {
    assert.deepEqual(decodeBase64Std('AB=='), bytes(0));
    assert.deepEqual(decodeBase64Std('AAB='), bytes(0, 0));
  });
});
