/**
 * POST /v1/admin/launch-tokens and POST /v1/app/launch-tokens (one handler); the route's own scope requirement
 * is enforced by the guard.
 */
import { rfc3339Seconds } from '../platform/time.js';
import { checkAppCeiling, denyLaunchToken, issueLaunchToken } from '../services/operations/launch-tokens.js';
import type { Services } from '../services/services.js';
import { checkLengths, checkTtlInput, readJson } from './body.js';
import type { AuthedHandler } from './guard.js';

export function createLaunchToken(s: Services): AuthedHandler {
  return async (ctx, { claims: caller }) => {
    const b = readJson(ctx, {
      agent_name: 'string',
      allowed_scope: 'strings',
      max_ttl: 'int',
      single_use: 'bool',
      ttl: 'int',
    });
    const scope = b.allowed_scope ?? [];
    await checkAppCeiling(s, caller.sub, scope);
    if (!b.agent_name) return denyLaunchToken(s, caller.sub, '', 'agent_name is required');
    if (scope.length === 0) return denyLaunchToken(s, caller.sub, b.agent_name, 'allowed_scope must not be empty');
    checkLengths({ agent_name: b.agent_name, allowed_scope: scope });
    checkTtlInput('max_ttl', b.max_ttl);
    checkTtlInput('ttl', b.ttl);
    const { token, row } = await issueLaunchToken(s, caller.sub, {
      agentName: b.agent_name,
      allowedScope: scope,
      maxTtl: b.max_ttl,
      ttl: b.ttl,
      singleUse: b.single_use ?? true,
    });
    return {
      status: 201,
      json: {
        launch_token: token,
        expires_at: rfc3339Seconds(row.expires_at),
        policy: { allowed_scope: scope, max_ttl: row.max_ttl },
      },
    };
  };
}
