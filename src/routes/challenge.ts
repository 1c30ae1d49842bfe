import { NONCE_TTL_SECONDS } from '../services/nonces.js';
import type { Services } from '../services/services.js';
import type { Handler } from '../transport/pipeline.js';
import { HttpError } from '../transport/problem.js';

/** GET /v1/challenge — a nonce for registration. Capped so anonymous floods cannot grow memory. */
export function challenge(s: Services): Handler {
  return () => {
    const nonce = s.nonces.issue();
    if (nonce === null) {
      throw new HttpError('rate_limited', 'too many outstanding challenges, try again later', {
        headers: { 'Retry-After': String(NONCE_TTL_SECONDS) },
      });
    }
    return { status: 200, json: { nonce, expires_in: NONCE_TTL_SECONDS } };
  };
}
