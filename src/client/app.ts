/**
 * The app side: client credentials in, agents out. The app token is fetched on first need, reused, and renewed
 * shortly before it expires; concurrent callers share one authentication (the broker rate-limits app auth).
 */
import type { KeyObject } from 'node:crypto';
import { Agent } from './agent.js';
import { AuthenticationError, ConfigurationError, TransportError } from './errors.js';
import { inspectAsJson } from './inspect.js';
import { decodeJws } from './jwt.js';
import { agentPrivateKey, rawPublicKeyBase64, signNonce } from './keys.js';
import { type TlsOptions, Transport } from './transport.js';
import type { HealthStatus, ValidateResult } from './types.js';
import { validateWith } from './validate.js';
import { asObject, num, str, strings } from './wire.js';

export interface AgentWritAppOptions {
  brokerUrl: string;
  clientId: string;
  clientSecret: string;
  /** Per-request limit in milliseconds. Default 10 000. */
  timeoutMs?: number;
  tls?: TlsOptions;
  /** Milliseconds since the epoch; replaceable so token refresh can be tested without waiting. */
  clock?: () => number;
}

export interface CreateAgentOptions {
  orchId: string;
  taskId: string;
  requestedScope: string[];
  /** Upper bound of the agent token's lifetime in seconds. Default 300. */
  maxTtl?: number;
  /** The agent's Ed25519 key (KeyObject or PKCS#8 PEM). A fresh one is generated when absent. */
  privateKey?: KeyObject | string | Buffer;
  /** Name recorded on the launch token in the audit trail. Default `<orchId>/<taskId>`. */
  label?: string;
}

interface Session {
  token: string;
  expiresAtMs: number;
  refreshAtMs: number;
}

/** Renew this long before expiry: a minute, but at most a fifth of the lifetime so short-lived tokens are reused. */
const MAX_REFRESH_MARGIN_MS = 60_000;

const NONCE = /^[0-9a-f]{64}$/;

export class AgentWritApp {
  readonly brokerUrl: string;
  readonly clientId: string;
  readonly #clientSecret: string;
  readonly #transport: Transport;
  readonly #clock: () => number;
  #session: Session | null = null;
  #authenticating: Promise<Session> | null = null;

  constructor(opts: AgentWritAppOptions) {
    if (typeof opts.clientId !== 'string' || opts.clientId === '') throw new ConfigurationError('clientId is required');
    if (typeof opts.clientSecret !== 'string' || opts.clientSecret === '')
      throw new ConfigurationError('clientSecret is required');
    this.#transport = new Transport(opts.brokerUrl, { timeoutMs: opts.timeoutMs, tls: opts.tls });
    this.brokerUrl = this.#transport.baseUrl.href.replace(/\/$/, '');
    this.clientId = opts.clientId;
    this.#clientSecret = opts.clientSecret;
    this.#clock = opts.clock ?? Date.now;
    inspectAsJson(this, 'AgentWritApp');
  }

