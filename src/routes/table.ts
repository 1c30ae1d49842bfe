/**
 * The route table: every route the broker serves, its guard and its handler, in one place. A handler that needs a
 * caller is an `AuthedHandler` and fits only behind `bearer(…)`; `{name}` parameters are typed from the pattern.
 */
import type { Services } from '../services/services.js';
import type { Handler, ParamNames } from '../transport/pipeline.js';
import { type Method, Router } from '../transport/router.js';
import { createApp, deleteApp, getApp, listApps, updateApp } from './apps.js';
import { archiveAudit, auditEvents } from './audit.js';
import { challenge } from './challenge.js';
import { delegate } from './delegate.js';
import { bearer } from './guard.js';
import { listKeys, rotateKeys } from './keys.js';
import { createLaunchToken } from './launch-tokens.js';
import { adminAuth, appAuth } from './logins.js';
import { register } from './register.js';
import { revoke } from './revoke.js';
import { health, jwks, metrics } from './system.js';
import { release, renew, validate } from './token.js';

export function buildRouter(s: Services): Router<Handler<string>> {
  const router = new Router<Handler<string>>();
  const route = <P extends string>(method: Method, pattern: P, handler: Handler<ParamNames<P>>): void => {
    router.add(method, pattern, handler);
  };
  const manageApps = { scope: 'admin:launch-tokens:*' };
  route('GET', '/v1/challenge', challenge(s));
  route('POST', '/v1/register', register(s));
  route('POST', '/v1/token/validate', validate(s));
  route('POST', '/v1/token/renew', bearer(s, renew(s)));
  route('POST', '/v1/token/release', bearer(s, release(s), { acceptRevoked: true }));
  route('POST', '/v1/delegate', bearer(s, delegate(s)));
  route('POST', '/v1/revoke', bearer(s, revoke(s), { scope: 'admin:revoke:*' }));
  route('GET', '/v1/audit/events', bearer(s, auditEvents(s), { scope: 'admin:audit:*' }));
  route('POST', '/v1/admin/audit/archive', bearer(s, archiveAudit(s), { scope: 'admin:audit:*' }));
  route('POST', '/v1/admin/auth', adminAuth(s));
  route('POST', '/v1/admin/launch-tokens', bearer(s, createLaunchToken(s), { scope: 'admin:launch-tokens:*' }));
  route('POST', '/v1/app/launch-tokens', bearer(s, createLaunchToken(s), { scope: 'app:launch-tokens:*' }));
  route('POST', '/v1/admin/apps', bearer(s, createApp(s), manageApps));
  route('GET', '/v1/admin/apps', bearer(s, listApps(s), manageApps));
  route('GET', '/v1/admin/apps/{id}', bearer(s, getApp(s), manageApps));
  route('PUT', '/v1/admin/apps/{id}', bearer(s, updateApp(s), manageApps));
  route('DELETE', '/v1/admin/apps/{id}', bearer(s, deleteApp(s), manageApps));
  route('POST', '/v1/admin/keys/rotate', bearer(s, rotateKeys(s), { scope: 'admin:keys:*' }));
  route('GET', '/v1/admin/keys', bearer(s, listKeys(s), { scope: 'admin:keys:*' }));
  route('POST', '/v1/app/auth', appAuth(s));
  route('GET', '/v1/health', health(s));
  route('GET', '/v1/metrics', metrics(s));
  route('GET', '/v1/jwks', jwks(s));
  route('GET', '/.well-known/jwks.json', jwks(s));
  return router;
}
