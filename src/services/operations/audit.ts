/** Reading the audit trail (filtered, paged, oldest first) and moving its old part into the archive. */
import { RequestError } from '../../errors.js';
import type { AuditAnchor, AuditFilter } from '../../store/store.js';
import { auditEventJson } from '../audit.js';
import type { Services } from '../services.js';

export type { AuditFilter } from '../../store/store.js';

/** Where the database part of the chain starts when older events were archived. */
export interface ArchivedThrough {
  id: string;
  hash: string;
}

const through = (a: AuditAnchor | null): ArchivedThrough | null => (a === null ? null : { id: a.id, hash: a.hash });

export async function queryAuditEvents(
  s: Services,
  filter: AuditFilter,
): Promise<{ events: Record<string, unknown>[]; total: number; archivedThrough: ArchivedThrough | null }> {
  try {
    const page = await s.store.queryAudit(filter);
    return { events: page.events.map(auditEventJson), total: page.total, archivedThrough: through(s.audit.anchor) };
  } catch (err) {
    throw new RequestError('internal_error', 'failed to query audit events', { cause: err });
  }
}

export interface ArchiveOutcome {
  archived: number;
  segments: string[];
  archivedThrough: ArchivedThrough | null;
  more: boolean;
}

/** Moves events older than the retention into archive segments now, for at most one run's time budget. */
export async function archiveAuditEvents(s: Services): Promise<ArchiveOutcome> {
  if (s.archiver === null) {
    throw new RequestError('conflict', 'audit retention is not configured (AA_AUDIT_RETENTION, AA_AUDIT_ARCHIVE_DIR)');
  }
  try {
    const r = await s.archiver.run();
    if (r.archived > 0) s.metrics.auditEventsArchived.inc(r.archived);
    return { archived: r.archived, segments: r.segments, archivedThrough: through(r.anchor), more: r.more };
  } catch (err) {
    s.logger.fail('BROKER', 'audit', 'audit archive run failed', `error=${(err as Error).message}`);
    throw new RequestError('internal_error', 'failed to archive audit events', { cause: err });
  }
}
