/** `awrit audit events` — the audit trail, filtered and paged, oldest first. */
import { parseRfc3339 } from '../../platform/time.js';
import type { CommandSpec } from '../command.js';
import { int, objects, optStr, str } from '../decode.js';
import { EXIT } from '../errors.js';
import { formatJson, formatTable, truncate } from '../output.js';

const DETAIL_WIDTH = 60;

/** Flag name → query key; the query is sent with its keys in alphabetical order. */
const FILTERS = [
  ['agent-id', 'agent_id'],
  ['event-type', 'event_type'],
  ['limit', 'limit'],
  ['offset', 'offset'],
  ['outcome', 'outcome'],
  ['since', 'since'],
  ['task-id', 'task_id'],
  ['until', 'until'],
] as const;

export const auditEvents: CommandSpec = {
  path: ['audit', 'events'],
  summary: 'Query the audit trail',
  usage:
    'audit events [--event-type T] [--agent-id ID] [--task-id ID] [--outcome success|denied] [--since TIME] [--until TIME] [--limit N] [--offset N]',
  description:
    'Filters combine with AND. Times are RFC 3339 (2026-04-10T12:00:00Z); --since and --until are inclusive.',
  flags: [
    { name: 'event-type', kind: 'string', metavar: 'TYPE', help: 'filter by event type, e.g. token_revoked' },
    { name: 'agent-id', kind: 'string', metavar: 'ID', help: 'filter by agent SPIFFE ID' },
    { name: 'task-id', kind: 'string', metavar: 'ID', help: 'filter by task ID' },
    { name: 'outcome', kind: 'string', metavar: 'OUTCOME', help: 'filter by outcome: success or denied' },
    { name: 'since', kind: 'string', metavar: 'TIME', help: 'events at or after this time (RFC 3339)' },
    { name: 'until', kind: 'string', metavar: 'TIME', help: 'events at or before this time (RFC 3339)' },
    { name: 'limit', kind: 'string', metavar: 'N', help: 'max results, 1..1000 (default 100)' },
    { name: 'offset', kind: 'string', metavar: 'N', help: 'skip this many matching events (default 0)' },
  ],
  network: true,
  examples: [
    'awrit audit events --event-type token_revoked --since 2026-04-10T00:00:00Z',
    'awrit audit events --outcome denied --limit 1000 --json',
  ],
  async run(ctx) {
    const { args } = ctx;
    const numbers = new Map<string, number | undefined>([
      ['limit', args.int('limit', { min: 1, max: 1000 })],
      ['offset', args.int('offset', { min: 0 })],
    ]);
    const outcome = args.string('outcome');
    if (outcome !== undefined && outcome !== 'success' && outcome !== 'denied') {
      throw args.usage(`--outcome must be success or denied, got "${outcome}"`);
    }
    for (const flag of ['since', 'until']) {
      const v = args.string(flag);
      if (v !== undefined && parseRfc3339(v) === null) {
        throw args.usage(`--${flag} must be an RFC 3339 time such as 2026-04-10T12:00:00Z, got "${v}"`);
      }
    }
    const query = new URLSearchParams();
    for (const [flag, key] of FILTERS) {
      const v = numbers.has(flag) ? numbers.get(flag) : args.string(flag);
      if (v !== undefined) query.set(key, String(v));
    }
    const body = await ctx.admin().call('GET', '/v1/audit/events', { query });
    if (ctx.json) {
      ctx.io.stdout(formatJson(body));
      return EXIT.ok;
    }
    const events = objects(body, 'events');
    ctx.io.stdout(
      formatTable(
        ['ID', 'TIMESTAMP', 'EVENT TYPE', 'AGENT ID', 'OUTCOME', 'DETAIL'],
        events.map((e) => [
          str(e, 'id'),
          str(e, 'timestamp'),
          str(e, 'event_type'),
          optStr(e, 'agent_id'),
          optStr(e, 'outcome'),
          truncate(str(e, 'detail'), DETAIL_WIDTH),
        ]),
      ),
    );
    ctx.io.stderr(
      `Showing ${events.length} of ${int(body, 'total')} events (offset=${int(body, 'offset')}, limit=${int(body, 'limit')})\n`,
    );
    return EXIT.ok;
  },
};
