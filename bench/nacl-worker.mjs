/**
 * The register ceiling: how many tweetnacl "verify one signature + sign one token" pairs one thread completes in
 * `workerData.ms` milliseconds (after a short warm-up). bench/routes.mjs runs one per core at once.
 */
import { parentPort, workerData } from 'node:worker_threads';
import nacl from 'tweetnacl';

const keys = nacl.sign.keyPair();
const nonce = nacl.randomBytes(32);
const nonceSig = nacl.sign.detached(nonce, keys.secretKey);
// About the size of a signing input of an agent token.
const claims = Buffer.alloc(330, 0x61);

function pair() {
  if (!nacl.sign.detached.verify(nonce, nonceSig, keys.publicKey)) throw new Error('verify failed');
  nacl.sign.detached(claims, keys.secretKey);
}

const warmUntil = performance.now() + 400;
while (performance.now() < warmUntil) pair();

let pairs = 0;
let signMs = 0;
let verifyMs = 0;
const until = performance.now() + workerData.ms;
for (let t = performance.now(); t < until; ) {
  nacl.sign.detached.verify(nonce, nonceSig, keys.publicKey);
  const t1 = performance.now();
  nacl.sign.detached(claims, keys.secretKey);
  const t2 = performance.now();
  verifyMs += t1 - t;
  signMs += t2 - t1;
  pairs++;
  t = t2;
}
parentPort.postMessage({ pairs, signMs, verifyMs });
