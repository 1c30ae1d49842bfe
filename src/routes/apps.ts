/** /v1/admin/apps and /v1/admin/apps/{id} — app registration and management (operator side). */
import { hashClientSecret, randomHex } from '../crypto/secrets.js';
import { APP_NAME_RE, APP_TTL_MAX, APP_TTL_MIN, appJson, rfc3339Seconds } from '../services/apps.js';
import { goList, isValidScope } from '../services/scopes.js';
import { persist, type Services } from '../services/services.js';
import type { AppRow } from '../store/store.js';
import type { Handler } from '../transport/pipeline.js';
import { HttpError } from '../transport/problem.js';
import type { AuditInput } from '../services/audit.js';
import { checkLengths, readJson } from './body.js';
import { authOf } from './guard.js';

const badTtl = (n: number): HttpError =>
  new HttpError('invalid_ttl', `invalid token TTL: must be between ${APP_TTL_MIN} and ${APP_TTL_MAX} seconds, got ${n}`);
const BAD_SCOPE = 'invalid scope format: use action:resource:identifier';

function appOr404(s: Services, id: string): AppRow {
  const app = s.apps.get(id);
  if (app === undefined) throw new HttpError('not_found', 'app not found');
  return app;
}

export function createApp(s: Services): Handler {
  return async (ctx) => {
    const { claims: caller } = authOf(ctx);
    const b = readJson(ctx, { name: 'string', scopes: 'strings', token_ttl: 'int' });
    if (!b.name) throw new HttpError('invalid_request', 'name is required');
    if (b.scopes === undefined || b.scopes.length === 0) throw new HttpError('invalid_request', 'scopes must not be empty');
    if (b.token_ttl !== undefined && b.token_ttl <= 0) throw badTtl(b.token_ttl);
    if (b.name.length > 64 || !APP_NAME_RE.test(b.name)) {
      throw new HttpError(
        'invalid_request',
        'invalid app name: must be lowercase letters, digits, and hyphens (2-64 characters, starting with a letter)',
      );
    }
    checkLengths({ scopes: b.scopes });
    if (!b.scopes.every(isValidScope)) throw new HttpError('invalid_request', BAD_SCOPE);
    if (b.token_ttl !== undefined && (b.token_ttl < APP_TTL_MIN || b.token_ttl > APP_TTL_MAX)) throw badTtl(b.token_ttl);
    if (s.apps.nameTaken(b.name)) throw new HttpError('conflict', `app name already exists: ${b.name}`);

    const secret = randomHex(32);
    const now = rfc3339Seconds();
    const row: AppRow = {
      ...s.apps.newIds(b.name),
      name: b.name,
      client_secret_hash: hashClientSecret(secret),
      scope_ceiling: b.scopes,
      token_ttl: b.token_ttl ?? s.config.appTokenTtl,
      status: 'active',
      created_at: now,
      updated_at: now,
      created_by: caller.sub,
      deregistered_at: null,
    };
    const undo = s.apps.put(row);
    await persist(s, [{ kind: 'app.put', row }], [
      {
        event_type: 'app_registered',
        detail: `app=${row.name} client_id=${row.client_id} scopes=${goList(row.scope_ceiling)} token_ttl=${row.token_ttl}`,
        outcome: 'success',
      },
    ], { detail: 'failed to register app', undo });
    return {
      status: 201,
      json: {
        app_id: row.app_id,
        name: row.name,
        client_id: row.client_id,
        client_secret: secret,
        scopes: row.scope_ceiling,
        token_ttl: row.token_ttl,
        status: row.status,
      },
    };
  };
}

export function listApps(s: Services): Handler {
  return () => {
    const apps = s.apps.list().map(appJson);
    return { status: 200, json: { apps, total: apps.length } };
  };
}

export function getApp(s: Services): Handler {
  return (ctx) => ({ status: 200, json: appJson(appOr404(s, ctx.params.id as string)) });
}

/** Validates everything first, then writes once: a rejected field never leaves another one changed. */
export function updateApp(s: Services): Handler {
  return async (ctx) => {
    const { claims: caller } = authOf(ctx);
    const b = readJson(ctx, { scopes: 'strings', token_ttl: 'int' });
    const scopes = b.scopes !== undefined && b.scopes.length > 0 ? b.scopes : undefined;
    if (scopes === undefined && b.token_ttl === undefined) {
      throw new HttpError('invalid_request', 'at least one of scopes or token_ttl must be provided');
    }
    if (scopes !== undefined) {
      checkLengths({ scopes });
      if (!scopes.every(isValidScope)) throw new HttpError('invalid_request', BAD_SCOPE);
    }
    if (b.token_ttl !== undefined && (b.token_ttl < APP_TTL_MIN || b.token_ttl > APP_TTL_MAX)) throw badTtl(b.token_ttl);
    const app = appOr404(s, ctx.params.id as string);

    const row: AppRow = { ...app, updated_at: rfc3339Seconds() };
    const events: AuditInput[] = [];
    if (scopes !== undefined) {
      row.scope_ceiling = scopes;
      events.push({
        event_type: 'app_updated',
        detail: `app_id=${app.app_id} scopes=${goList(scopes)} updated_by=${caller.sub}`,
        outcome: 'success',
      });
    }
    if (b.token_ttl !== undefined) {
      row.token_ttl = b.token_ttl;
      events.push({
        event_type: 'app_updated',
        detail: `app_id=${app.app_id} token_ttl=${app.token_ttl}->${b.token_ttl} updated_by=${caller.sub}`,
        outcome: 'success',
      });
    }
    const undo = s.apps.put(row);
    await persist(s, [{ kind: 'app.put', row }], events, { detail: 'failed to update app', undo });
    return { status: 200, json: appJson(row) };
  };
}

/** Soft delete: the record stays, the app cannot authenticate, and its live app tokens stop working. */
export function deleteApp(s: Services): Handler {
  return async (ctx) => {
    const { claims: caller } = authOf(ctx);
    const app = appOr404(s, ctx.params.id as string);
    const now = rfc3339Seconds();
    const row: AppRow = { ...app, status: 'inactive', updated_at: now, deregistered_at: app.deregistered_at ?? now };
    const undo = s.apps.put(row);
    await persist(s, [{ kind: 'app.put', row }], [
      {
        event_type: 'app_deregistered',
        detail: `app_id=${app.app_id} name=${app.name} deregistered_by=${caller.sub}`,
        outcome: 'success',
      },
    ], { detail: 'failed to deregister app', undo });
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
