/**
 * One server factory for the three transport modes. `none` is plain HTTP/1.1; `tls` and `mtls` are HTTPS with
 * TLS 1.2+ and AEAD-only suites; `mtls` requires a client certificate signed by the configured CA, enforced in
 * the handshake so an unauthenticated peer never reaches HTTP.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import type { TlsMode } from '../config/config.js';
import type { ErrorCode } from '../errors.js';
import { AgentWritError } from '../errors.js';
import { goJson } from '../platform/go-json.js';
import { problemBody, statusTitle } from './problem.js';
import { newRequestId } from './request-id.js';

/** TLS 1.2 suites (OpenSSL names): ECDHE with AES-GCM or ChaCha20-Poly1305 only. TLS 1.3 suites are all AEAD. */
export const TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

export const SERVER_LIMITS = {
  headersTimeoutMs: 5_000,
  requestTimeoutMs: 15_000,
  keepAliveTimeoutMs: 120_000,
  /** Inactivity while a request is being answered (a client that stops reading its response). */
  writeTimeoutMs: 30_000,
  maxHeaderBytes: 1_048_576,
} as const;

export interface TransportOptions {
  mode: TlsMode;
  certPath: string;
  keyPath: string;
  clientCaPath: string;
}

export class TransportError extends AgentWritError {
  override readonly name = 'TransportError';
  readonly code = 'AW_ERR_TRANSPORT';
}

function readPem(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new TransportError(`${what}: ${reason}`);
  }
}

export function createTransport(
  opts: TransportOptions,
  handler: (req: http.IncomingMessage, res: http.ServerResponse) => void,
): http.Server {
  const common = {
    maxHeaderSize: SERVER_LIMITS.maxHeaderBytes,
    requestTimeout: SERVER_LIMITS.requestTimeoutMs,
    headersTimeout: SERVER_LIMITS.headersTimeoutMs,
    keepAliveTimeout: SERVER_LIMITS.keepAliveTimeoutMs,
    // How often timeouts are enforced; the default (30 s) would let a slow client hold a socket far longer.
    connectionsCheckingInterval: 1_000,
  };
  let server: http.Server;
  if (opts.mode === 'none') {
    server = http.createServer(common, handler);
  } else {
    const tlsOptions: https.ServerOptions = {
      ...common,
      cert: readPem(opts.certPath, 'loading TLS certificate'),
      key: readPem(opts.keyPath, 'loading TLS key'),
      minVersion: 'TLSv1.2',
      ciphers: TLS12_CIPHERS,
      honorCipherOrder: true,
    };
    if (opts.mode === 'mtls') {
      const ca = readPem(opts.clientCaPath, 'loading client CA');
      if (!ca.toString('latin1').includes('-----BEGIN CERTIFICATE-----')) {
        throw new TransportError(`loading client CA: no valid certificates found in ${opts.clientCaPath}`);
      }
      Object.assign(tlsOptions, { ca, requestCert: true, rejectUnauthorized: true });
    }
    try {
      server = https.createServer(tlsOptions, handler);
    } catch (err) {
      throw new TransportError(`TLS setup: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  server.setTimeout(SERVER_LIMITS.writeTimeoutMs);
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) =>
    answerClientError(err, socket, opts.mode !== 'none'),
  );
  return server;
}

/**
 * Requests the HTTP parser rejects before our pipeline sees them still get an RFC 7807 answer with the
 * security headers, then the connection is closed.
 */
function answerClientError(err: NodeJS.ErrnoException, socket: Duplex, tls: boolean): void {
  if (!socket.writable || (socket as Duplex & { _httpMessage?: unknown })._httpMessage) {
    socket.destroy();
    return;
  }
  let code: ErrorCode = 'invalid_request';
  let detail = 'malformed HTTP request';
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    code = 'headers_too_large';
    detail = 'request header fields too large';
  } else if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    code = 'request_timeout';
    detail = 'request not received in time';
  }
  const requestId = newRequestId();
  const problem = problemBody(code, detail, '', requestId);
  const status = problem.status;
  const body = `${goJson(problem)}\n`;
  const head = [
    `HTTP/1.1 ${status} ${statusTitle(status)}`,
    'Content-Type: application/problem+json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    `X-Request-ID: ${requestId}`,
    'X-Content-Type-Options: nosniff',
    'Cache-Control: no-store',
    'X-Frame-Options: DENY',
    ...(tls ? ['Strict-Transport-Security: max-age=63072000; includeSubDomains'] : []),
    'Connection: close',
  ];
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
}
