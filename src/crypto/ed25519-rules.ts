/**
 * The acceptance rules every Ed25519 engine shares: sizes, canonical S and the small-order keys registration
 * refuses. Kept apart from the engines so both apply exactly the same checks.
 */
export const ED25519_SEED_BYTES = 32;
export const ED25519_PUBLIC_KEY_BYTES = 32;
export const ED25519_SECRET_KEY_BYTES = 64;
export const ED25519_SIGNATURE_BYTES = 64;

// Group order L = 2^252 + 27742317777372353535851937790883648493, little-endian.
const L_BYTES = Uint8Array.from([
  0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
]);

/**
 * True when S (the second half of a signature) is < L, as RFC 8032 §5.1.7 requires and Go's crypto/ed25519
 * checks; tweetnacl does not check it on its own. Signatures are public, so no constant time.
 */
export function isCanonicalSignatureScalar(signature: Uint8Array): boolean {
  const offset = 32;
  for (let i = 31; i >= 0; i--) {
    const s = signature[offset + i] as number;
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

/** What an implementation provides; callers go through `Ed25519Engine`, which adds the shared rules. */
export interface Ed25519Primitives {
  /** `secretKey` is seed || publicKey (64 bytes), already length-checked. */
  sign(message: Uint8Array, secretKey: Uint8Array): Uint8Array;
  /** Lengths and S are already checked. Must return false, never throw, for a key that is not a curve point. */
  verify(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean;
}
