import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { AgentWritError } from '../errors.js';
import { createModuleWorker } from '../platform/module-worker.js';
import { CryptoOp, type CryptoRequest, type CryptoResponse, type CryptoResult } from './crypto-protocol.js';
import { ED25519_PUBLIC_KEY_BYTES, ED25519_SECRET_KEY_BYTES, ED25519_SIGNATURE_BYTES } from './ed25519.js';
import { DEFAULT_ED25519_ENGINE, type Ed25519Engine, type Ed25519EngineName, ed25519Engine } from './ed25519-engine.js';
import { type LaneLimits, type VerifyLane, VerifyLanes } from './verify-lanes.js';

export { CryptoPoolBusyError } from './verify-lanes.js';

const WORKER_URL = new URL(`./crypto-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);

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

export class CryptoPoolClosedError extends AgentWritError {
  readonly code = 'AW_ERR_CRYPTO_CLOSED';
  constructor() {
    super('crypto pool is closed');
    this.name = 'CryptoPoolClosedError';
  }
}

export interface CryptoPoolOptions {
  /** Worker threads; default one per core. */
  size?: number;
  engine?: Ed25519EngineName;
  /**
   * Run Ed25519 on the event loop instead of the workers. Default: yes for the native engine, whose operations
   * cost less on the loop than the round trip to a worker does (measured under concurrency, see
   * docs/performance.md); never for tweetnacl, whose milliseconds would stall every other request. bcrypt always
   * runs on the workers.
   */
  inlineEd25519?: boolean;
  /** Overrides of the verification lane bounds (defaults scale with the pool size). */
  lanes?: Partial<LaneLimits>;
}

/** Lane bounds per worker: a few in flight keeps each worker fed across the message round trip. */
export function defaultLaneLimits(size: number): LaneLimits {
  return { anonymousInFlight: 2 * size, perClient: 16 * size, anonymousTotal: 64 * size, paid: 64 * size };
}

/**
 * Ed25519 and bcrypt on worker threads, so no signature or password check stalls request handling. Idle workers
 * are unref'd and never keep the process alive; a worker is ref'd only while it owes an answer, so awaiting a
 * result is enough to keep the process running until it arrives. Workers start on first use.
 *
 * Verifications pass through lanes (verify-lanes.ts): registration's are never held up by anonymous ones, and
 * anonymous ones are shared fairly between clients.
 */
export class CryptoPool {
  readonly engine: Ed25519EngineName;
  readonly inlineEd25519: boolean;
  private readonly ed25519: Ed25519Engine;
  private readonly lanes: VerifyLanes;
  private readonly slots: Slot[] = [];
  private nextId = 1;
  private cursor = 0;
  private closed = false;

  constructor(options: CryptoPoolOptions = {}) {
    const size = options.size ?? availableParallelism();
    if (!Number.isInteger(size) || size < 1) throw new RangeError('crypto pool size must be a positive integer');
    this.engine = options.engine ?? DEFAULT_ED25519_ENGINE;
    this.ed25519 = ed25519Engine(this.engine);
    this.inlineEd25519 = (options.inlineEd25519 ?? true) && this.engine === 'native';
    this.lanes = new VerifyLanes({ ...defaultLaneLimits(size), ...options.lanes });
    for (let i = 0; i < size; i++) this.slots.push({ worker: null, pending: new Map(), load: 0 });
  }

  /** Starts every worker now (at startup, so the first requests do not pay for thread creation). */
  start(): void {
    if (this.closed) return;
    for (const slot of this.slots) if (slot.worker === null) this.spawn(slot);
  }

  /**
   * Same acceptance rules as the engine: wrong lengths and non-canonical S are false, never an error. Rejects
   * with CryptoPoolBusyError when `lane` is over its share.
   */
  verify(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array, lane: VerifyLane): Promise<boolean> {
    if (this.closed) return Promise.reject(new CryptoPoolClosedError());
    if (signature.length !== ED25519_SIGNATURE_BYTES || publicKey.length !== ED25519_PUBLIC_KEY_BYTES) {
      return Promise.resolve(false);
    }
    // Inline, a verification finishes before the next request is read: there is no queue to be fair about.
    if (this.inlineEd25519) return Promise.resolve(this.ed25519.verify(message, signature, publicKey));
    return this.lanes.run(lane, () =>
      this.dispatch<boolean>({ id: 0, op: CryptoOp.Verify, message, signature, publicKey }, ED25519_WEIGHT),
    );
  }

  /** Signatures are only ever made for callers already authorised, so they are never shed. */
  sign(message: Uint8Array, secretKey: Uint8Array): Promise<Uint8Array> {
    if (this.closed) return Promise.reject(new CryptoPoolClosedError());
    if (secretKey.length !== ED25519_SECRET_KEY_BYTES) {
      return Promise.reject(new RangeError(`ed25519 secret key must be ${ED25519_SECRET_KEY_BYTES} bytes`));
    }
    if (this.inlineEd25519) return Promise.resolve(this.ed25519.sign(message, secretKey));
    return this.dispatch<Uint8Array>({ id: 0, op: CryptoOp.Sign, message, secretKey }, ED25519_WEIGHT);
  }

  /** Anonymous verifications one client holds (waiting or running). */
  verificationsHeldBy(client: string): number {
    return this.lanes.heldBy(client);
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
    const worker = createModuleWorker(WORKER_URL, { workerData: { engine: this.engine } });
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
