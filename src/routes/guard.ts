/**
 * The Bearer guard: a route that needs a caller is written as an `AuthedHandler`, which receives the verified
 * caller as an argument. Such a handler cannot be put in the route table without this guard (its type does not
 * fit a plain `Handler`), so no route can forget to authenticate.
 */
import { authenticateBearer, type Auth, type BearerRequirement } from '../services/operations/authenticate.js';
import type { Services } from '../services/services.js';
import type { Handler, Reply, RequestContext } from '../transport/pipeline.js';

export type { Auth } from '../services/operations/authenticate.js';

export type AuthedHandler<P extends string = never> = (ctx: RequestContext<P>, auth: Auth) => Reply | Promise<Reply>;

export function bearer<P extends string = never>(s: Services, handler: AuthedHandler<P>, need: BearerRequirement = {}): Handler<P> {
  return async (ctx) => {
    const auth = await authenticateBearer(s, ctx.req.headers.authorization, need, { route: ctx.route, path: ctx.path });
    return handler(ctx, auth);
  };
}
