/**
 * POST /v1/admin/launch-tokens and POST /v1/app/launch-tokens (one handler). An app caller is held to its scope
 * ceiling and must still be active; the route's own scope requirement is enforced by the guard.
 */
import { isAppSubject } from '../services/claims.js';
import { goList, isSubset } from '../services/scopes.js';
import { persist, type Services } from '../services/services.js';
import type { Handler } from '../transport/pipeline.js';
import { HttpError } from '../transport/problem.js';
import { checkLengths, checkTtlInput, readJson } from './body.js';
import { authOf } from './guard.js';

const DEFAULT_MAX_TTL = 300;
const DEFAULT_LAUNCH_TTL = 30;

export function createLaunchToken(s: Services): Handler {
  return async (ctx) => {
    const { claims: caller } = authOf(ctx);
    const b = readJson(ctx, { agent_name: 'string', allowed_scope: 'strings', max_ttl: 'int', single_use: 'bool', ttl: 'int' });
    const scope = b.allowed_scope ?? [];
    let appId = '';
    if (isAppSubject(caller.sub)) {
      appId = caller.sub.slice(4);
      const app = s.apps.get(appId);
      if (app === undefined || app.status !== 'active') throw new HttpError('forbidden', 'app not found');
      if (!isSubset(scope, app.scope_ceiling)) {
        await persist(s, [], [
          {
            event_type: 'scope_ceiling_exceeded',
            agent_id: caller.sub,
            detail: `app=${appId} requested=${goList(scope)} ceiling=${goList(app.scope_ceiling)}`,
            outcome: 'denied',
          },
        ], { detail: 'failed to create launch token' });
        throw new HttpError('forbidden', `requested scopes exceed app ceiling; allowed: ${goList(app.scope_ceiling)}`);
      }
    }
    const deny = async (reason: string): Promise<never> => {
      await persist(s, [], [
        {
          event_type: 'launch_token_denied',
          agent_id: caller.sub,
          detail: `launch token denied for agent=${b.agent_name ?? ''} by=${caller.sub} reason=${reason}`,
          outcome: 'denied',
        },
      ], { detail: 'failed to create launch token' });
      throw new HttpError('invalid_request', reason);
    };
    if (!b.agent_name) return deny('agent_name is required');
    if (scope.length === 0) return deny('allowed_scope must not be empty');
    checkLengths({ agent_name: b.agent_name, allowed_scope: scope });
    checkTtlInput('max_ttl', b.max_ttl);
    checkTtlInput('ttl', b.ttl);

    const maxTtl = b.max_ttl !== undefined && b.max_ttl > 0 ? b.max_ttl : DEFAULT_MAX_TTL;
    const ttl = b.ttl !== undefined && b.ttl > 0 ? b.ttl : DEFAULT_LAUNCH_TTL;
    const created = s.launchTokens.create({
      agent_name: b.agent_name,
      allowed_scope: scope,
      max_ttl: maxTtl,
      single_use: b.single_use ?? true,
      created_by: caller.sub,
      app_id: appId,
      ttlSeconds: ttl,
    });
    await persist(s, [{ kind: 'launchToken.put', row: created.row }], [
      {
        event_type: 'launch_token_issued',
        detail:
          `launch token issued for agent=${b.agent_name} scope=${goList(scope)} max_ttl=${maxTtl} created_by=${caller.sub}` +
          (appId ? ` app_id=${appId}` : ''),
        outcome: 'success',
      },
    ], { detail: 'failed to create launch token', undo: created.undo });
    s.metrics.launchTokensCreated.inc();
    s.logger.ok('ADMIN', 'AdminSvc', 'launch token created', `agent_name=${b.agent_name}, scope=${goList(scope)}`);
    return {
      status: 201,
      json: {
        launch_token: created.token,
        expires_at: new Date(created.row.expires_at).toISOString().slice(0, 19) + 'Z',
        policy: { allowed_scope: scope, max_ttl: maxTtl },
      },
    };
  };
}
