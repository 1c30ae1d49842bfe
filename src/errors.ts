/**
 * The broker's two error families, in one module every layer may import.
 *
 * - `RequestError`: a request failed for a reason the client may know. Its `code` is one of a closed set
 *   (`ERROR_CODES`); the transport maps each code to exactly one HTTP status and writes an RFC 7807 body from it.
 *   `detail` is the client-facing text; anything that explains the failure internally goes in `cause`, which is
 *   logged and never sent. Services throw it without knowing about HTTP.
 * - `AgentWritError`: an internal failure (storage, crypto, configuration, startup). Each subclass has a stable
 *   `code` (`AW_ERR_*`) that callers and tests can match on instead of a message.
 */

/** What a client can be told went wrong; each code has exactly one status (see `transport/problem.ts`). */
export const ERROR_CODES = [
  'invalid_request',
  'invalid_ttl',
  'unauthorized',
  'forbidden',
  'insufficient_scope',
  'scope_violation',
  'not_found',
  'method_not_allowed',
  'request_timeout',
  'conflict',
  'payload_too_large',
  'headers_too_large',
  'rate_limited',
  'internal_error',
  'service_unavailable',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export class RequestError extends Error {
  override readonly name = 'RequestError';
  /** Seconds a client should wait before retrying (`Retry-After`); only for `rate_limited`/`service_unavailable`. */
  readonly retryAfter: number | undefined;
  constructor(
    readonly code: ErrorCode,
    readonly detail: string,
    options?: { cause?: unknown; retryAfter?: number },
  ) {
    super(detail, options?.cause === undefined ? undefined : { cause: options.cause });
    this.retryAfter = options?.retryAfter;
  }
}

/** The stable codes of internal failures. */
export type InternalErrorCode =
  | 'AW_ERR_CONFIG'
  | 'AW_ERR_FATAL'
  | 'AW_ERR_SIGNING_KEY'
  | 'AW_ERR_PKCS8'
  | 'AW_ERR_CRYPTO_BUSY'
  | 'AW_ERR_CRYPTO_CLOSED'
  | 'AW_ERR_STORE_OPEN'
  | 'AW_ERR_STORE_WRITE'
  | 'AW_ERR_STORE_CONFLICT'
  | 'AW_ERR_JOURNAL_CORRUPT'
  | 'AW_ERR_RECOVERY'
  | 'AW_ERR_TRANSPORT'
  | 'AW_ERR_JSON_DECODE'
  | 'AW_ERR_AUDIT_ARCHIVE';

export abstract class AgentWritError extends Error {
  abstract readonly code: InternalErrorCode;
}
