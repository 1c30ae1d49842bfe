/** GET /v1/audit/events — the trail, filtered and paged, oldest first. */
import { LIMITS } from '../config/limits.js';
import { RequestError } from '../errors.js';
import { parseRfc3339 } from '../platform/time.js';
import { type AuditFilter, archiveAuditEvents, queryAuditEvents } from '../services/operations/audit.js';
import type { Services } from '../services/services.js';
import type { AuthedHandler } from './guard.js';

export function auditEvents(s: Services): AuthedHandler {
  return async (ctx) => {
    const q = new URLSearchParams(ctx.query);
    const filter: AuditFilter = { limit: LIMITS.auditPageDefault, offset: 0 };
    for (const key of ['agent_id', 'task_id', 'event_type', 'outcome'] as const) {
      const v = q.get(key);
      if (v !== null && v !== '') filter[key] = v;
    }
    for (const key of ['since', 'until'] as const) {
      const v = q.get(key);
      if (v === null || v === '') continue;
      const t = parseRfc3339(v);
      if (t === null)
        throw new RequestError('invalid_request', `invalid ${key}: use RFC 3339, e.g. 2026-01-02T15:04:05Z`);
      filter[key] = t;
    }
    const limit = q.get('limit');
    if (limit !== null && limit !== '') {
      if (!/^[+-]?\d{1,15}$/.test(limit))
        throw new RequestError('invalid_request', 'invalid limit: must be an integer');
      filter.limit = Math.min(LIMITS.auditPageMax, Math.max(1, Number(limit)));
    }
    const offset = q.get('offset');
    if (offset !== null && offset !== '') {
      if (!/^[+-]?\d{1,15}$/.test(offset) || Number(offset) < 0) {
        throw new RequestError('invalid_request', 'invalid offset: must be a non-negative integer');
      }
      filter.offset = Number(offset);
    }
    const { events, total, archivedThrough } = await queryAuditEvents(s, filter);
    const json: Record<string, unknown> = { events, total, offset: filter.offset, limit: filter.limit };
    // Only once events were archived: the database part of the chain then starts after this event.
    if (archivedThrough !== null) json.archived_through = archivedThrough;
    return { status: 200, json };
  };
}

/** POST /v1/admin/audit/archive — move events older than the retention into archive segments now. */
export function archiveAudit(s: Services): AuthedHandler {
  return async () => {
    const r = await archiveAuditEvents(s);
    return {
      status: 200,
      json: { archived: r.archived, segments: r.segments, archived_through: r.archivedThrough, more: r.more },
    };
  };
}
