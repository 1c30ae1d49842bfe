/**
 * The route table: every route the broker serves, its guard and its handler, in one place.
 * `bearer(s, h, { scope })` = a valid token holding `scope` (http-api.md §2).
 */
import type { Services } from '../services/services.js';
import type { Handler } from '../transport/pipeline.js';
import { Router } from '../transport/router.js';
import { adminAuth } from './admin-auth.js';
import { appAuth } from './app-auth.js';
import { createApp, deleteApp, getApp, listApps, updateApp } from './apps.js';
import { auditEvents } from './audit.js';
import { challenge } from './challenge.js';
import { delegate } from './delegate.js';
import { bearer } from './guard.js';
import { createLaunchToken } from './launch-tokens.js';
import { register } from './register.js';
import { revoke } from './revoke.js';
import { health, jwks, metrics } from './system.js';
import { release, renew, validate } from './token.js';

export function buildRouter(s: Services): Router<Handler> {
  const manageApps = { scope: 'admin:launch-tokens:*' };
  return new Router<Handler>()
    .add('GET', '/v1/challenge', challenge(s))
    .add('POST', '/v1/register', register(s))
    .add('POST', '/v1/token/validate', validate(s))
    .add('POST', '/v1/token/renew', bearer(s, renew(s)))
    .add('POST', '/v1/token/release', bearer(s, release(s), { acceptRevoked: true }))
    .add('POST', '/v1/delegate', bearer(s, delegate(s)))
    .add('POST', '/v1/revoke', bearer(s, revoke(s), { scope: 'admin:revoke:*' }))
    .add('GET', '/v1/audit/events', bearer(s, auditEvents(s), { scope: 'admin:audit:*' }))
    .add('POST', '/v1/admin/auth', adminAuth(s))
    .add('POST', '/v1/admin/launch-tokens', bearer(s, createLaunchToken(s), { scope: 'admin:launch-tokens:*' }))
    .add('POST', '/v1/app/launch-tokens', bearer(s, createLaunchToken(s), { scope: 'app:launch-tokens:*' }))
    .add('POST', '/v1/admin/apps', bearer(s, createApp(s), manageApps))
    .add('GET', '/v1/admin/apps', bearer(s, listApps(s), manageApps))
    .add('GET', '/v1/admin/apps/{id}', bearer(s, getApp(s), manageApps))
    .add('PUT', '/v1/admin/apps/{id}', bearer(s, updateApp(s), manageApps))
    .add('DELETE', '/v1/admin/apps/{id}', bearer(s, deleteApp(s), manageApps))
    .add('POST', '/v1/app/auth', appAuth(s))
    .add('GET', '/v1/health', health(s))
    .add('GET', '/v1/metrics', metrics(s))
    .add('GET', '/v1/jwks', jwks(s))
    .add('GET', '/.well-known/jwks.json', jwks(s));
}
