/** POST /v1/token/validate, /v1/token/renew, /v1/token/release. */
import { RequestError } from '../errors.js';
import { releaseToken, renewToken, validateToken } from '../services/operations/tokens.js';
import type { Services } from '../services/services.js';
import type { Handler } from '../transport/pipeline.js';
import { readJson } from './body.js';
import { type AuthedHandler, verificationLane } from './guard.js';

/** Resource servers ask whether a token is good. Always 200 for a well-formed request; failures are generic. */
export function validate(s: Services): Handler {
  return async (ctx) => {
    const b = readJson(ctx, { token: 'string' });
    if (!b.token) throw new RequestError('invalid_request', 'token field is required');
    const v = await validateToken(s, b.token, verificationLane(ctx));
    if (v.valid) return { status: 200, json: { valid: true, claims: v.claims } };
    s.logger.warn('VALIDATE', 'hdl', 'token verification failed', `err=${v.reason}`, `request_id=${ctx.requestId}`);
    return { status: 200, json: { valid: false, error: 'token is invalid or expired' } };
  };
}

export function renew(s: Services): AuthedHandler {
  return async (_ctx, { claims }) => {
    const t = await renewToken(s, claims);
    return { status: 200, json: { access_token: t.token, expires_in: t.ttl } };
  };
}

/** Idempotent: releasing an already dead (but genuine, unexpired) token is 204 again. */
export function release(s: Services): AuthedHandler {
  return async (_ctx, { claims, revoked }) => {
    await releaseToken(s, claims, revoked);
    return { status: 204 };
  };
}
