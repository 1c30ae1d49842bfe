/**
 * Bearer authentication and scope requirements (http-api.md §2.1), as wrappers around handlers. Every failure is
 * audited and answered with the generic texts; the specific reason goes only to the audit detail.
 */
import { anonymousLane, type VerifyLane } from '../crypto/verify-lanes.js';
import type { Claims } from '../services/claims.js';
import { isSubset } from '../services/scopes.js';
import { persistDenial, type Services } from '../services/services.js';
import { rateLimitKey } from '../transport/client-ip.js';
import type { Handler, RequestContext } from '../transport/pipeline.js';
import { HttpError } from '../transport/problem.js';

export interface Auth {
  claims: Claims;
  token: string;
  cacheKey: string;
  /** Only for routes that accept dead tokens (release): the token verified but is revoked. */
  revoked: boolean;
}

export function authOf(ctx: RequestContext): Auth {
  return ctx.auth as Auth;
}

/** Anyone can present a token: its verification shares the anonymous lane, keyed like the rate limits. */
export function verificationLane(ctx: RequestContext): VerifyLane {
  return anonymousLane(rateLimitKey(ctx.clientIp));
}

interface BearerOptions {
  scope?: string;
  /** Let a revoked (but otherwise valid) token through with `revoked: true`, so release can be idempotent. */
  acceptRevoked?: boolean;
}

const BEARER = 'Bearer ';

/** Paths in denial events are cut here: the route pattern says where, the rest is client-chosen text. */
const MAX_AUDIT_PATH = 256;
function clipPath(path: string): string {
  return path.length <= MAX_AUDIT_PATH ? path : `${path.slice(0, MAX_AUDIT_PATH)}...[truncated]`;
}

export function bearer(s: Services, handler: Handler, options: BearerOptions = {}): Handler {
  return async (ctx) => {
    // Repeats are keyed by route pattern, not path: a client choosing a new `{id}` per request is still one flood.
    const path = clipPath(ctx.path);
    const deny = async (detail: string, event: string, auditDetail: string, c?: Claims): Promise<never> => {
      await persistDenial(
        s,
        {
          event_type: event,
          agent_id: c?.sub,
          task_id: c?.task_id,
          orch_id: c?.orch_id,
          detail: `${auditDetail} | path=${path}`,
          resource: path,
          outcome: 'denied',
        },
        `${event}\u0000${c?.sub ?? ''}\u0000${auditDetail}\u0000${ctx.route}`,
      );
      throw new HttpError('unauthorized', detail);
    };

    const header = ctx.req.headers.authorization;
    if (header === undefined || header === '') {
      return deny('missing authorization header', 'token_auth_failed', 'missing authorization header');
    }
    if (!header.startsWith(BEARER)) {
      return deny('invalid authorization scheme', 'token_auth_failed', 'invalid authorization scheme');
    }
    const token = header.slice(BEARER.length);
    const v = await s.tokens.verify(token, verificationLane(ctx));
    let revoked = false;
    if (!v.ok) {
      if (v.reason === 'token has been revoked' && v.claims !== undefined) {
        if (!options.acceptRevoked) {
          return deny('token verification failed', 'token_revoked_access', 'revoked token used', v.claims);
        }
        revoked = true;
      } else {
        return deny('token verification failed', 'token_auth_failed', `token verification failed: ${v.reason}`);
      }
    }
    const claims = v.claims as Claims;
    if (!s.tokens.audienceOk(claims)) {
      return deny('token audience mismatch', 'token_auth_failed', `audience mismatch | expected=${s.tokens.audience}`, claims);
    }
    if (options.scope !== undefined && !isSubset([options.scope], claims.scope ?? [])) {
      await persistDenial(
        s,
        {
          event_type: 'scope_violation',
          agent_id: claims.sub,
          task_id: claims.task_id,
          orch_id: claims.orch_id,
          detail: `scope_violation | required=${options.scope} | actual=${(claims.scope ?? []).join(',')} | path=${path}`,
          resource: path,
          outcome: 'denied',
        },
        `scope_violation\u0000${claims.sub}\u0000${claims.jti}\u0000${ctx.route}`,
      );
      throw new HttpError('insufficient_scope', `token lacks required scope: ${options.scope}`);
    }
    const auth: Auth = { claims, token, cacheKey: v.ok ? v.cacheKey : '', revoked };
    ctx.auth = auth;
    return handler(ctx);
  };
}
