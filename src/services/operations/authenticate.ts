/**
 * Bearer authentication and scope requirements. Every failure is audited (folded when it repeats) and answered
 * with the generic texts; the specific reason goes only to the audit detail.
 */
import { LIMITS } from '../../config/limits.js';
import type { VerifyLane } from '../../crypto/verify-lanes.js';
import { RequestError } from '../../errors.js';
import type { AuditInput } from '../audit.js';
import type { Claims } from '../claims.js';
import { isSubset } from '../scopes.js';
import type { Services } from '../services.js';
import { verifyCurrent } from './tokens.js';

/** What a guarded route knows about its caller. */
export interface Auth {
  readonly claims: Claims;
  readonly token: string;
  /** Only for routes that accept dead tokens (release): the token verified but is revoked. */
  readonly revoked: boolean;
}

export interface BearerRequirement {
  /** A scope the token must cover. */
  scope?: string;
  /** Let a revoked (but otherwise valid) token through with `revoked: true`, so release can be idempotent. */
  acceptRevoked?: boolean;
}

/**
 * Where the request came in: `route` is the matched pattern and `path` the client's text (for denial events);
 * `lane` is who pays for a signature check when the token is not in the verified cache.
 */
export interface RequestSite {
  route: string;
  path: string;
  lane: VerifyLane;
}

const BEARER = 'Bearer ';

function clipPath(path: string): string {
  return path.length <= LIMITS.maxAuditPath ? path : `${path.slice(0, LIMITS.maxAuditPath)}...[truncated]`;
}

export async function authenticateBearer(
  s: Services,
  header: string | undefined,
  need: BearerRequirement,
  site: RequestSite,
): Promise<Auth> {
  // Repeats are keyed by route pattern, not path: a client choosing a new `{id}` per request is still one flood.
  const path = clipPath(site.path);
  const deny = async (detail: string, event: string, auditDetail: string, c?: Claims): Promise<never> => {
    await recordDenial(
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
      `${event}\u0000${c?.sub ?? ''}\u0000${auditDetail}\u0000${site.route}`,
    );
    throw new RequestError('unauthorized', detail);
  };

  if (header === undefined || header === '') {
    return deny('missing authorization header', 'token_auth_failed', 'missing authorization header');
  }
  if (!header.startsWith(BEARER)) {
    return deny('invalid authorization scheme', 'token_auth_failed', 'invalid authorization scheme');
  }
  const token = header.slice(BEARER.length);
  const v = await verifyCurrent(s, token, site.lane);
  let claims: Claims;
  let revoked = false;
  if (v.ok) {
    claims = v.claims;
  } else if (v.reason === 'token has been revoked' && v.claims !== undefined) {
    if (!need.acceptRevoked)
      return deny('token verification failed', 'token_revoked_access', 'revoked token used', v.claims);
    claims = v.claims;
    revoked = true;
  } else {
    return deny('token verification failed', 'token_auth_failed', `token verification failed: ${v.reason}`);
  }
  if (!s.tokens.audienceOk(claims)) {
    return deny(
      'token audience mismatch',
      'token_auth_failed',
      `audience mismatch | expected=${s.tokens.audience}`,
      claims,
    );
  }
  if (need.scope !== undefined && !isSubset([need.scope], claims.scope ?? [])) {
    await recordDenial(
      s,
      {
        event_type: 'scope_violation',
        agent_id: claims.sub,
        task_id: claims.task_id,
        orch_id: claims.orch_id,
        detail: `scope_violation | required=${need.scope} | actual=${(claims.scope ?? []).join(',')} | path=${path}`,
        resource: path,
        outcome: 'denied',
      },
      `scope_violation\u0000${claims.sub}\u0000${claims.jti}\u0000${site.route}`,
    );
    throw new RequestError('insufficient_scope', `token lacks required scope: ${need.scope}`);
  }
  return { claims, token, revoked };
}

/** Records a denial event, unless it repeats one already recorded in the current window (then it is counted). */
export async function recordDenial(s: Services, event: AuditInput, sameAs?: string): Promise<void> {
  if (!s.denials.admit(event, Date.now(), sameAs)) return;
  await s.begin().audit(event).commit('internal error');
}
