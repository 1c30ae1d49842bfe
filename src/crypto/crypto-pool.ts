import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { CryptoOp, type CryptoRequest, type CryptoResponse, type CryptoResult } from './crypto-protocol.js';
import { ED25519_PUBLIC_KEY_BYTES, ED25519_SECRET_KEY_BYTES, ED25519_SIGNATURE_BYTES } from './ed25519.js';
import { createModuleWorker } from '../platform/module-worker.js';

const WORKER_URL = new URL('./crypto-worker' + (import.meta.url.endsWith('.ts') ? '.ts' : '.js'), import.meta.url);

// Dispatch weights: one bcrypt at the costs in use takes about as long as dozens of Ed25519 operations, so a worker
// busy with bcrypt should not look as free as one holding a single signature job.
const ED25519_WEIGHT = 1;
const BCRYPT_WEIGHT = 64;

const BCRYPT_MIN_COST = 4;
const BCRYPT_MAX_COST = 31;
const BCRYPT_MAX_PASSWORD_BYTES = 72;

interface Pending {
  resolve: (value: CryptoResult) => void;
  reject: (reason: Error) => void;
  weight: number;
}

interface Slot {
  worker: Worker | null;
  pending: Map<number, Pending>;
  load: number;
}

/** Too many verifications are queued; the caller should shed the request (anyone can ask for one). */
export class CryptoPoolBusyError extends Error {
  constructor() {
    super('crypto pool is busy');
    this.name = 'CryptoPoolBusyError';
  }
}

export class CryptoPoolClosedError extends Error {
  constructor() {
    super('crypto pool is closed');
    this.name = 'CryptoPoolClosedError';
  }
}

/**
 * Ed25519 and bcrypt on worker threads, so no signature or password check stalls request handling. Idle workers
 * are unref'd and never keep the process alive; a worker is ref'd only while it owes an answer, so awaiting a
 * result is enough to keep the process running until it arrives.
 */
export class CryptoPool {
  private readonly slots: Slot[] = [];
  private nextId = 1;
  private cursor = 0;
  private closed = false;
  private verifying = 0;
  /**
   * Verifications can be requested by anonymous clients (a forged token under our kid costs one); past this many
   * in flight they are refused, so a flood cannot queue unbounded work ahead of the signatures that issue tokens.
   */
  private readonly maxVerifying: number;

