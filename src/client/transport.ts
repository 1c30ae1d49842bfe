/**
 * JSON over HTTP(S) to one broker, on a keep-alive connection pool. Turns every non-2xx answer into the matching
 * error class and every network failure into a TransportError; nothing here ever puts a request body, header or
 * credential into an error.
 */
import http from 'node:http';
import https from 'node:https';
import {
  AuthenticationError,
  AuthorizationError,
  ConfigurationError,
  type Problem,
  ProblemError,
  RateLimitError,
  TransportError,
} from './errors.js';

/** PEM material for HTTPS: a private CA to trust, and a client certificate and key to present (mTLS). */
export interface TlsOptions {
  ca?: string | Buffer | Array<string | Buffer>;
  cert?: string | Buffer;
  key?: string | Buffer;
}

export interface TransportOptions {
  /** Per-request limit, from sending to the last byte of the answer. Default 10 000 ms. */
  timeoutMs?: number;
  tls?: TlsOptions;
}

export interface JsonResponse {
  status: number;
  json: unknown;
}

interface RequestSpec {
  method: 'GET' | 'POST';
  path: string;
  body?: unknown;
  token?: string;
  /** Statuses answered with a body instead of an error (health's 503). */
  accept?: readonly number[];
}

export const DEFAULT_TIMEOUT_MS = 10_000;
const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

export class Transport {
  readonly baseUrl: URL;
  /** The broker URL's path without a trailing slash ('' for a broker at the root). */
  private readonly prefix: string;
  private readonly agent: http.Agent;
  private readonly timeoutMs: number;
  private readonly isTls: boolean;
  private readonly tls: TlsOptions;

