/** `awrit audit verify` — recompute the audit trail's hash chain: the database part, or the archives and the database. */
import { listSegments, readSegment } from '../../services/audit-segments.js';
import { auditId } from '../../store/audit-chain.js';
import type { AdminApi } from '../admin.js';
import { type ChainBreak, ChainVerifier, describeBreak } from '../chain.js';
import type { CommandSpec } from '../command.js';
import { int, type Json, objects } from '../decode.js';
import { EXIT, UsageError } from '../errors.js';
import { formatJson, printable } from '../output.js';

const PAGE = 1000;

interface Located {
  brk: ChainBreak;
  /** `archive segment <name>, line <n>` or `database`. */
  where: string;
}

interface Anchor {
  seq: number;
  id: string;
  hash: string;
}

function anchorOf(page: Json): Anchor | null {
  const a = page.archived_through;
  if (typeof a !== 'object' || a === null) return null;
  const { id, hash } = a as Json;
  if (typeof id !== 'string' || typeof hash !== 'string' || !/^evt-\d{1,15}$/.test(id)) return null;
  return { seq: Number(id.slice(4)), id, hash };
}

/** Reads every archive segment in chain order into `chain`; returns the first break, if any. */
async function verifyArchive(dir: string, chain: ChainVerifier): Promise<{ segments: number; broken: Located | null }> {
  let segments;
  try {
    segments = await listSegments(dir);
  } catch (err) {
    throw new UsageError(`cannot read the archive directory ${dir}: ${(err as Error).message}`);
  }
  for (const seg of segments) {
    let lines;
    try {
      lines = await readSegment(seg.path);
    } catch (err) {
      const brk: ChainBreak = {
        at: seg.name,
        field: 'event',
        expected: 'a gzip JSONL segment',
        found: (err as Error).message,
      };
      return { segments: segments.length, broken: { brk, where: `archive segment ${seg.name}` } };
    }
    for (const [i, line] of lines.entries()) {
      const brk =
        typeof line === 'string'
          ? {
              at: auditId(chain.seq + 1),
              field: 'event' as const,
              expected: 'a JSON object',
              found: 'a line that is not one',
            }
          : chain.add(line);
      if (brk !== null)
        return { segments: segments.length, broken: { brk, where: `archive segment ${seg.name}, line ${i + 1}` } };
    }
  }
  return { segments: segments.length, broken: null };
}

/** Pages through the database part; `first` is the first page, already fetched. */
async function verifyDatabase(
  api: AdminApi,
  first: Json,
  chain: ChainVerifier,
): Promise<{ events: number; broken: Located | null }> {
  let page = first;
  let events = 0;
  for (let offset = 0; ; ) {
    const batch = objects(page, 'events');
    for (const e of batch) {
      const id = typeof e.id === 'string' && /^evt-\d{1,15}$/.test(e.id) ? Number(e.id.slice(4)) : null;
      // Events both archived and still in the database (an archive run that had not finished): they must match.
      if (id !== null && id <= chain.seq) {
        if (id === chain.seq && e.hash !== chain.head) {
          const brk: ChainBreak = { at: e.id as string, field: 'hash', expected: chain.head, found: String(e.hash) };
          return { events, broken: { brk, where: 'database' } };
        }
        continue;
      }
      const brk = chain.add(e);
      if (brk !== null) return { events, broken: { brk, where: 'database' } };
      events++;
    }
    offset += batch.length;
    if (batch.length === 0 || offset >= int(page, 'total')) return { events, broken: null };
    page = await api.call('GET', '/v1/audit/events', {
      query: new URLSearchParams({ limit: String(PAGE), offset: String(offset) }),
    });
  }
}

export const auditVerify: CommandSpec = {
  path: ['audit', 'verify'],
  summary: "Recompute the audit trail's hash chain and report the first broken link",
  usage: 'audit verify [--archive DIR]',
  description:
    'Pages through every event in the database (oldest first), recomputes each hash and checks that each event\n' +
    'links to the one before it, starting at the genesis hash, or, once old events were archived, at the archive\n' +
    'anchor (the last archived event) the broker reports. With --archive DIR it first reads the archive segments in\n' +
    'DIR (a copy of AA_AUDIT_ARCHIVE_DIR) from the genesis, then the database, and checks the whole history end to\n' +
    'end. Exits 0 when the chain is intact and 1 at the first broken link (an altered event, a missing or reordered\n' +
    'segment). Record the printed head hash somewhere else: a later run whose chain no longer contains it means\n' +
    'history was rewritten.',
  flags: [
    {
      name: 'archive',
      kind: 'string',
      metavar: 'DIR',
      help: 'also verify the archive segments in DIR, from the genesis',
    },
  ],
  network: true,
  examples: ['awrit audit verify', 'awrit audit verify --archive /var/lib/agentwrit/audit-archive --json'],
  async run(ctx) {
    const dir = ctx.args.string('archive');
    const api = ctx.admin();
    const first = await api.call('GET', '/v1/audit/events', {
      query: new URLSearchParams({ limit: String(PAGE), offset: '0' }),
    });
    const anchor = anchorOf(first);
    let chain: ChainVerifier;
    let broken: Located | null = null;
    let segments = 0;
    if (dir === undefined) {
      chain = new ChainVerifier(anchor === null ? undefined : { seq: anchor.seq, hash: anchor.hash });
    } else {
      chain = new ChainVerifier();
      ({ segments, broken } = await verifyArchive(dir, chain));
      if (broken === null && anchor !== null) {
        if (chain.seq < anchor.seq) {
          const brk: ChainBreak = {
            at: anchor.id,
            field: 'id',
            expected: auditId(chain.seq + 1),
            found: `the end of the archive at ${auditId(chain.seq)}`,
          };
          broken = { brk, where: 'archive (segments missing at the end)' };
        } else if (chain.seq === anchor.seq && chain.head !== anchor.hash) {
          broken = {
            brk: { at: anchor.id, field: 'hash', expected: anchor.hash, found: chain.head },
            where: 'archive anchor',
          };
        }
      }
    }
    const archived = chain.count;
    let inDatabase = 0;
    if (broken === null) ({ events: inDatabase, broken } = await verifyDatabase(api, first, chain));
    const from = dir === undefined && anchor !== null ? anchor.id : 'genesis';
    if (broken === null) {
      if (ctx.json) {
        ctx.io.stdout(
          formatJson({
            intact: true,
            verified: chain.count,
            head: chain.head,
            from,
            ...(dir === undefined ? {} : { archived, segments, database: inDatabase }),
          }),
        );
      } else if (dir !== undefined) {
        ctx.io.stdout(
          `verified ${chain.count} events from the genesis (${archived} in ${segments} archive segments, ${inDatabase} in the database); chain intact (head ${chain.head})\n`,
        );
      } else if (anchor !== null) {
        ctx.io.stdout(
          `verified ${chain.count} events in the database from the archive anchor ${anchor.id} (earlier events are archived; check them with --archive DIR); chain intact (head ${chain.head})\n`,
        );
      } else {
        ctx.io.stdout(`verified ${chain.count} events; chain intact (head ${chain.head})\n`);
      }
      return EXIT.ok;
    }
    const b = broken.brk;
    ctx.io.stdout(
      ctx.json
        ? formatJson({
            intact: false,
            verified: chain.count,
            from,
            broken_at: b.at,
            field: b.field,
            expected: b.expected,
            found: b.found,
            where: broken.where,
          })
        : `${printable(describeBreak(b))}${broken.where === 'database' ? '' : ` [${broken.where}]`}\n`,
    );
    return EXIT.refused;
  },
};
