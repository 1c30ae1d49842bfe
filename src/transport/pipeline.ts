/**
 * What every request goes through, 404/405/413/429 included: a request id, the security headers, the 1 MiB body
 * limit, routing, RFC 7807 errors, one log line and one latency observation.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Cidr } from '../config/cidr.js';
import { type ErrorCode, RequestError } from '../errors.js';
import { formatGoDuration, type Logger } from '../observability/log.js';
import { goJson } from '../platform/go-json.js';
import { clientIp } from './client-ip.js';
import { problemBody } from './problem.js';
import { requestIdFrom } from './request-id.js';
import type { Router } from './router.js';

export const MAX_BODY_BYTES = 1_048_576;

/** One request as handlers see it. `P` names the route's path parameters, which the router always fills. */
export interface RequestContext<P extends string = never> {
  readonly req: IncomingMessage;
  readonly method: string;
  readonly path: string;
  /** The matched route pattern (e.g. `/v1/admin/apps/{id}`): bounded, unlike the path. */
  readonly route: string;
  readonly query: string;
  readonly requestId: string;
  readonly clientIp: string;
  readonly params: Readonly<Record<P, string>>;
  readonly body: Buffer;
}

export interface Reply {
  status: number;
  json?: unknown;
  text?: { contentType: string; body: string };
  headers?: Readonly<Record<string, string>>;
}

export type Handler<P extends string = never> = (ctx: RequestContext<P>) => Reply | Promise<Reply>;

/** The parameter names of a route pattern: `'/v1/admin/apps/{id}'` → `'id'`. */
export type ParamNames<T extends string> = T extends `${string}{${infer N}}${infer R}` ? N | ParamNames<R> : never;

export interface PipelineOptions {
  router: Router<Handler<string>>;
  logger: Logger;
  tls: boolean;
  trustedProxies: readonly Cidr[];
  observe(endpoint: string, seconds: number): void;
}

const HSTS = 'max-age=63072000; includeSubDomains';

