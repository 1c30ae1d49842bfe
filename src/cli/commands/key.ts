/** `awrit key rotate|list` — the broker's signing keys and their rotation. */

import type { CommandContext, CommandSpec } from '../command.js';
import { int, type Json, objects, optStr, str } from '../decode.js';
import { EXIT, type ExitCode } from '../errors.js';
import { formatJson, formatTable } from '../output.js';

const HEADER = ['KID', 'STATE', 'CREATED', 'ROTATED', 'RETIRE_AT', 'RETIRED'];
const row = (k: Json): string[] => [
  str(k, 'kid'),
  str(k, 'state'),
  optStr(k, 'created_at'),
  optStr(k, 'rotated_at') || '-',
  optStr(k, 'retire_at') || '-',
  optStr(k, 'retired_at') || '-',
];

function output(ctx: CommandContext, body: Json, rows: Json[], trailer: string): ExitCode {
  if (ctx.json) {
    ctx.io.stdout(formatJson(body));
    return EXIT.ok;
  }
  ctx.io.stdout(formatTable(HEADER, rows.map(row)));
  ctx.io.stderr(trailer);
  return EXIT.ok;
}

const rotate: CommandSpec = {
  path: ['key', 'rotate'],
  summary: 'Start signing with a new key; the previous one verifies until its tokens expire',
  usage: 'key rotate [--revoke-previous]',
  description:
    'The new key signs every token from now on and is published in the JWKS at once. The previous key keeps\n' +
    'verifying the tokens it signed until they have all expired (at most AA_MAX_TTL), then retires.\n' +
    'With --revoke-previous every earlier key is retired immediately: after a suspected key compromise, every\n' +
    'token they signed stops working at once, including admin, app and agent tokens in use.',
  flags: [
    {
      name: 'revoke-previous',
      kind: 'boolean',
      help: 'retire every earlier key now; their tokens stop working at once',
    },
  ],
  network: true,
  examples: ['awrit key rotate', 'awrit key rotate --revoke-previous', "awrit key rotate --json | jq -r '.kid'"],
  async run(ctx) {
    const revokePrevious = ctx.args.bool('revoke-previous');
    const body = await ctx.admin().call('POST', '/v1/admin/keys/rotate', {
      body: revokePrevious ? { revoke_previous: true } : {},
    });
    const active: Json = { kid: str(body, 'kid'), state: 'active', created_at: optStr(body, 'created_at') };
    const trailer = revokePrevious
      ? 'Every earlier key is retired: tokens they signed no longer verify.\n'
      : 'Tokens signed by a retiring key keep verifying until RETIRE_AT.\n';
    return output(ctx, body, [active, ...objects(body, 'previous')], trailer);
  },
};

const list: CommandSpec = {
  path: ['key', 'list'],
  summary: 'List the signing keys with their states: active, retiring, retired',
  usage: 'key list',
  flags: [],
  network: true,
  examples: ['awrit key list', 'awrit key list --json | jq -r \'.keys[] | select(.state != "retired") | .kid\''],
  async run(ctx) {
    const body = await ctx.admin().call('GET', '/v1/admin/keys');
    return output(ctx, body, objects(body, 'keys'), `Total: ${int(body, 'total')}\n`);
  },
};

export const keyCommands: readonly CommandSpec[] = [rotate, list];
