/** `awrit audit archive` — move events older than the broker's retention into archive segments now. */

import type { CommandSpec } from '../command.js';
import { bool, int, type Json, strings } from '../decode.js';
import { EXIT } from '../errors.js';
import { formatJson } from '../output.js';

export const auditArchive: CommandSpec = {
  path: ['audit', 'archive'],
  summary: 'Archive audit events older than the retention now',
  usage: 'audit archive',
  description:
    'Asks the broker to move every event older than AA_AUDIT_RETENTION out of the database into gzip JSONL\n' +
    'segments in AA_AUDIT_ARCHIVE_DIR, as its housekeeping does every minute (a long backlog takes several calls,\n' +
    'made until the broker says it is done). Refused (exit 1) when the broker has no retention configured.',
  flags: [],
  network: true,
  examples: ['awrit audit archive', 'awrit audit archive --json'],
  async run(ctx) {
    // Each call works for a bounded time; a backlog takes several.
    let archived = 0;
    const segments: string[] = [];
    let body: Json;
    do {
      body = await ctx.admin().call('POST', '/v1/admin/audit/archive');
      archived += int(body, 'archived');
      segments.push(...strings(body, 'segments'));
    } while (bool(body, 'more'));
    if (ctx.json) {
      ctx.io.stdout(formatJson({ ...body, archived, segments }));
      return EXIT.ok;
    }
    const through = body.archived_through as { id?: unknown } | null | undefined;
    const anchor = typeof through?.id === 'string' ? through.id : null;
    ctx.io.stdout(
      `archived ${archived} events into ${segments.length} segments` +
        (anchor === null ? '; nothing archived so far\n' : `; the database now starts after ${anchor}\n`),
    );
    return EXIT.ok;
  },
};
