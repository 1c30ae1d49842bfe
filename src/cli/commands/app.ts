/** `awrit app register|list|get|update|remove` — the apps (client credentials with a scope ceiling). */
import type { ParsedArgs } from '../args.js';
import type { CommandContext, CommandSpec } from '../command.js';
import { int, type Json, objects, optStr, str, strings } from '../decode.js';
import { EXIT } from '../errors.js';
import { formatJson, formatTable } from '../output.js';

/** One path segment; `.` and `..` are escaped too, so an id can never walk the URL path. */
export function segment(id: string): string {
  const encoded = encodeURIComponent(id);
  return encoded === '.' || encoded === '..' ? encoded.replace(/\./g, '%2E') : encoded;
}

function parseScopes(args: ParsedArgs, value: string): string[] {
  const scopes = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (scopes.length === 0) throw args.usage('--scopes needs at least one scope, e.g. read:data:*');
  return scopes;
}

const ttl = (o: Json): string => `${int(o, 'token_ttl')}s`;

function output(ctx: CommandContext, body: Json, table: () => string, trailer?: string): typeof EXIT.ok {
  if (ctx.json) {
    ctx.io.stdout(formatJson(body));
    return EXIT.ok;
  }
  ctx.io.stdout(table());
  if (trailer !== undefined) ctx.io.stderr(trailer);
  return EXIT.ok;
}

const register: CommandSpec = {
  path: ['app', 'register'],
  summary: 'Register an app and print its client credentials (the secret is shown only once)',
  usage: 'app register --name NAME --scopes CSV [--token-ttl N]',
  flags: [
    { name: 'name', kind: 'string', metavar: 'NAME', help: 'app name (required; lowercase letters, digits, hyphens)' },
    { name: 'scopes', kind: 'string', metavar: 'CSV', help: 'comma-separated scope ceiling (required)' },
    {
      name: 'token-ttl',
      kind: 'string',
      metavar: 'N',
      help: 'app JWT TTL in seconds (default: global AA_APP_TOKEN_TTL)',
    },
  ],
  network: true,
  examples: ["awrit app register --name weather-bot --scopes 'read:weather:*,write:weather:alerts' --token-ttl 600"],
  async run(ctx) {
    const name = ctx.args.required('name');
    const scopes = parseScopes(ctx.args, ctx.args.required('scopes'));
    const tokenTtl = ctx.args.int('token-ttl');
    const body = await ctx.admin().call('POST', '/v1/admin/apps', {
      body: { name, scopes, ...(tokenTtl === undefined ? {} : { token_ttl: tokenTtl }) },
    });
    return output(
      ctx,
      body,
      () =>
        formatTable(
          ['FIELD', 'VALUE'],
          [
            ['APP_ID', str(body, 'app_id')],
            ['CLIENT_ID', str(body, 'client_id')],
            ['CLIENT_SECRET', str(body, 'client_secret')],
            ['SCOPES', strings(body, 'scopes').join(', ')],
            ['TOKEN_TTL', ttl(body)],
          ],
        ),
      '\nWARNING: Save the client_secret — it cannot be retrieved again.\n',
    );
  },
};

const list: CommandSpec = {
  path: ['app', 'list'],
  summary: 'List every app, deregistered ones included',
  usage: 'app list',
  flags: [],
  network: true,
  examples: ['awrit app list', "awrit app list --json | jq -r '.apps[].app_id'"],
  async run(ctx) {
    const body = await ctx.admin().call('GET', '/v1/admin/apps');
    const apps = objects(body, 'apps');
    return output(
      ctx,
      body,
      () =>
        formatTable(
          ['NAME', 'APP_ID', 'CLIENT_ID', 'STATUS', 'SCOPES', 'TOKEN_TTL', 'CREATED'],
          apps.map((a) => [
            str(a, 'name'),
            str(a, 'app_id'),
            str(a, 'client_id'),
            str(a, 'status'),
            strings(a, 'scopes').join(','),
            ttl(a),
            optStr(a, 'created_at'),
          ]),
        ),
      `Total: ${int(body, 'total')}\n`,
    );
  },
};

