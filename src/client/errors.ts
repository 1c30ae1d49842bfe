/**
 * The SDK's error classes. Every failure the SDK reports is an AgentWritError; broker rejections carry the RFC 7807
 * fields. Messages are built only from redacted text, so no secret the SDK handles can surface in one.
 */
import { redact } from './redact.js';

export class AgentWritError extends Error {
  override name = 'AgentWritError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(redact(message), options);
  }
}

/** An option the caller passed cannot work (bad URL, unusable key, TLS material on a plain-HTTP URL). */
export class ConfigurationError extends AgentWritError {
  override name = 'ConfigurationError';
}

/** The agent was released; it can no longer renew or delegate. */
export class AgentReleasedError extends AgentWritError {
  override name = 'AgentReleasedError';
}

/** The RFC 7807 fields of a broker error, as the SDK exposes them. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string | null;
  errorCode: string;
  requestId: string | null;
}

/** The broker answered with a non-2xx status. Subclasses name the statuses callers usually branch on. */
export class ProblemError extends AgentWritError implements Problem {
  override name = 'ProblemError';
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly instance: string | null;
  readonly errorCode: string;
  readonly requestId: string | null;
  constructor(problem: Problem) {
    const safe = { ...problem, detail: redact(problem.detail), title: redact(problem.title) };
    super(`${safe.status} ${safe.errorCode}: ${safe.detail}`);
    this.type = safe.type;
    this.title = safe.title;
    this.status = safe.status;
    this.detail = safe.detail;
    this.instance = safe.instance;
    this.errorCode = safe.errorCode;
    this.requestId = safe.requestId;
  }

  /** The problem fields as a plain object (for logs and JSON). */
  get problem(): Problem {
    const { type, title, status, detail, instance, errorCode, requestId } = this;
    return { type, title, status, detail, instance, errorCode, requestId };
  }
}

/** 401: credentials, launch token, nonce or token were not accepted. */
export class AuthenticationError extends ProblemError {
  override name = 'AuthenticationError';
}

/** 403: authenticated, but the scope or role does not allow it. */
export class AuthorizationError extends ProblemError {
  override name = 'AuthorizationError';
}

/** 429: slow down; `retryAfter` is the broker's Retry-After in seconds, when it sent one. */
export class RateLimitError extends ProblemError {
  override name = 'RateLimitError';
  constructor(
    problem: Problem,
    readonly retryAfter: number | null,
  ) {
    super(problem);
  }
}

/** Why a request never produced an HTTP answer. */
export type TransportFailure = 'timeout' | 'connection' | 'tls' | 'response';

/** The broker could not be reached or answered with something that is not HTTP/JSON. */
export class TransportError extends AgentWritError {
  override name = 'TransportError';
  constructor(
    readonly reason: TransportFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The checks a verifier runs; a failed one is named on the error. */
export type VerifyCheck =
  | 'malformed'
  | 'algorithm'
  | 'unknown_key'
  | 'signature'
  | 'expired'
  | 'not_yet_valid'
  | 'issuer'
  | 'audience'
  | 'scope'
  | 'revoked';

/** A token failed one of a verifier's checks. */
export class VerificationError extends AgentWritError {
  override name = 'VerificationError';
  constructor(
    readonly check: VerifyCheck,
    message: string,
  ) {
    super(`token rejected (${check}): ${message}`);
  }
}
