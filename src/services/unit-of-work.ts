/**
 * A unit of work: what one service operation changes, committed once. Each change is applied to the in-memory
 * state at once (so concurrent requests see it) and registered here with the row that makes it durable and the
 * function that takes it back. `commit` makes the rows and the audit events durable together; if that fails, or
 * the operation gives up with `rollback`, every change is taken back newest first — two changes to one record
 * must be undone in the reverse order they were made.
 */
import { RequestError } from '../errors.js';
import { type Mutation, StoreConflictError, StoreWriteError } from '../store/store.js';
import type { AuditInput } from './audit.js';
import type { Persister } from './persister.js';

export class UnitOfWork {
  private readonly mutations: Mutation[] = [];
  private readonly events: AuditInput[] = [];
  private readonly undos: Array<() => void> = [];
  private done = false;

  /** `epoch`: the change follower's count of applied foreign changes when the work began. */
  constructor(
    private readonly persister: Persister,
    private readonly epoch = Number.POSITIVE_INFINITY,
  ) {}

  /** A change already made in memory: the row to persist (if any) and how to take the change back. */
  change(mutation: Mutation | null, undo?: () => void): this {
    if (mutation !== null) this.mutations.push(mutation);
    if (undo !== undefined) this.undos.push(undo);
    return this;
  }

  /** Registers only how to take back an in-memory change that has nothing to persist. */
  onRollback(undo: () => void): this {
    this.undos.push(undo);
    return this;
  }

  audit(...events: AuditInput[]): this {
    this.events.push(...events);
    return this;
  }

  /**
   * Makes every change and audit event durable in one store commit. On failure memory is restored (in order with
   * every other failed request) and the request fails with `internal_error` and the operation's generic `detail`.
   * When another broker on a shared store got there first (a single-use token consumed, a name taken), the request
   * fails with `conflict` instead: the operation's own answer for losing that race, or a generic 409.
   */
  async commit(detail: string, conflict?: RequestError): Promise<void> {
    this.finish();
    try {
      await this.persister.commit(this.mutations, this.events, () => this.undoAll(), this.epoch);
    } catch (err) {
      if (err instanceof StoreConflictError) {
        throw (
          conflict ??
          new RequestError('conflict', 'the change conflicts with another one made meanwhile', { cause: err })
        );
      }
      if (err instanceof StoreWriteError && err.unreachable) {
        throw new RequestError('service_unavailable', 'the database cannot be reached, try again shortly', {
          retryAfter: 1,
          cause: err,
        });
      }
      throw new RequestError('internal_error', detail, { cause: err });
    }
  }

  /** Takes back every change made so far, newest first. Safe to call when nothing was changed. */
  rollback(): void {
    this.finish();
    this.undoAll();
  }

  private undoAll(): void {
    for (let i = this.undos.length - 1; i >= 0; i--) (this.undos[i] as () => void)();
  }

  private finish(): void {
    if (this.done) throw new Error('unit of work already committed or rolled back');
    this.done = true;
  }
}
