/**
 * Admin calls. The secret comes only from AACTL_ADMIN_SECRET, is sent once per process to /v1/admin/auth, and
 * only the short-lived admin JWT is used after that; neither is ever written anywhere.
 */
import type { BrokerClient, SendOptions } from './client.js';
import type { Json } from './decode.js';
import { str } from './decode.js';
import { UsageError } from './errors.js';
import { jsonObject } from './response.js';
import type { Env } from './spec.js';

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i;

export class AdminApi {
  private token: Promise<string> | undefined;

  constructor(
    private readonly client: BrokerClient,
    private readonly env: Env,
    private readonly warn: (line: string) => void,
  ) {}

  private secret(): string {
    const secret = this.env.AACTL_ADMIN_SECRET;
    if (secret === undefined || secret === '') {
      throw new UsageError(
        'AACTL_ADMIN_SECRET is not set (export it from your secrets manager; awrit init prints one)',
      );
    }
    return secret;
  }

  private async authenticate(): Promise<string> {
    const secret = this.secret();
    const { base } = this.client.conn;
    if (base.protocol === 'http:' && !LOOPBACK.test(base.hostname)) {
      this.warn(`awrit: warning: sending the admin secret over plain http to ${base.hostname}; use https://`);
    }
    const res = await this.client.send('POST', '/v1/admin/auth', { body: { secret } });
    return str(jsonObject(res, 'admin authentication'), 'access_token');
  }

  /** One authenticated request; a 2xx JSON object or a thrown refusal. */
  async call(method: string, path: string, opts: Omit<SendOptions, 'bearer'> = {}): Promise<Json> {
    this.token ??= this.authenticate();
    const bearer = await this.token;
    return jsonObject(await this.client.send(method, path, { ...opts, bearer }));
  }
}
