/** Turning broker answers into data or into one-line refusals (exit 1). */
import type { BrokerResponse } from './client.js';
import { RefusedError } from './errors.js';
import { printable, truncate } from './output.js';

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function parse(body: string): unknown {
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * `broker refused (404 not_found): app not found [request_id=…]` from an RFC 7807 body; for anything else the
 * status and the start of the body. The request id lets an operator find the matching broker log line.
 */
export function refusal(res: BrokerResponse, context = ''): RefusedError {
  const problem = parse(res.body);
  const prefix = context === '' ? '' : `${context}: `;
  if (isObject(problem) && typeof problem.detail === 'string') {
    const code = typeof problem.error_code === 'string' ? ` ${problem.error_code}` : '';
    const rid = typeof problem.request_id === 'string' ? ` [request_id=${problem.request_id}]` : '';
    return new RefusedError(printable(`${prefix}broker refused (${res.status}${code}): ${problem.detail}${rid}`));
  }
  if (res.status >= 300 && res.status < 400) {
    const location = res.headers.location ?? '';
    return new RefusedError(
      printable(`${prefix}broker answered a redirect (${res.status}) to "${location}"; check AACTL_BROKER_URL`),
    );
  }
  const text = truncate(res.body.trim().split('\n')[0] ?? '', 200);
  return new RefusedError(printable(`${prefix}broker refused (${res.status})${text === '' ? '' : `: ${text}`}`));
}

export function isSuccess(res: BrokerResponse): boolean {
  return res.status >= 200 && res.status < 300;
}

/** A 2xx JSON object, or the refusal. */
export function jsonObject(res: BrokerResponse, context = ''): Json {
  if (!isSuccess(res)) throw refusal(res, context);
  const v = parse(res.body);
  if (!isObject(v))
    throw new RefusedError(
      `${context === '' ? '' : `${context}: `}unexpected answer from broker (${res.status}): not a JSON object`,
    );
  return v;
}
