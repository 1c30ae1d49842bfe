/**
 * Registered apps. Names are unique and immutable; a deregistered app stays on record as
 * `inactive`, cannot authenticate, and its outstanding app tokens stop working on every route.
 */
import { randomHex } from '../crypto/secrets.js';
import type { AppRow } from '../store/store.js';

export const APP_NAME_RE = /^[a-z][a-z0-9](?:-?[a-z0-9]+)*$/;
export const APP_TTL_MIN = 60;
export const APP_TTL_MAX = 86_400;

/** `weather-bot` → `wb`; `a1-b2-c3-d4` → `abc`; `reporting` → `re`. */
export function clientIdPrefix(name: string): string {
  if (!name.includes('-')) return name.slice(0, 2);
  let out = '';
  for (const part of name.split('-')) {
    if (part !== '') out += part[0];
    if (out.length === 3) break;
  }
  return out;
}

export class Apps {
  private readonly byId = new Map<string, AppRow>();
  private readonly byClientId = new Map<string, AppRow>();
  private readonly byName = new Map<string, AppRow>();

  load(rows: readonly AppRow[]): void {
    for (const r of rows) this.index(r);
  }

  clear(): void {
    this.byId.clear();
    this.byClientId.clear();
    this.byName.clear();
  }

  private index(r: AppRow): void {
    this.byId.set(r.app_id, r);
    this.byClientId.set(r.client_id, r);
    this.byName.set(r.name, r);
  }

  get(appId: string): AppRow | undefined {
    return this.byId.get(appId);
  }

  byClient(clientId: string): AppRow | undefined {
    return this.byClientId.get(clientId);
  }

  nameTaken(name: string): boolean {
    return this.byName.has(name);
  }

  /** Newest first, as the reference lists them (created_at text, descending). */
  list(): AppRow[] {
    return [...this.byId.values()].sort((a, b) =>
      a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : 0,
    );
  }

  /** New identifiers; collisions (astronomically unlikely) are retried. */
  newIds(name: string): { app_id: string; client_id: string } {
    for (;;) {
      const app_id = `app-${name}-${randomHex(3)}`;
      const client_id = `${clientIdPrefix(name)}-${randomHex(6)}`;
      if (!this.byId.has(app_id) && !this.byClientId.has(client_id)) return { app_id, client_id };
    }
  }

  /** Inserts or replaces a row; returns how to restore the previous state. */
  put(row: AppRow): () => void {
    const previous = this.byId.get(row.app_id);
    this.index(row);
    return () => {
      this.byId.delete(row.app_id);
      this.byClientId.delete(row.client_id);
      this.byName.delete(row.name);
      if (previous !== undefined) this.index(previous);
    };
  }

  /** A row committed on a shared store, merged as the database merges it: deregistration is final. */
  merge(row: AppRow): void {
    const known = this.byId.get(row.app_id);
    if (known?.status === 'inactive') {
      this.put({ ...row, status: 'inactive', deregistered_at: known.deregistered_at ?? row.deregistered_at });
    } else this.put({ ...row });
  }

  /** App tokens (`sub` = `app:<id>`) are honoured only while their app is active. */
  isActiveAppSubject(sub: string): boolean {
    const app = this.byId.get(sub.slice(4));
    return app !== undefined && app.status === 'active';
  }
}

export function appJson(r: AppRow): Record<string, unknown> {
  return {
    app_id: r.app_id,
    name: r.name,
    client_id: r.client_id,
    scopes: r.scope_ceiling,
    token_ttl: r.token_ttl,
    status: r.status,
    created_at: toSeconds(r.created_at),
    updated_at: toSeconds(r.updated_at),
  };
}

/** Go-written rows carry RFC3339Nano; the API shows whole seconds. */
function toSeconds(ts: string): string {
  const dot = ts.indexOf('.');
  return dot === -1 ? ts : `${ts.slice(0, dot)}Z`;
}
