import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { compareSync, hashSync } from 'bcryptjs';
import { CryptoOp, type CryptoRequest, type CryptoResponse, type CryptoResult } from './crypto-protocol.js';
import { ed25519Engine, isEd25519EngineName } from './ed25519-engine.js';

// The synchronous bcryptjs variants: this thread exists to block, and the async ones only add scheduling overhead.

const port = parentPort;
if (port === null) throw new Error('crypto-worker must run in a worker thread');
const engineName = (workerData as { engine?: unknown } | null)?.engine;
if (typeof engineName !== 'string' || !isEd25519EngineName(engineName))
  throw new Error('crypto-worker: unknown Ed25519 engine');
const ed25519 = ed25519Engine(engineName);

/**
 * Signature work yields the CPU to the event loop: with the pool sized to the cores, a burst of registrations
 * would otherwise keep every core busy for milliseconds at a time while cheap requests (validate) wait their turn.
 * A lower priority (nice +5) for this thread only still lets it use every idle cycle. Linux names a thread by
 * /proc/thread-self; elsewhere (or when refused) the worker keeps the default priority.
 */
export const CRYPTO_WORKER_NICE = 5;
try {
  const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
  if (Number.isInteger(tid) && tid > 0) setPriority(tid, CRYPTO_WORKER_NICE);
} catch {
  // not Linux, or not permitted: run at the default priority
}

port.on('message', (req: CryptoRequest) => {
  let res: CryptoResponse;
  try {
    res = { id: req.id, ok: true, value: run(req) };
  } catch (err) {
    res = { id: req.id, ok: false, error: err instanceof Error ? err.message : String(err) };
  }
  port.postMessage(res);
});

function run(req: CryptoRequest): CryptoResult {
  switch (req.op) {
    case CryptoOp.Verify:
      return ed25519.verify(req.message, req.signature, req.publicKey);
    case CryptoOp.Sign:
      return ed25519.sign(req.message, req.secretKey);
    case CryptoOp.BcryptCompare:
      return bcryptCompare(req.plain, req.hash);
    case CryptoOp.BcryptHash:
      return hashSync(req.plain, req.cost);
  }
}

function bcryptCompare(plain: string, hash: string): boolean {
  try {
    return compareSync(plain, hash);
  } catch {
    // bcryptjs throws on a malformed salt or version; a stored hash we cannot parse matches nothing.
    return false;
  }
}