  constructor(size: number = availableParallelism(), maxVerifyingPerWorker = 32) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`crypto pool size must be a positive integer`);
    this.maxVerifying = size * maxVerifyingPerWorker;
    for (let i = 0; i < size; i++) {
      const slot: Slot = { worker: null, pending: new Map(), load: 0 };
      this.slots.push(slot);
      this.spawn(slot);
    }
  }

  /** Same acceptance rules as verifyDetached: wrong lengths and non-canonical S are false, never an error. */
  verify(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): Promise<boolean> {
    if (signature.length !== ED25519_SIGNATURE_BYTES || publicKey.length !== ED25519_PUBLIC_KEY_BYTES) {
      return this.closed ? Promise.reject(new CryptoPoolClosedError()) : Promise.resolve(false);
    }
    if (!this.closed && this.verifying >= this.maxVerifying) return Promise.reject(new CryptoPoolBusyError());
    this.verifying++;
    const done = this.dispatch<boolean>({ id: 0, op: CryptoOp.Verify, message, signature, publicKey }, ED25519_WEIGHT);
    done.then(
      () => this.verifying--,
      () => this.verifying--,
    );
    return done;
  }

  sign(message: Uint8Array, secretKey: Uint8Array): Promise<Uint8Array> {
    if (secretKey.length !== ED25519_SECRET_KEY_BYTES) {
      return Promise.reject(new RangeError(`ed25519 secret key must be ${ED25519_SECRET_KEY_BYTES} bytes`));
    }
    return this.dispatch<Uint8Array>({ id: 0, op: CryptoOp.Sign, message, secretKey }, ED25519_WEIGHT);
  }

  /** False for a wrong password and for a hash bcryptjs cannot parse. */
  bcryptCompare(plain: string, hash: string): Promise<boolean> {
    return this.dispatch<boolean>({ id: 0, op: CryptoOp.BcryptCompare, plain, hash }, BCRYPT_WEIGHT);
  }

  /** Refuses what Go's bcrypt.GenerateFromPassword refuses (cost outside 4..31, more than 72 bytes). */
  bcryptHash(plain: string, cost: number): Promise<string> {
    if (!Number.isInteger(cost) || cost < BCRYPT_MIN_COST || cost > BCRYPT_MAX_COST) {
      return Promise.reject(new RangeError(`bcrypt: cost ${cost} is outside allowed range (4,31)`));
    }
    if (Buffer.byteLength(plain, 'utf8') > BCRYPT_MAX_PASSWORD_BYTES) {
      return Promise.reject(new RangeError('bcrypt: password length exceeds 72 bytes'));
    }
    return this.dispatch<string>({ id: 0, op: CryptoOp.BcryptHash, plain, cost }, BCRYPT_WEIGHT);
  }

  /** Rejects everything in flight and stops the workers; later calls reject with CryptoPoolClosedError. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const exits: Promise<number>[] = [];
    for (const slot of this.slots) {
      this.failPending(slot, new CryptoPoolClosedError());
      if (slot.worker !== null) {
        exits.push(slot.worker.terminate());
        slot.worker = null;
      }
    }
    await Promise.all(exits);
  }

  // Each public method fixes the op, and the worker answers each op with exactly one result type.
  private dispatch<T extends CryptoResult>(request: CryptoRequest, weight: number): Promise<T> {
    if (this.closed) return Promise.reject(new CryptoPoolClosedError());
    const slot = this.pickSlot();
    const worker = slot.worker ?? this.spawn(slot);
    const id = this.nextId++;
    request.id = id;
    return new Promise<T>((resolve, reject) => {
      if (slot.pending.size === 0) worker.ref();
      slot.pending.set(id, { resolve: resolve as (value: CryptoResult) => void, reject, weight });
      slot.load += weight;
      worker.postMessage(request);
    });
  }

  private pickSlot(): Slot {
    const n = this.slots.length;
    const start = this.cursor;
    this.cursor = start + 1 === n ? 0 : start + 1;
    let best = this.slots[start] as Slot;
    for (let i = 1; i < n && best.load > 0; i++) {
      const candidate = this.slots[(start + i) % n] as Slot;
      if (candidate.load < best.load) best = candidate;
    }
    return best;
  }

  private spawn(slot: Slot): Worker {
    const worker = createModuleWorker(WORKER_URL);
    worker.on('message', (res: CryptoResponse) => {
      const job = slot.pending.get(res.id);
      if (job === undefined) return;
      slot.pending.delete(res.id);
      slot.load -= job.weight;
      if (slot.pending.size === 0) worker.unref();
      if (res.ok) job.resolve(res.value);
      else job.reject(new Error(res.error));
    });
    // An uncaught error is always followed by 'exit'; keeping it here (rather than letting it become a
    // process-level throw) lets the rejected jobs say why.
    let crash: Error | undefined;
    worker.on('error', (err: Error) => {
      crash = err;
    });
    worker.on('exit', (code) => {
      if (slot.worker !== worker) return;
      slot.worker = null; // respawned on the next job routed here, so a broken build cannot spin in a loop
      const why = crash === undefined ? `exited with code ${code}` : `failed: ${crash.message}`;
      this.failPending(slot, new Error(`crypto worker ${why}`));
    });
    slot.worker = worker;
    // After the listeners: adding a 'message' listener refs the worker's port again.
    worker.unref();
    return worker;
  }

  private failPending(slot: Slot, reason: Error): void {
    const jobs = [...slot.pending.values()];
    slot.pending.clear();
    slot.load = 0;
    for (const job of jobs) job.reject(reason);
  }
}
