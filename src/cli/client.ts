/**
 * One HTTP exchange with the broker over node:http or node:https: no redirects, no retries, a hard deadline per
 * request, and transport failures turned into one readable line (exit 3).
 */
import http from 'node:http';
import https from 'node:https';
import type { Connection } from './connection.js';
import { UnreachableError } from './errors.js';

export interface BrokerResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface SendOptions {
  /** Sent as compact JSON. */
  body?: unknown;
  bearer?: string;
  query?: URLSearchParams;
}

// A full audit page of 1000 events is well under 1 MiB; anything this large is not a broker answer.
const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

const CERT_VERIFY_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

class DeadlineError extends Error {}

/** `8060…:error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert certificate required:…` → the reason. */
function opensslReason(message: string): string {
  const first = message.split('\n')[0] ?? '';
  return /^[0-9A-F]+:error:[0-9A-F]+:[^:]*:[^:]*:([^:]+):/.exec(first)?.[1] ?? first;
}

function describe(err: unknown, conn: Connection): string {
  if (err instanceof DeadlineError) return err.message;
  const e = err as NodeJS.ErrnoException;
  const code = e.code ?? '';
  const message = opensslReason(e.message || String(err));
  const secure = conn.base.protocol === 'https:';
  if (CERT_VERIFY_CODES.has(code)) {
    return `TLS: broker certificate not trusted (${message})${conn.tls.ca === undefined ? '; pass its CA with --cacert' : ''}`;
  }
  if (/certificate required|handshake failure|bad certificate|unknown ca/i.test(message)) {
    const hint = conn.tls.cert === undefined ? '; the broker may require a client certificate (--cert and --key)' : '';
    return `TLS: the broker rejected the handshake (${message})${hint}`;
  }
  if (secure && /wrong version number|packet length too long/i.test(message)) {
    return `TLS: ${message}; is the broker serving plain http?`;
  }
  if (code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS') || code.startsWith('ERR_OSSL')) return `TLS: ${message}`;
  if (!secure && (code === 'ECONNRESET' || code.startsWith('HPE_'))) {
    return `${message}; is the broker serving https?`;
  }
  return message;
}

export class BrokerClient {
  constructor(readonly conn: Connection) {}

  get display(): string {
    return this.conn.display;
  }

  send(method: string, path: string, opts: SendOptions = {}): Promise<BrokerResponse> {
    const { base, prefix, tls, timeoutMs } = this.conn;
    const query = opts.query?.toString() ?? '';
    const headers: Record<string, string> = { Accept: 'application/json', 'User-Agent': 'awrit' };
    let payload: Buffer | undefined;
    if (opts.body !== undefined) {
      payload = Buffer.from(JSON.stringify(opts.body), 'utf8');
      headers['Content-Type'] = 'application/json';
    }
    headers['Content-Length'] = String(payload?.length ?? 0);
    if (opts.bearer !== undefined) headers.Authorization = `Bearer ${opts.bearer}`;
    const isTls = base.protocol === 'https:';
    const options: https.RequestOptions = {
      protocol: base.protocol,
      hostname: base.hostname.replace(/^\[|\]$/g, ''),
      port: base.port || (isTls ? 443 : 80),
      path: `${prefix}${path}${query === '' ? '' : `?${query}`}`,
      method,
      headers,
      agent: false,
      ...(isTls ? { ...tls, minVersion: 'TLSv1.2' as const } : {}),
    };
    return new Promise<BrokerResponse>((resolve, reject) => {
      const fail = (err: unknown): void => {
        clearTimeout(timer);
        reject(new UnreachableError(`cannot reach broker at ${this.conn.display}: ${describe(err, this.conn)}`));
      };
      const req = (isTls ? https : http).request(options, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_RESPONSE_BYTES) {
            req.destroy(new Error(`response larger than ${MAX_RESPONSE_BYTES} bytes`));
            return;
          }
          chunks.push(c);
        });
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', fail);
      });
      const timer = setTimeout(() => {
        req.destroy(
          new DeadlineError(`no response within ${formatMs(timeoutMs)} (raise --timeout if the broker is slow)`),
        );
      }, timeoutMs);
      req.on('error', fail);
      req.end(payload);
    });
  }
}

function formatMs(ms: number): string {
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
