import { createHash, randomBytes } from 'node:crypto';
import nacl from 'tweetnacl';
import { encodeBase64Url } from './base64.js';

export const ED25519_SEED_BYTES = 32;
export const ED25519_PUBLIC_KEY_BYTES = 32;
export const ED25519_SECRET_KEY_BYTES = 64;
export const ED25519_SIGNATURE_BYTES = 64;

export interface Ed25519KeyPair {
  seed: Uint8Array;
  publicKey: Uint8Array;
  /** tweetnacl layout: seed || publicKey. */
  secretKey: Uint8Array;
}

export function keyPairFromSeed(seed: Uint8Array): Ed25519KeyPair {
  if (seed.length !== ED25519_SEED_BYTES) {
    throw new RangeError(`ed25519 seed must be ${ED25519_SEED_BYTES} bytes, got ${seed.length}`);
  }
  const kp = nacl.sign.keyPair.fromSeed(toPlain(seed));
  return { seed: kp.secretKey.slice(0, ED25519_SEED_BYTES), publicKey: kp.publicKey, secretKey: kp.secretKey };
}

export function generateKeyPair(): Ed25519KeyPair {
  return keyPairFromSeed(new Uint8Array(randomBytes(ED25519_SEED_BYTES)));
}

export function signDetached(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  return nacl.sign.detached(toPlain(message), toPlain(secretKey));
}

/**
 * RFC 8032 verification with the same acceptance rules as Go's crypto/ed25519: S must be canonical (S < L),
 * which tweetnacl does not check on its own; anything of the wrong length is simply invalid.
 */
export function verifyDetached(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== ED25519_SIGNATURE_BYTES || publicKey.length !== ED25519_PUBLIC_KEY_BYTES) return false;
  if (!isCanonicalScalar(signature, 32)) return false;
  return nacl.sign.detached.verify(toPlain(message), toPlain(signature), toPlain(publicKey));
}

// Group order L = 2^252 + 27742317777372353535851937790883648493, little-endian.
const L_BYTES = Uint8Array.from([
  0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
]);

/** True when the 32-byte little-endian scalar at `offset` is < L. Signatures are public, so no constant time. */
function isCanonicalScalar(bytes: Uint8Array, offset: number): boolean {
  for (let i = 31; i >= 0; i--) {
    const s = bytes[offset + i] as number;
    const l = L_BYTES[i] as number;
    if (s < l) return true;
    if (s > l) return false;
  }
  return false; // S == L
}

// The y-coordinates of the eight points of order dividing 8, including the non-canonical spellings y = p and
// y = p + 1 (of 0 and 1). With the x sign bit masked off, these seven values cover all 14 encodings a decoder
// accepts for a small-order point. A signature under such a key can be forged for many messages.
const SMALL_ORDER_Y: readonly Uint8Array[] = [
  '0000000000000000000000000000000000000000000000000000000000000000', // y = 0, order 4
  '0100000000000000000000000000000000000000000000000000000000000000', // y = 1, identity
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // y = p - 1, order 2
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // y = p, non-canonical 0
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // y = p + 1, non-canonical 1
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05', // order 8
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a', // order 8 (p minus the above)
].map((hex) => Uint8Array.from(Buffer.from(hex, 'hex')));

/** True for small-order (and wrongly sized) public keys, which registration must refuse. */
export function isWeakPublicKey(publicKey: Uint8Array): boolean {
  if (publicKey.length !== ED25519_PUBLIC_KEY_BYTES) return true;
  for (const y of SMALL_ORDER_Y) {
    let diff = ((publicKey[31] as number) & 0x7f) ^ (y[31] as number);
    for (let i = 0; i < 31; i++) diff |= (publicKey[i] as number) ^ (y[i] as number);
    if (diff === 0) return true;
  }
  return false;
}

/** RFC 7638 thumbprint of the OKP JWK; the broker uses it as the token `kid`. */
export function jwkThumbprint(publicKey: Uint8Array): string {
  // Members in lexicographic order with no whitespace, as RFC 7638 §3.2 requires.
  const canonical = `{"crv":"Ed25519","kty":"OKP","x":"${encodeBase64Url(publicKey)}"}`;
  return createHash('sha256').update(canonical).digest('base64url');
}

// tweetnacl rejects anything that fails `instanceof Uint8Array` in this realm (e.g. arrays from a vm context).
function toPlain(bytes: Uint8Array): Uint8Array {
  return bytes instanceof Uint8Array ? bytes : Uint8Array.from(bytes);
}
