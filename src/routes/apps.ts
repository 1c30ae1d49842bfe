/** /v1/admin/apps and /v1/admin/apps/{id} — app registration and management (operator side). */
import { RequestError } from '../errors.js';
import { APP_NAME_RE, APP_TTL_MAX, APP_TTL_MIN, appJson } from '../services/apps.js';
import {
  updateApp as changeApp,
  deregisterApp,
  findApp,
  listApps as listAllApps,
  registerApp,
} from '../services/operations/apps.js';
import { isValidScope } from '../services/scopes.js';
import type { Services } from '../services/services.js';
import { checkLengths, readJson } from './body.js';
import type { AuthedHandler } from './guard.js';

const badTtl = (n: number): RequestError =>
  new RequestError(
    'invalid_ttl',
    `invalid token TTL: must be between ${APP_TTL_MIN} and ${APP_TTL_MAX} seconds, got ${n}`,
  );
const BAD_SCOPE = 'invalid scope format: use action:resource:identifier';

export function createApp(s: Services): AuthedHandler {
  return async (ctx, { claims: caller }) => {
    const b = readJson(ctx, { name: 'string', scopes: 'strings', token_ttl: 'int' });
    if (!b.name) throw new RequestError('invalid_request', 'name is required');
    if (b.scopes === undefined || b.scopes.length === 0)
      throw new RequestError('invalid_request', 'scopes must not be empty');
    if (b.token_ttl !== undefined && b.token_ttl <= 0) throw badTtl(b.token_ttl);
    if (b.name.length > 64 || !APP_NAME_RE.test(b.name)) {
      throw new RequestError(
        'invalid_request',
        'invalid app name: must be lowercase letters, digits, and hyphens (2-64 characters, starting with a letter)',
      );
    }
    checkLengths({ scopes: b.scopes });
    if (!b.scopes.every(isValidScope)) throw new RequestError('invalid_request', BAD_SCOPE);
    if (b.token_ttl !== undefined && (b.token_ttl < APP_TTL_MIN || b.token_ttl > APP_TTL_MAX))
      throw badTtl(b.token_ttl);
    const { row, clientSecret } = await registerApp(s, caller.sub, {
      name: b.name,
      scopes: b.scopes,
      tokenTtl: b.token_ttl,
    });
    return {
      status: 201,
      json: {
        app_id: row.app_id,
        name: row.name,
        client_id: row.client_id,
        client_secret: clientSecret,
        scopes: row.scope_ceiling,
        token_ttl: row.token_ttl,
        status: row.status,
      },
    };
  };
}

export function listApps(s: Services): AuthedHandler {
  return async () => {
    const apps = (await listAllApps(s)).map(appJson);
    return { status: 200, json: { apps, total: apps.length } };
  };
}

export function getApp(s: Services): AuthedHandler<'id'> {
  return async (ctx) => ({ status: 200, json: appJson(await findApp(s, ctx.params.id)) });
}

/** Validates everything first, then writes once: a rejected field never leaves another one changed. */
export function updateApp(s: Services): AuthedHandler<'id'> {
  return async (ctx, { claims: caller }) => {
    const b = readJson(ctx, { scopes: 'strings', token_ttl: 'int' });
    const scopes = b.scopes !== undefined && b.scopes.length > 0 ? b.scopes : undefined;
    if (scopes === undefined && b.token_ttl === undefined) {
      throw new RequestError('invalid_request', 'at least one of scopes or token_ttl must be provided');
    }
    if (scopes !== undefined) {
      checkLengths({ scopes });
      if (!scopes.every(isValidScope)) throw new RequestError('invalid_request', BAD_SCOPE);
    }
    if (b.token_ttl !== undefined && (b.token_ttl < APP_TTL_MIN || b.token_ttl > APP_TTL_MAX))
      throw badTtl(b.token_ttl);
    const row = await changeApp(s, caller.sub, ctx.params.id, { scopes, tokenTtl: b.token_ttl });
    return { status: 200, json: appJson(row) };
  };
}

export function deleteApp(s: Services): AuthedHandler<'id'> {
  return async (ctx, { claims: caller }) => {
    const row = await deregisterApp(s, caller.sub, ctx.params.id);
    return {
      status: 200,
      json: {
        app_id: row.app_id,
        name: row.name,
        client_id: row.client_id,
        scopes: row.scope_ceiling,
        token_ttl: row.token_ttl,
        status: row.status,
        deregistered_at: row.deregistered_at,
      },
    };
  };
}
