/** `awrit revoke` — kill tokens at one of four levels. */

import type { CommandSpec } from '../command.js';
import { bool, int, str } from '../decode.js';
import { EXIT } from '../errors.js';
import { formatJson, formatTable } from '../output.js';

const LEVELS = ['token', 'agent', 'task', 'chain'] as const;

export const revoke: CommandSpec = {
  path: ['revoke'],
  summary: 'Revoke tokens by token id, agent, task or delegation chain',
  usage: 'revoke --level token|agent|task|chain --target TARGET',
  description:
    'Levels: token = one token (its jti); agent = every token of an agent (its SPIFFE ID); task = every token\n' +
    'carrying the task id; chain = every token delegated from the given root agent. Agent, task and chain\n' +
    'revocations of agents are permanent.',
  flags: [
    { name: 'level', kind: 'string', metavar: 'LEVEL', help: 'revocation level: token|agent|task|chain (required)' },
    {
      name: 'target',
      kind: 'string',
      metavar: 'TARGET',
      help: 'revocation target: jti, SPIFFE ID, task id or root agent (required)',
    },
  ],
  network: true,
  examples: [
    'awrit revoke --level agent --target spiffe://agentwrit.local/agent/orch-1/task-1/a1b2c3',
    'awrit revoke --level task --target task-1',
  ],
  async run(ctx) {
    const level = ctx.args.required('level');
    const target = ctx.args.required('target');
    if (!(LEVELS as readonly string[]).includes(level)) {
      throw ctx.args.usage(`--level must be one of ${LEVELS.join(', ')}, got "${level}"`);
    }
    const body = await ctx.admin().call('POST', '/v1/revoke', { body: { level, target } });
    if (ctx.json) {
      ctx.io.stdout(formatJson(body));
      return EXIT.ok;
    }
    ctx.io.stdout(
      formatTable(
        ['REVOKED', 'LEVEL', 'TARGET', 'COUNT'],
        [[String(bool(body, 'revoked')), str(body, 'level'), str(body, 'target'), String(int(body, 'count'))]],
      ),
    );
    return EXIT.ok;
  },
};
