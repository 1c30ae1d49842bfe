/** Reading the audit trail: filtered, paged, oldest first. */
import { RequestError } from '../../errors.js';
import type { AuditFilter } from '../../store/store.js';
import { auditEventJson } from '../audit.js';
import type { Services } from '../services.js';

export type { AuditFilter } from '../../store/store.js';

export async function queryAuditEvents(s: Services, filter: AuditFilter): Promise<{ events: Record<string, unknown>[]; total: number }> {
  try {
    const page = await s.store.queryAudit(filter);
    return { events: page.events.map(auditEventJson), total: page.total };
  } catch (err) {
    throw new RequestError('internal_error', 'failed to query audit events', { cause: err });
  }
}
