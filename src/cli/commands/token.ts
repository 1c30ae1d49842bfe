/** `awrit token release` — a token gives itself up (no admin secret involved). */
import { readFileSync } from 'node:fs';
import type { CommandSpec } from '../command.js';
import { EXIT } from '../errors.js';
import { formatJson } from '../output.js';
import { isSuccess, refusal } from '../response.js';

/** `-` reads the token from stdin, which keeps it out of the process list and shell history. */
function tokenValue(flag: string): string {
  return flag === '-' ? readFileSync(0, 'utf8').trim() : flag;
}

export const tokenRelease: CommandSpec = {
  path: ['token', 'release'],
  summary: 'Release (revoke) a token using the token itself',
  usage: 'token release --token JWT|-',
  description:
    'Needs AACTL_BROKER_URL only. Releasing a token that was already released succeeds again. Use --token - to\n' +
    'read the token from stdin instead of the command line.',
  flags: [
    {
      name: 'token',
      kind: 'string',
      metavar: 'JWT',
      help: 'the agent JWT to release, or - to read it from stdin (required)',
    },
  ],
  network: true,
  examples: ['awrit token release --token - < agent.jwt'],
  async run(ctx) {
    const token = tokenValue(ctx.args.required('token'));
    if (token === '') throw ctx.args.usage('--token is empty');
    if (/\s/.test(token)) throw ctx.args.usage('--token must be a single JWT without spaces');
    const res = await ctx.broker().send('POST', '/v1/token/release', { bearer: token });
    // A broker that reports an earlier release as 403 "revoked" (documented reference behaviour) means the same thing.
    const already = res.status === 403 && res.body.includes('revoked');
    if (!isSuccess(res) && !already) throw refusal(res);
    if (ctx.json) {
      ctx.io.stdout(formatJson({ released: true, ...(already ? { already_released: true } : {}) }));
    } else {
      ctx.io.stdout(already ? 'Token already released (revoked).\n' : 'Token released successfully.\n');
    }
    return EXIT.ok;
  },
};
