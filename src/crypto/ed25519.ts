import { createHash, randomBytes } from 'node:crypto';
import nacl from 'tweetnacl';
import { encodeBase64Url } from './base64.js';
import { DEFAULT_ED25519_ENGINE, ed25519Engine } from './ed25519-engine.js';
import { ED25519_SEED_BYTES } from './ed25519-rules.js';

export {
  ED25519_PUBLIC_KEY_BYTES,
  ED25519_SECRET_KEY_BYTES,
  ED25519_SEED_BYTES,
  ED25519_SIGNATURE_BYTES,
  isCanonicalSignatureScalar,
  isWeakPublicKey,
} from './ed25519-rules.js';

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

/** Signs with the default engine (tests and tools; the broker signs through its CryptoPool). */
export function signDetached(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  return ed25519Engine(DEFAULT_ED25519_ENGINE).sign(message, secretKey);
}

/** Verifies with the default engine and the shared acceptance rules (see ed25519-engine.ts). */
export function verifyDetached(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean {
  return ed25519Engine(DEFAULT_ED25519_ENGINE).verify(message, signature, publicKey);
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
