/**
 * Verification lanes: who may make the crypto workers check a signature, and in what order.
 *
 * - The paid lane is registration: a caller reaches it only with a live launch token and an unconsumed nonce,
 *   so its load is bounded by what an administrator handed out. It never waits behind the anonymous lane and is
 *   never refused because of it.
 * - The anonymous lane is everything anyone can ask for: `/v1/token/validate` and Bearer routes whose token is not
 *   in the verified cache. It gets a fixed number of worker slots; waiting work is kept per client (its address,
 *   IPv6 by /64) and served round-robin, so one client's flood delays another client by at most one verification
 *   per slot. A client that already holds its share is refused (503 + Retry-After); nobody else is.
 */

import { AgentWritError } from '../errors.js';

export type VerifyLane = { readonly kind: 'paid' } | { readonly kind: 'anonymous'; readonly client: string };

export const PAID_LANE: VerifyLane = Object.freeze({ kind: 'paid' });

/** `client` is the rate-limit key of the requester (see transport/client-ip.ts rateLimitKey). */
export function anonymousLane(client: string): VerifyLane {
  return { kind: 'anonymous', client };
}

export interface LaneLimits {
  /** Anonymous verifications handed to the workers at once; the rest wait in their client's queue. */
  anonymousInFlight: number;
  /** Anonymous verifications (waiting or running) one client may hold. */
  perClient: number;
  /**
   * Anonymous verifications in total past which a client is admitted only while it holds less than an equal
   * share (this total divided by the clients holding work), so many addresses cannot queue without bound either.
   */
  anonymousTotal: number;
  /** Paid verifications in progress at once; registration is refused only past its own bound. */
  paid: number;
}

/** A verification was refused; the request is shed with 503 and Retry-After. */
export class CryptoPoolBusyError extends AgentWritError {
  readonly code = 'AW_ERR_CRYPTO_BUSY';
  constructor() {
    super('crypto pool is busy');
    this.name = 'CryptoPoolBusyError';
  }
}

interface Waiting {
  start: () => void;
}

export class VerifyLanes {
  private paidPending = 0;
  private anonymousPending = 0;
  private anonymousRunning = 0;
  /** Pending (waiting or running) count per client; a client with nothing pending has no entry. */
  private readonly held = new Map<string, number>();
  /** Clients with waiting work, in round-robin order (a served client moves to the end). */
  private readonly queues = new Map<string, Waiting[]>();

  constructor(readonly limits: LaneLimits) {
    for (const [name, v] of Object.entries(limits)) {
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`lane limit ${name} must be a positive integer`);
    }
  }

  /** Runs `work` when the lane allows; rejects with CryptoPoolBusyError when this client is over its share. */
  run<T>(lane: VerifyLane, work: () => Promise<T>): Promise<T> {
    if (lane.kind === 'paid') {
      if (this.paidPending >= this.limits.paid) return Promise.reject(new CryptoPoolBusyError());
      this.paidPending++;
      return settle(work, () => this.paidPending--);
    }
    const client = lane.client;
    const holds = this.held.get(client) ?? 0;
    if (!this.admits(holds)) return Promise.reject(new CryptoPoolBusyError());
    this.held.set(client, holds + 1);
    this.anonymousPending++;
    return new Promise<T>((resolve, reject) => {
      const start = (): void => {
        this.anonymousRunning++;
        settle(work, () => this.finished(client)).then(resolve, reject);
      };
      let queue = this.queues.get(client);
      if (queue === undefined) {
        queue = [];
        this.queues.set(client, queue);
      }
      queue.push({ start });
      this.pump();
    });
  }

  /** Pending anonymous verifications (waiting or running) of one client; for tests and metrics. */
  heldBy(client: string): number {
    return this.held.get(client) ?? 0;
  }

  get anonymousInProgress(): number {
    return this.anonymousPending;
  }

  private admits(holds: number): boolean {
    const { perClient, anonymousTotal } = this.limits;
    if (holds >= perClient) return false;
    if (this.anonymousPending < anonymousTotal) return true;
    // Past the total: only clients below an equal share still get in (bounds the total at twice the limit).
    const clients = this.held.size + (holds === 0 ? 1 : 0);
    return holds < Math.floor(anonymousTotal / clients);
  }

  private finished(client: string): void {
    this.anonymousRunning--;
    this.anonymousPending--;
    const holds = (this.held.get(client) ?? 1) - 1;
    if (holds === 0) this.held.delete(client);
    else this.held.set(client, holds);
    this.pump();
  }

  private pump(): void {
    while (this.anonymousRunning < this.limits.anonymousInFlight && this.queues.size > 0) {
      const [client, queue] = this.queues.entries().next().value as [string, Waiting[]];
      this.queues.delete(client);
      const next = queue.shift() as Waiting;
      if (queue.length > 0) this.queues.set(client, queue);
      next.start();
    }
  }
}

function settle<T>(work: () => Promise<T>, after: () => void): Promise<T> {
  let p: Promise<T>;
  try {
    p = work();
  } catch (err) {
    p = Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
  return p.finally(after);
}
