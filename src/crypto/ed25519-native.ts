import { createPrivateKey, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import type { Ed25519Primitives } from './ed25519-rules.js';

// DER prefixes of an Ed25519 PKCS#8 private key (RFC 8410, v1, seed only) and SubjectPublicKeyInfo: the raw
// 32 bytes follow. Importing through DER works on every supported Node version (raw JWK import does too, but
// costs a base64 round trip).
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/**
 * KeyObjects are cached by their bytes: importing a key costs more than a verification with it. The broker uses
 * one signing key and one verification key, so both caches stay tiny; registration keys (one per agent) go
 * through the public cache too, which is why it evicts.
 */
const MAX_CACHED_PUBLIC = 64;
const privateKeys = new Map<string, KeyObject>();
const publicKeys = new Map<string, KeyObject>();

function privateKeyOf(secretKey: Uint8Array): KeyObject {
  const seed = Buffer.from(secretKey.buffer, secretKey.byteOffset, 32);
  // Keyed by the public half, so no copy of the seed lingers in an immutable string.
  const id = Buffer.from(secretKey.buffer, secretKey.byteOffset + 32, 32).toString('latin1');
  let key = privateKeys.get(id);
  if (key === undefined) {
    key = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
    // Signing keys change only when the process is restarted with another key file; a couple is plenty.
    if (privateKeys.size >= 4) privateKeys.clear();
    privateKeys.set(id, key);
  }
  return key;
}

function publicKeyOf(publicKey: Uint8Array): KeyObject {
  const raw = Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.length);
  const id = raw.toString('latin1');
  let key = publicKeys.get(id);
  if (key === undefined) {
    key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
    if (publicKeys.size >= MAX_CACHED_PUBLIC) publicKeys.delete(publicKeys.keys().next().value as string);
    publicKeys.set(id, key);
  }
  return key;
}

export const nativeEngine: Ed25519Primitives = {
  sign(message, secretKey) {
    return new Uint8Array(sign(null, message, privateKeyOf(secretKey)));
  },
  verify(message, signature, publicKey) {
    try {
      return verify(null, message, publicKeyOf(publicKey), signature);
    } catch {
      // OpenSSL refuses to decode some byte strings as points; such a key verifies nothing.
      return false;
    }
  },
};
