/** GET /v1/audit/events — the trail, filtered and paged, oldest first. */
import { auditEventJson } from '../services/audit.js';
import type { Services } from '../services/services.js';
import type { AuditFilter } from '../store/store.js';
import type { Handler } from '../transport/pipeline.js';
import { HttpError } from '../transport/problem.js';
import { parseRfc3339 } from '../services/time.js';

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;

export function auditEvents(s: Services): Handler {
  return async (ctx) => {
    const q = new URLSearchParams(ctx.query);
    const filter: AuditFilter = { limit: DEFAULT_LIMIT, offset: 0 };
    for (const key of ['agent_id', 'task_id', 'event_type', 'outcome'] as const) {
      const v = q.get(key);
      if (v !== null && v !== '') filter[key] = v;
    }
    for (const key of ['since', 'until'] as const) {
      const v = q.get(key);
      if (v === null || v === '') continue;
      const t = parseRfc3339(v);
      if (t === null) throw new HttpError('invalid_request', `invalid ${key}: use RFC 3339, e.g. 2026-01-02T15:04:05Z`);
      filter[key] = t;
    }
    const limit = q.get('limit');
    if (limit !== null && limit !== '') {
      if (!/^[+-]?\d{1,15}$/.test(limit)) throw new HttpError('invalid_request', 'invalid limit: must be an integer');
      filter.limit = Math.min(MAX_LIMIT, Math.max(1, Number(limit)));
    }
    const offset = q.get('offset');
    if (offset !== null && offset !== '') {
      if (!/^[+-]?\d{1,15}$/.test(offset) || Number(offset) < 0) {
        throw new HttpError('invalid_request', 'invalid offset: must be a non-negative integer');
      }
      filter.offset = Number(offset);
    }
    let page;
    try {
      page = await s.store.queryAudit(filter);
    } catch (err) {
      throw new HttpError('internal_error', 'failed to query audit events', { cause: err });
    }
    return {
      status: 200,
      json: { events: page.events.map(auditEventJson), total: page.total, offset: filter.offset, limit: filter.limit },
    };
  };
}
