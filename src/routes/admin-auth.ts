/**
 * POST /v1/admin/auth — the operator's secret for an admin token. Rate limited per client address; the secret is
 * compared as a SHA-256 digest in constant time, or against a bcrypt hash off the event loop.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { AdminSecret } from '../config/config.js';
import type { CryptoPool } from '../crypto/crypto-pool.js';
import { issueToken, persist, persistDenial, type Services } from '../services/services.js';
import type { Handler } from '../transport/pipeline.js';
import { DecodeError, parseJsonBody, pickFields } from '../transport/json.js';
import { rateLimitKey } from '../transport/client-ip.js';
import { HttpError } from '../transport/problem.js';

export const ADMIN_SCOPES = ['admin:launch-tokens:*', 'admin:revoke:*', 'admin:audit:*'];
const LEGACY_FORMAT = 'Admin auth format changed. Use {"secret": "..."} instead of client_id/client_secret';

export async function checkAdminSecret(presented: string, secret: AdminSecret, pool: CryptoPool): Promise<boolean> {
  if (secret.kind === 'sha256') {
    return timingSafeEqual(createHash('sha256').update(presented, 'utf8').digest(), secret.digest);
  }
  return pool.bcryptCompare(presented, secret.hash);
}

export function adminAuth(s: Services): Handler {
  return async (ctx) => {
    if (!s.adminAuthLimiter.take(rateLimitKey(ctx.clientIp))) {
      throw new HttpError('rate_limited', 'rate limit exceeded, try again later', { headers: { 'Retry-After': '1' } });
    }
    let parsed: unknown;
    try {
      parsed = parseJsonBody(ctx.body);
    } catch (err) {
      throw new HttpError('invalid_request', 'malformed JSON body', { cause: err });
    }
    let b;
    try {
      b = pickFields(parsed, { secret: 'string', client_id: 'string', client_secret: 'string' });
    } catch (err) {
      if (!(err instanceof DecodeError)) throw err;
      throw new HttpError('invalid_request', 'malformed JSON body', { cause: err });
    }
    if (b.client_id || b.client_secret) throw new HttpError('invalid_request', LEGACY_FORMAT);
    if (!b.secret) throw new HttpError('invalid_request', 'secret is required');

    if (!(await checkAdminSecret(b.secret, s.config.adminSecret, s.pool))) {
      s.metrics.adminAuth.failure.inc();
      s.logger.warn('ADMIN', 'AdminSvc', 'authentication failed', `ip=${ctx.clientIp}`);
      await persistDenial(s, { event_type: 'admin_auth_failed', detail: 'failed admin authentication attempt', outcome: 'denied' });
      throw new HttpError('unauthorized', 'invalid credentials');
    }
    let t;
    try {
      t = await issueToken(s, { sub: 'admin', scope: ADMIN_SCOPES, ttl: s.config.adminTokenTtl });
    } catch (err) {
      throw new HttpError('unauthorized', 'invalid credentials', { cause: err });
    }
    await persist(s, t.mutations, [
      { event_type: 'admin_auth', detail: 'admin authenticated as admin', outcome: 'success' },
    ], { detail: 'internal error', undo: t.undo });
    s.metrics.adminAuth.success.inc();
    s.logger.ok('ADMIN', 'AdminSvc', 'admin authenticated');
    return { status: 200, json: { access_token: t.issued.token, expires_in: t.issued.ttl, token_type: 'Bearer' } };
  };
}
