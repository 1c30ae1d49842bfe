/** GET /v1/challenge — a nonce for registration. Capped so anonymous floods cannot grow memory. */
import { RequestError } from '../errors.js';
import type { Services } from '../services/services.js';
import type { Handler } from '../transport/pipeline.js';

export function challenge(s: Services): Handler {
  return async () => {
    const ttl = s.nonces.ttlSeconds;
    const nonce = await s.nonces.issue();
    if (nonce === null)
      throw new RequestError('rate_limited', 'too many outstanding challenges, try again later', { retryAfter: ttl });
    return { status: 200, json: { nonce, expires_in: ttl } };
  };
}