export function createPipeline(opts: PipelineOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const { router, logger, tls, trustedProxies, observe } = opts;

  function baseHeaders(requestId: string): Record<string, string> {
    const h: Record<string, string> = {
      'X-Request-ID': requestId,
      'X-Content-Type-Options': 'nosniff',
      'Cache-Control': 'no-store',
      'X-Frame-Options': 'DENY',
    };
    if (tls) h['Strict-Transport-Security'] = HSTS;
    return h;
  }

  function send(res: ServerResponse, requestId: string, reply: Reply, close: boolean): void {
    const headers = baseHeaders(requestId);
    let body: string | undefined;
    if (reply.json !== undefined) {
      body = `${goJson(reply.json)}\n`;
      headers['Content-Type'] = 'application/json';
    } else if (reply.text !== undefined) {
      body = reply.text.body;
      headers['Content-Type'] = reply.text.contentType;
    }
    if (body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(body));
    if (reply.headers !== undefined) Object.assign(headers, reply.headers);
    if (close) headers.Connection = 'close';
    res.writeHead(reply.status, headers);
    res.end(body);
  }

  function problem(
    code: ErrorCode,
    detail: string,
    path: string,
    requestId: string,
    extra?: Record<string, string>,
  ): Reply {
    const body = problemBody(code, detail, path, requestId);
    return { status: body.status, json: body, headers: { 'Content-Type': 'application/problem+json', ...extra } };
  }

  return function handle(req: IncomingMessage, res: ServerResponse): void {
    const started = process.hrtime.bigint();
    const requestId = requestIdFrom(req.headers['x-request-id']);
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const query = q === -1 ? '' : url.slice(q + 1);
    const method = req.method ?? 'GET';
    let endpoint = 'unmatched';

    const finish = (reply: Reply, close = false): void => {
      if (res.headersSent || res.destroyed) return;
      try {
        send(res, requestId, reply, close);
      } catch (err) {
        // Only a header value a handler should never have produced gets here; drop the connection, keep serving.
        logger.fail(
          'HTTP',
          'handler',
          'response failed',
          `path=${path}`,
          `request_id=${requestId}`,
          `error=${String(err)}`,
        );
        res.destroy();
        return;
      }
      const elapsed = process.hrtime.bigint() - started;
      observe(endpoint, Number(elapsed) / 1e9);
      logger.ok(
        'HTTP',
        'handler',
        'request completed',
        `method=${method}, path=${path}, status=${reply.status}, latency=${formatGoDuration(elapsed)}, request_id=${requestId}`,
      );
    };

    readBody(req, (outcome, body) => {
      if (outcome === 'too_large') {
        finish(problem('payload_too_large', 'request body must not exceed 1 MB', path, requestId), true);
        return;
      }
      if (outcome === 'error') {
        finish(problem('invalid_request', 'failed to read request body', path, requestId), true);
        return;
      }
      const match = router.match(method, path);
      switch (match.kind) {
        case 'not_found':
          finish(problem('not_found', 'no route matches this path', path, requestId));
          return;
        case 'redirect':
          finish({ status: 301, headers: { Location: match.location + (query === '' ? '' : `?${query}`) } });
          return;
        case 'method_not_allowed':
          endpoint = match.pattern;
          finish(
            problem('method_not_allowed', `method ${method} is not allowed on this path`, path, requestId, {
              Allow: match.allow,
            }),
          );
          return;
        case 'found':
          break;
      }
      endpoint = match.pattern;
      const ctx: RequestContext<string> = {
        req,
        method,
        path,
        route: match.pattern,
        query,
        requestId,
        clientIp: clientIp(req, trustedProxies),
        params: match.params,
        body,
      };
      let result: Reply | Promise<Reply>;
      try {
        result = match.route(ctx);
      } catch (err) {
        finish(errorReply(err, ctx));
        return;
      }
      if (result instanceof Promise) {
        result.then(finish, (err: unknown) => finish(errorReply(err, ctx)));
      } else {
        finish(result);
      }
    });
  };

  function errorReply(err: unknown, ctx: RequestContext): Reply {
    if (err instanceof RequestError) {
      if (err.code === 'internal_error' || err.code === 'service_unavailable') logCause(err, ctx);
      const extra = err.retryAfter === undefined ? undefined : { 'Retry-After': String(err.retryAfter) };
      return problem(err.code, err.detail, ctx.path, ctx.requestId, extra);
    }
    logCause(err, ctx);
    return problem('internal_error', 'internal error', ctx.path, ctx.requestId);
  }

  function logCause(err: unknown, ctx: RequestContext): void {
    const cause = err instanceof RequestError ? err.cause : err;
    const text = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause ?? 'unknown');
    logger.fail(
      'HTTP',
      'handler',
      'request failed',
      `path=${ctx.path}`,
      `request_id=${ctx.requestId}`,
      `error=${text}`,
    );
  }
}

type BodyOutcome = 'ok' | 'too_large' | 'error';

/**
 * Buffers the whole body up to the limit. A declared Content-Length over the limit is refused before reading a
 * byte; a chunked (or under-declared) body is cut off at the first byte past it. Either way the caller answers
 * with `Connection: close`, so the unread rest of the upload is never processed.
 */
function readBody(req: IncomingMessage, done: (outcome: BodyOutcome, body: Buffer) => void): void {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > MAX_BODY_BYTES) {
    req.resume();
    done('too_large', EMPTY);
    return;
  }
  if (req.complete) {
    done('ok', EMPTY);
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let settled = false;
  const settle = (outcome: BodyOutcome): void => {
    if (settled) return;
    settled = true;
    req.removeListener('data', onData);
    if (outcome !== 'ok') req.resume();
    done(
      outcome,
      outcome === 'ok' ? (chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size)) : EMPTY,
    );
  };
  const onData = (chunk: Buffer): void => {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) settle('too_large');
    else chunks.push(chunk);
  };
  req.on('data', onData);
  req.once('end', () => settle('ok'));
  req.once('error', () => settle('error'));
  req.once('aborted', () => settle('error'));
}

const EMPTY = Buffer.alloc(0);
