import nacl from 'tweetnacl';
import type { Ed25519Primitives } from './ed25519-rules.js';

// tweetnacl rejects anything that fails `instanceof Uint8Array` in this realm (e.g. arrays from a vm context).
function toPlain(bytes: Uint8Array): Uint8Array {
  return bytes instanceof Uint8Array ? bytes : Uint8Array.from(bytes);
}

export const tweetnaclEngine: Ed25519Primitives = {
  sign(message, secretKey) {
    return nacl.sign.detached(toPlain(message), toPlain(secretKey));
  },
  verify(message, signature, publicKey) {
    return nacl.sign.detached.verify(toPlain(message), toPlain(signature), toPlain(publicKey));
  },
};
