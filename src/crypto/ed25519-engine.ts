/**
 * Ed25519 behind one small interface, with two interchangeable implementations chosen by AA_ED25519:
 *
 * - `native` (default): node:crypto, i.e. the runtime's OpenSSL; keys are held as KeyObjects.
 * - `tweetnacl`: the pure-JavaScript library, for operators who want signatures computed independently of the
 *   runtime's OpenSSL (or whose OpenSSL lacks Ed25519).
 *
 * RFC 8032 signatures are deterministic, so both produce the same bytes for the same key and message. Both apply
 * the same acceptance rules in front of the library (lengths, canonical S), so a token or a registration that one
 * engine accepts the other accepts too. Weak (small-order) agent keys are refused at registration, independently
 * of the engine (see isWeakPublicKey).
 */

import type { Ed25519EngineName } from './ed25519-engine-names.js';
import { nativeEngine } from './ed25519-native.js';
import {
  ED25519_PUBLIC_KEY_BYTES,
  ED25519_SECRET_KEY_BYTES,
  ED25519_SIGNATURE_BYTES,
  type Ed25519Primitives,
  isCanonicalSignatureScalar,
} from './ed25519-rules.js';
import { tweetnaclEngine } from './ed25519-tweetnacl.js';

export {
  DEFAULT_ED25519_ENGINE,
  ED25519_ENGINES,
  type Ed25519EngineName,
  isEd25519EngineName,
} from './ed25519-engine-names.js';

export interface Ed25519Engine {
  readonly name: Ed25519EngineName;
  sign(message: Uint8Array, secretKey: Uint8Array): Uint8Array;
  /** RFC 8032 with S < L required; anything of the wrong length is simply invalid. */
  verify(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean;
}

function withRules(name: Ed25519EngineName, p: Ed25519Primitives): Ed25519Engine {
  return {
    name,
    sign(message, secretKey) {
      if (secretKey.length !== ED25519_SECRET_KEY_BYTES) {
        throw new RangeError(`ed25519 secret key must be ${ED25519_SECRET_KEY_BYTES} bytes`);
      }
      return p.sign(message, secretKey);
    },
    verify(message, signature, publicKey) {
      if (signature.length !== ED25519_SIGNATURE_BYTES || publicKey.length !== ED25519_PUBLIC_KEY_BYTES) return false;
      if (!isCanonicalSignatureScalar(signature)) return false;
      return p.verify(message, signature, publicKey);
    },
  };
}

const ENGINES: Readonly<Record<Ed25519EngineName, Ed25519Engine>> = {
  native: withRules('native', nativeEngine),
  tweetnacl: withRules('tweetnacl', tweetnaclEngine),
};

export function ed25519Engine(name: Ed25519EngineName): Ed25519Engine {
  return ENGINES[name];
}
