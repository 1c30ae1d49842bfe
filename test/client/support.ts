/** A real broker with one registered app, for the SDK tests. */
import type { TestContext } from 'node:test';
import { type StartOptions, startTestBroker, type TestBroker } from '../helpers/broker.js';

export interface BrokerWithApp {
  b: TestBroker;
  clientId: string;
  clientSecret: string;
  appId: string;
}

export async function createApp(
  b: TestBroker,
  name: string,
  opts: { scopes?: string[]; tokenTtl?: number } = {},
): Promise<Omit<BrokerWithApp, 'b'>> {
  const admin = await b.adminToken();
  const r = await b.req('/v1/admin/apps', {
    token: admin,
    body: { name, scopes: opts.scopes ?? ['read:data:*', 'write:data:*'], token_ttl: opts.tokenTtl ?? 1800 },
  });
  if (r.status !== 201) throw new Error(`app creation failed: ${r.status} ${r.text}`);
  return { clientId: r.json.client_id, clientSecret: r.json.client_secret, appId: r.json.app_id };
}

export async function brokerWithApp(
  t: TestContext | null,
  opts: StartOptions & { tokenTtl?: number } = {},
): Promise<BrokerWithApp> {
  const b = await startTestBroker(t, opts);
  return { b, ...(await createApp(b, 'sdk-app', { tokenTtl: opts.tokenTtl })) };
}

/** How many audit events of one type the broker recorded. */
export async function auditCount(b: TestBroker, eventType: string): Promise<number> {
  const r = await b.req(`/v1/audit/events?event_type=${eventType}&limit=1`, { token: await b.adminToken() });
  if (r.status !== 200) throw new Error(`audit query failed: ${r.status}`);
  return r.json.total as number;
}