  constructor(brokerUrl: string, opts: TransportOptions = {}) {
    let url: URL;
    try {
      url = new URL(brokerUrl);
    } catch {
      throw new ConfigurationError('brokerUrl is not a valid URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new ConfigurationError('brokerUrl must be http:// or https://');
    if (url.username !== '' || url.password !== '')
      throw new ConfigurationError('brokerUrl must not carry credentials');
    this.isTls = url.protocol === 'https:';
    const tls = opts.tls ?? {};
    this.tls = { ca: tls.ca, cert: tls.cert, key: tls.key };
    if (!this.isTls && (tls.ca !== undefined || tls.cert !== undefined || tls.key !== undefined)) {
      throw new ConfigurationError('tls options need an https:// brokerUrl');
    }
    if ((tls.cert === undefined) !== (tls.key === undefined))
      throw new ConfigurationError('tls.cert and tls.key go together');
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0)
      throw new ConfigurationError('timeoutMs must be a positive number');
    this.timeoutMs = timeoutMs;
    this.prefix = url.pathname.replace(/\/+$/, '');
    url.search = '';
    url.hash = '';
    this.baseUrl = url;
    const common = { keepAlive: true, maxSockets: 32, maxFreeSockets: 8 };
    try {
      this.agent = this.isTls
        ? new https.Agent({ ...common, ca: tls.ca, cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' })
        : new http.Agent(common);
    } catch {
      throw new ConfigurationError('tls options are not usable PEM material');
    }
  }

  /** Sends one request; resolves with the decoded JSON of a 2xx (or accepted) answer, rejects with a typed error. */
  async request(spec: RequestSpec): Promise<JsonResponse> {
    try {
      return await this.once(spec, false);
    } catch (err) {
      // A pooled connection the broker closed while idle fails at once; the request never reached the broker.
      if (err instanceof StaleSocket) return this.once(spec, true);
      throw err;
    }
  }

  /** Closes pooled connections. The transport stays usable; new requests open new connections. */
  close(): void {
    this.agent.destroy();
  }

  private once(spec: RequestSpec, fresh: boolean): Promise<JsonResponse> {
    const payload = spec.body === undefined ? undefined : Buffer.from(JSON.stringify(spec.body), 'utf8');
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (payload !== undefined) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = String(payload.length);
    }
    if (spec.token !== undefined) headers.Authorization = `Bearer ${spec.token}`;
    const mod = this.isTls ? https : http;
    return new Promise<JsonResponse>((resolve, reject) => {
      let settled = false;
      const fail = (err: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        req.destroy();
        reject(err);
      };
      const req = mod.request({
        protocol: this.baseUrl.protocol,
        hostname: this.baseUrl.hostname.replace(/^\[(.*)\]$/, '$1'),
        port: this.baseUrl.port,
        path: this.prefix + spec.path,
        method: spec.method,
        headers,
        // The retry after a stale pooled socket goes on a connection of its own, so it cannot meet another one.
        ...(fresh
          ? { agent: false, ...(this.isTls ? { ...this.tls, minVersion: 'TLSv1.2' as const } : {}) }
          : { agent: this.agent }),
      });
      const timer = setTimeout(
        () => fail(new TransportError('timeout', `no answer from the broker within ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (!fresh && req.reusedSocket && (err.code === 'ECONNRESET' || err.code === 'EPIPE'))
          return fail(new StaleSocket());
        const mapped = networkError(err);
        // The usual cause of a dropped handshake at an mTLS broker is a missing client certificate: say so.
        if (this.isTls && this.tls.cert === undefined && PEER_REFUSED.test(err.code ?? '')) {
          return fail(
            new TransportError(
              'tls',
              `TLS handshake refused by the broker (${err.code}); it may require a client certificate (tls.cert and tls.key)`,
              { cause: err },
            ),
          );
        }
        fail(mapped);
      });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_RESPONSE_BYTES) return fail(new TransportError('response', 'broker answer too large'));
          chunks.push(c);
        });
        res.on('error', (err) => fail(networkError(err)));
        res.on('end', () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          const status = res.statusCode ?? 0;
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = text === '' ? undefined : JSON.parse(text);
          } catch {
            json = undefined;
          }
          if ((status >= 200 && status < 300) || spec.accept?.includes(status)) {
            if (json === undefined && text !== '')
              return reject(new TransportError('response', `broker answered ${status} with a body that is not JSON`));
            return resolve({ status, json });
          }
          reject(problemError(status, json, res.headers));
        });
      });
      req.end(payload);
    });
  }
}

class StaleSocket extends Error {}

const TLS_CODES = /^(ERR_TLS_|ERR_SSL_)|CERT|SSL|TLS|^EPROTO$|^UNABLE_TO_VERIFY_LEAF_SIGNATURE$/;
/** The peer dropped the handshake (as opposed to the client distrusting the broker's certificate). */
const PEER_REFUSED = /ALERT|HANDSHAKE_FAILURE|^EPROTO$|^ECONNRESET$/;

function networkError(err: NodeJS.ErrnoException): TransportError {
  const code = err.code ?? '';
  if (TLS_CODES.test(code))
    return new TransportError('tls', `TLS handshake with the broker failed (${code})`, { cause: err });
  return new TransportError('connection', `cannot reach the broker (${code || err.message})`, { cause: err });
}

function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

/** Maps a non-2xx answer to its error class. A body that is not a problem document still yields one. */
export function problemError(status: number, json: unknown, headers: http.IncomingHttpHeaders): ProblemError {
  const body = typeof json === 'object' && json !== null ? (json as Record<string, unknown>) : {};
  const headerId = headers['x-request-id'];
  const problem: Problem = {
    type: str(body.type) ?? 'about:blank',
    title: str(body.title) ?? http.STATUS_CODES[status] ?? 'Error',
    status,
    detail: str(body.detail) ?? `broker answered HTTP ${status}`,
    instance: str(body.instance),
    errorCode: str(body.error_code) ?? 'unknown',
    requestId: str(body.request_id) ?? (typeof headerId === 'string' ? headerId : null),
  };
  if (status === 401) return new AuthenticationError(problem);
  if (status === 403) return new AuthorizationError(problem);
  if (status === 429) {
    const raw = headers['retry-after'];
    const seconds = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : null;
    return new RateLimitError(problem, seconds);
  }
  return new ProblemError(problem);
}
