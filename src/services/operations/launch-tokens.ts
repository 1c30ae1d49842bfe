/**
 * Launch tokens for operators and apps (and the development seed). An app caller is held to its scope ceiling and
 * must still be active.
 */
import { LIMITS } from '../../config/limits.js';
import { RequestError } from '../../errors.js';
import type { LaunchTokenRow } from '../../store/store.js';
import { isAppSubject } from '../claims.js';
import { goList, isSubset } from '../scopes.js';
import type { Services } from '../services.js';

export interface LaunchTokenRequest {
  agentName: string;
  allowedScope: string[];
  /** Seconds; ≤ 0 or absent = the defaults. */
  maxTtl: number | undefined;
  ttl: number | undefined;
  singleUse: boolean;
}

/** An app caller's standing, checked before the request's own fields: the Go broker's order. */
export async function checkAppCeiling(s: Services, caller: string, scope: readonly string[]): Promise<void> {
  if (!isAppSubject(caller)) return;
  const appId = caller.slice(4);
  if (s.apps.get(appId) === undefined) await s.sync();
  const app = s.apps.get(appId);
  if (app === undefined || app.status !== 'active') throw new RequestError('forbidden', 'app not found');
  if (isSubset(scope, app.scope_ceiling)) return;
  await s
    .begin()
    .audit({
      event_type: 'scope_ceiling_exceeded',
      agent_id: caller,
      detail: `app=${appId} requested=${goList(scope)} ceiling=${goList(app.scope_ceiling)}`,
      outcome: 'denied',
    })
    .commit('failed to create launch token');
  throw new RequestError('forbidden', `requested scopes exceed app ceiling; allowed: ${goList(app.scope_ceiling)}`);
}

/** A refused request is audited, then answered 400 with the reason. */
export async function denyLaunchToken(s: Services, caller: string, agentName: string, reason: string): Promise<never> {
  await s
    .begin()
    .audit({
      event_type: 'launch_token_denied',
      agent_id: caller,
      detail: `launch token denied for agent=${agentName} by=${caller} reason=${reason}`,
      outcome: 'denied',
    })
    .commit('failed to create launch token');
  throw new RequestError('invalid_request', reason);
}

export async function issueLaunchToken(
  s: Services,
  caller: string,
  r: LaunchTokenRequest,
): Promise<{ token: string; row: LaunchTokenRow }> {
  const appId = isAppSubject(caller) ? caller.slice(4) : '';
  const maxTtl = r.maxTtl !== undefined && r.maxTtl > 0 ? r.maxTtl : LIMITS.launchTokenDefaultMaxTtl;
  const ttl = r.ttl !== undefined && r.ttl > 0 ? r.ttl : LIMITS.launchTokenDefaultTtl;
  const created = s.launchTokens.create({
    agent_name: r.agentName,
    allowed_scope: r.allowedScope,
    max_ttl: maxTtl,
    single_use: r.singleUse,
    created_by: caller,
    app_id: appId,
    ttlSeconds: ttl,
  });
  await s
    .begin()
    .change({ kind: 'launchToken.put', row: created.row }, created.undo)
    .audit({
      event_type: 'launch_token_issued',
      detail:
        `launch token issued for agent=${r.agentName} scope=${goList(r.allowedScope)} max_ttl=${maxTtl} created_by=${caller}` +
        (appId ? ` app_id=${appId}` : ''),
      outcome: 'success',
    })
    .commit('failed to create launch token');
  s.metrics.launchTokensCreated.inc();
  s.logger.ok(
    'ADMIN',
    'AdminSvc',
    'launch token created',
    `agent_name=${r.agentName}, scope=${goList(r.allowedScope)}`,
  );
  return { token: created.token, row: created.row };
}
