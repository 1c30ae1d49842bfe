/** An agent registered with the broker: its identity, its current token, and the calls an agent makes itself. */
import { AgentReleasedError, AuthenticationError, ConfigurationError } from './errors.js';
import { inspectAsJson } from './inspect.js';
import type { Transport } from './transport.js';
import type { DelegatedToken, DelegationRecord } from './types.js';
import { asObject, num, str } from './wire.js';

export interface AgentState {
  agentId: string;
  orchId: string;
  taskId: string;
  scope: string[];
  accessToken: string;
  expiresIn: number;
}

export interface DelegateOptions {
  /** SPIFFE ID of an agent already registered with the broker. */
  delegateTo: string;
  /** Must be covered by this agent's scope. */
  scope: string[];
  /** Lifetime in seconds (the broker defaults to 60 and never outlives this agent's token). */
  ttl?: number;
  /**
   * Delegate with this token instead of the agent's own, e.g. a token another agent delegated to this one, so
   * the chain grows by a hop.
   */
  token?: string;
}

function bearer(token: string): { Authorization: string } {
  return { Authorization: `Bearer ${token}` };
}

export class Agent {
  readonly agentId: string;
  readonly orchId: string;
  readonly taskId: string;
  readonly scope: readonly string[];
  #accessToken: string;
  #expiresIn: number;
  #released = false;
  #releasing: Promise<void> | null = null;
  readonly #transport: Transport;

  constructor(transport: Transport, state: AgentState) {
    this.#transport = transport;
    this.agentId = state.agentId;
    this.orchId = state.orchId;
    this.taskId = state.taskId;
    this.scope = Object.freeze([...state.scope]);
    this.#accessToken = state.accessToken;
    this.#expiresIn = state.expiresIn;
    inspectAsJson(this, 'Agent');
  }

  /** The current token (it changes on renew()). */
  get accessToken(): string {
    return this.#accessToken;
  }

  /** Lifetime of the current token in seconds, as the broker stated it when issuing it. */
  get expiresIn(): number {
    return this.#expiresIn;
  }

  /** `{ Authorization: 'Bearer …' }` for calls to resource servers. */
  get bearerHeader(): { Authorization: string } {
    return bearer(this.#accessToken);
  }

  get released(): boolean {
    return this.#released;
  }

  /** Exchanges the current token for a fresh one with the same identity and scope; the old one is revoked. */
  async renew(): Promise<void> {
    this.assertLive('renewed');
    const res = await this.#transport.request({ method: 'POST', path: '/v1/token/renew', token: this.#accessToken });
    const body = asObject(res.json, 'renew answer');
    const token = str(body, 'access_token');
    const expiresIn = num(body, 'expires_in');
    this.assertLive('renewed'); // released while the renewal was in flight: do not resurrect the agent
    this.#accessToken = token;
    this.#expiresIn = expiresIn;
  }

  /**
   * Revokes the current token: the task is done. Idempotent, also when called concurrently. A token the broker
   * no longer accepts (expired) counts as released.
   */
  release(): Promise<void> {
    if (this.#released) return Promise.resolve();
    this.#releasing ??= this.#transport
      .request({ method: 'POST', path: '/v1/token/release', token: this.#accessToken })
      .then(
        () => {
          this.#released = true;
        },
        (err: unknown) => {
          if (err instanceof AuthenticationError) {
            this.#released = true;
            return;
          }
          this.#releasing = null;
          throw err;
        },
      );
    return this.#releasing;
  }

  /** Hands a narrower (or equal) slice of this agent's scope to another registered agent. */
  async delegate(opts: DelegateOptions): Promise<DelegatedToken> {
    this.assertLive('used to delegate');
    if (typeof opts.delegateTo !== 'string' || opts.delegateTo === '')
      throw new ConfigurationError('delegateTo is required');
    if (!Array.isArray(opts.scope) || opts.scope.length === 0)
      throw new ConfigurationError('scope must be a non-empty list');
    if (opts.ttl !== undefined && (!Number.isInteger(opts.ttl) || opts.ttl <= 0))
      throw new ConfigurationError('ttl must be a positive integer');
    const body: Record<string, unknown> = { delegate_to: opts.delegateTo, scope: opts.scope };
    if (opts.ttl !== undefined) body.ttl = opts.ttl;
    const res = await this.#transport.request({
      method: 'POST',
      path: '/v1/delegate',
      token: opts.token ?? this.#accessToken,
      body,
    });
    const answer = asObject(res.json, 'delegate answer');
    const accessToken = str(answer, 'access_token');
    const chain = Array.isArray(answer.delegation_chain) ? answer.delegation_chain : [];
    const delegationChain: DelegationRecord[] = chain.map((r) => {
      const o = asObject(r, 'delegation record');
      const rec: DelegationRecord = {
        agent: str(o, 'agent'),
        scope: (o.scope as string[]) ?? [],
        delegated_at: str(o, 'delegated_at'),
      };
      if (typeof o.signature === 'string') rec.signature = o.signature;
      return rec;
    });
    return { accessToken, expiresIn: num(answer, 'expires_in'), delegationChain, bearerHeader: bearer(accessToken) };
  }

  private assertLive(action: string): void {
    if (this.#released) throw new AgentReleasedError(`agent ${this.agentId} has been released and cannot be ${action}`);
  }

  /** The token stays out of logs: inspection and JSON show identity only. */
  toJSON(): Record<string, unknown> {
    return {
      agentId: this.agentId,
      orchId: this.orchId,
      taskId: this.taskId,
      scope: this.scope,
      released: this.#released,
    };
  }

  toString(): string {
    return `Agent(${this.agentId})`;
  }
}
