/**
 * The Bearer guard: a route that needs a caller is written as an `AuthedHandler`, which receives the verified
 * caller as an argument. Such a handler cannot be put in the route table without this guard (its type does not
 * fit a plain `Handler`), so no route can forget to authenticate.
 */
import { anonymousLane, type VerifyLane } from '../crypto/verify-lanes.js';
import { type Auth, authenticateBearer, type BearerRequirement } from '../services/operations/authenticate.js';
import type { Services } from '../services/services.js';
import { rateLimitKey } from '../transport/client-ip.js';
import type { Handler, Reply, RequestContext } from '../transport/pipeline.js';

export type { Auth } from '../services/operations/authenticate.js';

export type AuthedHandler<P extends string = never> = (ctx: RequestContext<P>, auth: Auth) => Reply | Promise<Reply>;

/** Anyone can present a token: its verification shares the anonymous lane, keyed like the rate limits. */
export function verificationLane(ctx: RequestContext<string>): VerifyLane {
  return anonymousLane(rateLimitKey(ctx.clientIp));
}

export function bearer<P extends string = never>(
  s: Services,
  handler: AuthedHandler<P>,
  need: BearerRequirement = {},
): Handler<P> {
  return async (ctx) => {
    const site = { route: ctx.route, path: ctx.path, lane: verificationLane(ctx) };
    const auth = await authenticateBearer(s, ctx.req.headers.authorization, need, site);
    return handler(ctx, auth);
  };
}
