/** `awrit audit verify` — fetch the whole trail and recompute its hash chain. */
import { describeBreak, type ChainBreak, ChainVerifier } from '../chain.js';
import { int, objects } from '../decode.js';
import { EXIT } from '../errors.js';
import { formatJson, printable } from '../output.js';
import type { CommandSpec } from '../command.js';

const PAGE = 1000;

export const auditVerify: CommandSpec = {
  path: ['audit', 'verify'],
  summary: "Recompute the audit trail's hash chain and report the first broken link",
  usage: 'audit verify',
  description:
    'Pages through every event (oldest first), recomputes each hash and checks that each event links to the one\n' +
    'before it, starting at the genesis hash. Exits 0 when the chain is intact and 1 at the first broken link.\n' +
    'Record the printed head hash somewhere else: a later run whose chain no longer contains it means history\n' +
    'was rewritten.',
  flags: [],
  network: true,
  examples: ['awrit audit verify', 'awrit audit verify --json'],
  async run(ctx) {
    const api = ctx.admin();
    const chain = new ChainVerifier();
    let broken: ChainBreak | null = null;
    for (let offset = 0; broken === null; ) {
      const query = new URLSearchParams({ limit: String(PAGE), offset: String(offset) });
      const page = await api.call('GET', '/v1/audit/events', { query });
      const events = objects(page, 'events');
      for (const e of events) {
        broken = chain.add(e);
        if (broken !== null) break;
      }
      offset += events.length;
      if (events.length === 0 || offset >= int(page, 'total')) break;
    }
    if (broken === null) {
      ctx.io.stdout(
        ctx.json
          ? formatJson({ intact: true, verified: chain.count, head: chain.head })
          : `verified ${chain.count} events; chain intact (head ${chain.head})\n`,
      );
      return EXIT.ok;
    }
    ctx.io.stdout(
      ctx.json
        ? formatJson({ intact: false, verified: chain.count, broken_at: broken.at, field: broken.field, expected: broken.expected, found: broken.found })
        : `${printable(describeBreak(broken))}\n`,
    );
    return EXIT.refused;
  },
};
