/** App registration and management (the operator's side). Names are unique; a deregistered app stays on record. */
import { hashClientSecret, randomHex } from '../../crypto/secrets.js';
import { RequestError } from '../../errors.js';
import { rfc3339Seconds } from '../../platform/time.js';
import type { AppRow } from '../../store/store.js';
import type { AuditInput } from '../audit.js';
import { goList } from '../scopes.js';
import type { Services } from '../services.js';

export async function findApp(s: Services, id: string): Promise<AppRow> {
  if (s.apps.get(id) === undefined) await s.sync(); // registered through another broker a moment ago?
  const app = s.apps.get(id);
  if (app === undefined) throw new RequestError('not_found', 'app not found');
  return app;
}

/** Every app, newest first, as of now (on a shared store, including apps registered through other brokers). */
export async function listApps(s: Services): Promise<AppRow[]> {
  await s.sync();
  return s.apps.list();
}

/** Registers an app; its client secret is returned once and only its hash is kept. */
export async function registerApp(
  s: Services,
  caller: string,
  r: { name: string; scopes: string[]; tokenTtl: number | undefined },
): Promise<{ row: AppRow; clientSecret: string }> {
  if (s.apps.nameTaken(r.name)) throw new RequestError('conflict', `app name already exists: ${r.name}`);
  const secret = randomHex(32);
  const now = rfc3339Seconds();
  const row: AppRow = {
    ...s.apps.newIds(r.name),
    name: r.name,
    client_secret_hash: hashClientSecret(secret),
    scope_ceiling: r.scopes,
    token_ttl: r.tokenTtl ?? s.config.appTokenTtl,
    status: 'active',
    created_at: now,
    updated_at: now,
    created_by: caller,
    deregistered_at: null,
  };
  await s
    .begin()
    .change({ kind: 'app.put', row }, s.apps.put(row))
    .audit({
      event_type: 'app_registered',
      detail: `app=${row.name} client_id=${row.client_id} scopes=${goList(row.scope_ceiling)} token_ttl=${row.token_ttl}`,
      outcome: 'success',
    })
    .commit('failed to register app');
  return { row, clientSecret: secret };
}

/** Changes the scope ceiling and/or token TTL, validated beforehand, in one write. */
export async function updateApp(
  s: Services,
  caller: string,
  id: string,
  r: { scopes: string[] | undefined; tokenTtl: number | undefined },
): Promise<AppRow> {
  const app = await findApp(s, id);
  const row: AppRow = { ...app, updated_at: rfc3339Seconds() };
  const events: AuditInput[] = [];
  if (r.scopes !== undefined) {
    row.scope_ceiling = r.scopes;
    events.push({
      event_type: 'app_updated',
      detail: `app_id=${app.app_id} scopes=${goList(r.scopes)} updated_by=${caller}`,
      outcome: 'success',
    });
  }
  if (r.tokenTtl !== undefined) {
    row.token_ttl = r.tokenTtl;
    events.push({
      event_type: 'app_updated',
      detail: `app_id=${app.app_id} token_ttl=${app.token_ttl}->${r.tokenTtl} updated_by=${caller}`,
      outcome: 'success',
    });
  }
  await s
    .begin()
    .change({ kind: 'app.put', row }, s.apps.put(row))
    .audit(...events)
    .commit('failed to update app');
  return row;
}

/** Soft delete: the record stays, the app cannot authenticate, and its live app tokens stop working. */
export async function deregisterApp(s: Services, caller: string, id: string): Promise<AppRow> {
  const app = await findApp(s, id);
  const now = rfc3339Seconds();
  const row: AppRow = { ...app, status: 'inactive', updated_at: now, deregistered_at: app.deregistered_at ?? now };
  await s
    .begin()
    .change({ kind: 'app.put', row }, s.apps.put(row))
    .audit({
      event_type: 'app_deregistered',
      detail: `app_id=${app.app_id} name=${app.name} deregistered_by=${caller}`,
      outcome: 'success',
    })
    .commit('failed to deregister app');
  return row;
}
