/**
 * RFC 7807 problem details: the one error type every layer throws. The `detail` is client-facing text; anything
 * that explains the failure internally goes in `cause`, which is logged and never sent.
 */

/** The closed set of error codes; each has exactly one HTTP status. */
export const ERROR_STATUS = {
  invalid_request: 400,
  invalid_ttl: 400,
  unauthorized: 401,
  forbidden: 403,
  insufficient_scope: 403,
  scope_violation: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  payload_too_large: 413,
  rate_limited: 429,
  internal_error: 500,
  service_unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

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

export class HttpError extends Error {
  override readonly name = 'HttpError';
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    readonly detail: string,
    options?: { cause?: unknown; headers?: Readonly<Record<string, string>> },
  ) {
    super(detail, options?.cause === undefined ? undefined : { cause: options.cause });
    this.status = ERROR_STATUS[code];
    this.headers = options?.headers ?? {};
  }
  readonly headers: Readonly<Record<string, string>>;
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