  /** Registers a new agent: launch token → challenge → Ed25519 signature over the nonce → register. */
  async createAgent(opts: CreateAgentOptions): Promise<Agent> {
    for (const k of ['orchId', 'taskId'] as const) {
      if (typeof opts[k] !== 'string' || opts[k] === '') throw new ConfigurationError(`${k} is required`);
    }
    if (!Array.isArray(opts.requestedScope) || opts.requestedScope.length === 0)
      throw new ConfigurationError('requestedScope must be a non-empty list');
    const maxTtl = opts.maxTtl ?? 300;
    if (!Number.isInteger(maxTtl) || maxTtl <= 0) throw new ConfigurationError('maxTtl must be a positive integer');
    const key = agentPrivateKey(opts.privateKey);

    const launch = await this.withAppToken((token) =>
      this.#transport.request({
        method: 'POST',
        path: '/v1/app/launch-tokens',
        token,
        body: {
          agent_name: opts.label ?? `${opts.orchId}/${opts.taskId}`,
          allowed_scope: opts.requestedScope,
          max_ttl: maxTtl,
          single_use: true,
        },
      }),
    );
    const launchToken = str(asObject(launch.json, 'launch token answer'), 'launch_token');

    const challenge = await this.#transport.request({ method: 'GET', path: '/v1/challenge' });
    const nonce = str(asObject(challenge.json, 'challenge answer'), 'nonce');
    if (!NONCE.test(nonce))
      throw new TransportError('response', 'unexpected broker answer: nonce is not 64 hex digits');

    const reg = await this.#transport.request({
      method: 'POST',
      path: '/v1/register',
      body: {
        launch_token: launchToken,
        nonce,
        public_key: rawPublicKeyBase64(key),
        signature: signNonce(key, nonce),
        orch_id: opts.orchId,
        task_id: opts.taskId,
        requested_scope: opts.requestedScope,
      },
    });
    const body = asObject(reg.json, 'register answer');
    const accessToken = str(body, 'access_token');
    // The scope actually granted is the token's, read from what the broker just issued.
    const granted = decodeJws(accessToken)?.claims.scope;
    return new Agent(this.#transport, {
      agentId: str(body, 'agent_id'),
      orchId: opts.orchId,
      taskId: opts.taskId,
      scope:
        Array.isArray(granted) && granted.every((s) => typeof s === 'string')
          ? (granted as string[])
          : [...opts.requestedScope],
      accessToken,
      expiresIn: num(body, 'expires_in'),
    });
  }

  /** Asks the broker whether a token is valid (no app token needed). */
  validate(token: string): Promise<ValidateResult> {
    return validateWith(this.#transport, token);
  }

  /** The broker's health. A degraded broker (503) is a result, not an error. */
  async health(): Promise<HealthStatus> {
    const res = await this.#transport.request({ method: 'GET', path: '/v1/health', accept: [503] });
    const b = asObject(res.json, 'health answer');
    const status = str(b, 'status');
    return {
      status: status === 'ok' ? 'ok' : 'degraded',
      version: str(b, 'version'),
      uptime: num(b, 'uptime'),
      dbConnected: b.db_connected === true,
      auditEventsCount: num(b, 'audit_events_count'),
    };
  }

  /** Closes pooled connections; the app stays usable. */
  close(): void {
    this.#transport.close();
  }

  /**
   * Runs a call with a current app token. A 401 means the broker dropped the token early (the app was updated or
   * its tokens revoked): authenticate once more and retry once.
   */
  private async withAppToken<T>(call: (token: string) => Promise<T>): Promise<T> {
    const session = await this.session();
    try {
      return await call(session.token);
    } catch (err) {
      if (!(err instanceof AuthenticationError)) throw err;
      if (this.#session === session) this.#session = null;
      return call((await this.session()).token);
    }
  }

  private session(): Promise<Session> {
    const current = this.#session;
    if (current !== null && this.#clock() < current.refreshAtMs) return Promise.resolve(current);
    this.#authenticating ??= this.authenticate().finally(() => {
      this.#authenticating = null;
    });
    return this.#authenticating;
  }

  private async authenticate(): Promise<Session> {
    const res = await this.#transport.request({
      method: 'POST',
      path: '/v1/app/auth',
      body: { client_id: this.clientId, client_secret: this.#clientSecret },
    });
    const b = asObject(res.json, 'app auth answer');
    const token = str(b, 'access_token');
    const ttlMs = num(b, 'expires_in') * 1000;
    if (b.scopes !== undefined) strings(b, 'scopes');
    const now = this.#clock();
    const margin = Math.min(MAX_REFRESH_MARGIN_MS, ttlMs / 5);
    const session = { token, expiresAtMs: now + ttlMs, refreshAtMs: now + ttlMs - margin };
    this.#session = session;
    return session;
  }

  /** Credentials stay out of logs. */
  toJSON(): Record<string, unknown> {
    return { brokerUrl: this.brokerUrl, clientId: this.clientId };
  }
}