const get: CommandSpec = {
  path: ['app', 'get'],
  summary: 'Show one app',
  usage: 'app get APP_ID',
  flags: [],
  positionals: [{ name: 'APP_ID', help: 'the app id, e.g. app-weather-bot-1a2b3c' }],
  network: true,
  examples: ['awrit app get app-weather-bot-1a2b3c'],
  async run(ctx) {
    const id = ctx.args.positionals[0] ?? '';
    const body = await ctx.admin().call('GET', `/v1/admin/apps/${segment(id)}`);
    return output(ctx, body, () =>
      formatTable(
        ['FIELD', 'VALUE'],
        [
          ['APP_ID', str(body, 'app_id')],
          ['NAME', str(body, 'name')],
          ['CLIENT_ID', str(body, 'client_id')],
          ['STATUS', str(body, 'status')],
          ['SCOPES', strings(body, 'scopes').join(', ')],
          ['TOKEN_TTL', ttl(body)],
          ['CREATED', optStr(body, 'created_at')],
          ['UPDATED', optStr(body, 'updated_at')],
        ],
      ),
    );
  },
};

const update: CommandSpec = {
  path: ['app', 'update'],
  summary: "Replace an app's scope ceiling and/or change its token TTL",
  usage: 'app update --id ID [--scopes CSV] [--token-ttl N]',
  description: 'Give at least one of --scopes and --token-ttl. New scopes replace the old ceiling entirely.',
  flags: [
    { name: 'id', kind: 'string', metavar: 'ID', help: 'app ID to update (required)' },
    { name: 'scopes', kind: 'string', metavar: 'CSV', help: 'comma-separated new scope ceiling' },
    { name: 'token-ttl', kind: 'string', metavar: 'N', help: 'new app JWT TTL in seconds' },
  ],
  network: true,
  examples: ["awrit app update --id app-weather-bot-1a2b3c --scopes 'read:weather:*' --token-ttl 900"],
  async run(ctx) {
    const id = ctx.args.required('id');
    const scopesFlag = ctx.args.string('scopes');
    const tokenTtl = ctx.args.int('token-ttl');
    if (scopesFlag === undefined && tokenTtl === undefined) {
      throw ctx.args.usage('at least one of --scopes or --token-ttl is required');
    }
    const change: { scopes?: string[]; token_ttl?: number } = {};
    if (scopesFlag !== undefined) change.scopes = parseScopes(ctx.args, scopesFlag);
    if (tokenTtl !== undefined) change.token_ttl = tokenTtl;
    const body = await ctx.admin().call('PUT', `/v1/admin/apps/${segment(id)}`, { body: change });
    return output(ctx, body, () =>
      formatTable(
        ['APP_ID', 'SCOPES', 'TOKEN_TTL', 'UPDATED_AT'],
        [[str(body, 'app_id'), strings(body, 'scopes').join(', '), ttl(body), optStr(body, 'updated_at')]],
      ),
    );
  },
};

const remove: CommandSpec = {
  path: ['app', 'remove'],
  summary: 'Deregister an app: it can no longer authenticate and its live app tokens stop working',
  usage: 'app remove --id ID',
  flags: [{ name: 'id', kind: 'string', metavar: 'ID', help: 'app ID to deregister (required)' }],
  network: true,
  examples: ['awrit app remove --id app-weather-bot-1a2b3c'],
  async run(ctx) {
    const id = ctx.args.required('id');
    const body = await ctx.admin().call('DELETE', `/v1/admin/apps/${segment(id)}`);
    return output(
      ctx,
      body,
      () =>
        formatTable(
          ['APP_ID', 'STATUS', 'DEREGISTERED_AT'],
          [[str(body, 'app_id'), str(body, 'status'), optStr(body, 'deregistered_at')]],
        ),
      'App deregistered. The record is retained; credentials are revoked.\n',
    );
  },
};

export const appCommands: readonly CommandSpec[] = [register, list, get, update, remove];
