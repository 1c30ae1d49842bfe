/** Ed25519 for agent registration, with node:crypto only: key intake, the raw public key, the nonce signature. */
import { createPrivateKey, createPublicKey, generateKeyPairSync, KeyObject, sign } from 'node:crypto';
import { ConfigurationError } from './errors.js';

/** A caller's key (KeyObject or PKCS#8 PEM), or a fresh one. Never echoes the key in an error. */
export function agentPrivateKey(input?: KeyObject | string | Buffer): KeyObject {
  if (input === undefined) return generateKeyPairSync('ed25519').privateKey;
  let key: KeyObject;
  if (input instanceof KeyObject) {
    key = input;
  } else {
    try {
      key = createPrivateKey({ key: input, format: 'pem' });
    } catch {
      throw new ConfigurationError('privateKey is not a readable PEM private key');
    }
  }
  if (key.type !== 'private' || key.asymmetricKeyType !== 'ed25519')
    throw new ConfigurationError('privateKey must be an Ed25519 private key');
  return key;
}

/** Standard base64 of the raw 32-byte public key, as /v1/register takes it. */
export function rawPublicKeyBase64(privateKey: KeyObject): string {
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' });
  return Buffer.from(jwk.x ?? '', 'base64url').toString('base64');
}

/** Standard base64 of the signature over the 32 bytes the hex nonce encodes (not over the hex text). */
export function signNonce(privateKey: KeyObject, nonceHex: string): string {
  return sign(null, Buffer.from(nonceHex, 'hex'), privateKey).toString('base64');
}
