/**
 * RFC 7807 problem details: how a `RequestError`'s code becomes a status and a body. `hint` is never emitted.
 */
import type { ErrorCode } from '../errors.js';

/** Each error code's one HTTP status. */
export const ERROR_STATUS: Readonly<Record<ErrorCode, number>> = {
  invalid_request: 400,
  invalid_ttl: 400,
  unauthorized: 401,
  forbidden: 403,
  insufficient_scope: 403,
  scope_violation: 403,
  not_found: 404,
  method_not_allowed: 405,
  request_timeout: 408,
  conflict: 409,
  payload_too_large: 413,
  headers_too_large: 431,
  rate_limited: 429,
  internal_error: 500,
  service_unavailable: 503,
};

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  409: 'Conflict',
  413: 'Request Entity Too Large',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export function statusTitle(status: number): string {
  return TITLES[status] ?? 'Error';
}

/** The wire shape, fields in the reference broker's order. `hint` is never emitted. */
export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  error_code: ErrorCode;
  request_id: string;
}

export function problemBody(code: ErrorCode, detail: string, instance: string, requestId: string): ProblemBody {
  const status = ERROR_STATUS[code];
  return {
    type: `urn:agentwrit:error:${code}`,
    title: statusTitle(status),
    status,
    detail,
    instance,
    error_code: code,
    request_id: requestId,
  };
}
