/**
 * POST /v1/admin/auth and POST /v1/app/auth. Both are rate limited here, before any secret is checked: admin
 * logins per client address; app logins per client_id *and* address, so a flood aimed at one app cannot lock it
 * out from its own address.
 */
import { LIMITS } from '../config/limits.js';
import { RequestError } from '../errors.js';
import { APP_SCOPES, adminLogin, appLogin } from '../services/operations/logins.js';
import type { Services } from '../services/services.js';
import { rateLimitKey } from '../transport/client-ip.js';
import { parseJsonBody, pickFields } from '../transport/json.js';
import type { Handler } from '../transport/pipeline.js';
import { RateLimiter } from '../transport/rate-limit.js';
import { checkLengths, malformed } from './body.js';

const LEGACY_FORMAT = 'Admin auth format changed. Use {"secret": "..."} instead of client_id/client_secret';

function limited(limiter: RateLimiter): RequestError {
  return new RequestError('rate_limited', 'rate limit exceeded, try again later', {
    retryAfter: limiter.options.retryAfterSeconds,
  });
}

export function adminAuth(s: Services, limiter = new RateLimiter(LIMITS.adminAuthRate)): Handler {
  return async (ctx) => {
    if (!limiter.take(rateLimitKey(ctx.clientIp))) throw limited(limiter);
    let b;
    try {
      b = pickFields(parseJsonBody(ctx.body), { secret: 'string', client_id: 'string', client_secret: 'string' });
    } catch (err) {
      throw malformed(err);
    }
    if (b.client_id || b.client_secret) throw new RequestError('invalid_request', LEGACY_FORMAT);
    if (!b.secret) throw new RequestError('invalid_request', 'secret is required');
    const t = await adminLogin(s, b.secret, ctx.clientIp);
    return { status: 200, json: { access_token: t.token, expires_in: t.ttl, token_type: 'Bearer' } };
  };
}

export function appAuth(s: Services, limiter = new RateLimiter(LIMITS.appAuthRate)): Handler {
  return async (ctx) => {
    // Decode first: the bucket must be keyed by the client_id that is then authenticated (the last of duplicates).
    let b: { client_id?: string; client_secret?: string } | undefined;
    let decodeError: unknown;
    try {
      b = pickFields(parseJsonBody(ctx.body), { client_id: 'string', client_secret: 'string' });
    } catch (err) {
      decodeError = err;
    }
    if (!limiter.take(`${(b?.client_id ?? '').slice(0, 256)}|${rateLimitKey(ctx.clientIp)}`)) throw limited(limiter);
    if (b === undefined) throw malformed(decodeError);
    if (!b.client_id || !b.client_secret)
      throw new RequestError('invalid_request', 'client_id and client_secret are required');
    checkLengths({ client_id: b.client_id, client_secret: b.client_secret });
    const t = await appLogin(s, b.client_id, b.client_secret);
    return {
      status: 200,
      json: { access_token: t.token, expires_in: t.ttl, token_type: 'Bearer', scopes: APP_SCOPES },
    };
  };
}
