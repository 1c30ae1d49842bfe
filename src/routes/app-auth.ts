/**
 * POST /v1/app/auth — client credentials for an app token. The bucket is keyed by client_id *and* address, so
 * a flood aimed at one app cannot lock it out from its own address; an unknown client_id costs the same work as
 * a wrong secret.
 */
import { clientSecretNeedsRehash, DUMMY_CLIENT_SECRET_HASH, hashClientSecret, verifyClientSecret } from '../crypto/secrets.js';
import { issueToken, persist, persistDenial, type Services } from '../services/services.js';
import type { Mutation } from '../store/store.js';
import type { Handler } from '../transport/pipeline.js';
import { DecodeError, parseJsonBody, pickFields } from '../transport/json.js';
import { rateLimitKey } from '../transport/client-ip.js';
import { HttpError } from '../transport/problem.js';
import { checkLengths } from './body.js';

export const APP_SCOPES = ['app:launch-tokens:*', 'app:agents:*', 'app:audit:read'];

export function appAuth(s: Services): Handler {
  return async (ctx) => {
    // Decode first: the bucket must be keyed by the client_id that is then authenticated (the last of duplicates).
    let b: { client_id?: string; client_secret?: string } | undefined;
    let decodeError: unknown;
    try {
      b = pickFields(parseJsonBody(ctx.body), { client_id: 'string', client_secret: 'string' });
    } catch (err) {
      decodeError = err;
    }
    if (!s.appAuthLimiter.take(`${(b?.client_id ?? '').slice(0, 256)}|${rateLimitKey(ctx.clientIp)}`)) {
      throw new HttpError('rate_limited', 'rate limit exceeded, try again later', { headers: { 'Retry-After': '60' } });
    }
    if (b === undefined) {
      if (decodeError instanceof DecodeError) throw new HttpError('invalid_request', 'malformed JSON body', { cause: decodeError });
      throw decodeError;
    }
    if (!b.client_id || !b.client_secret) throw new HttpError('invalid_request', 'client_id and client_secret are required');
    checkLengths({ client_id: b.client_id, client_secret: b.client_secret });
    const clientId = b.client_id;
    const deny = async (reason: string): Promise<never> => {
      await persistDenial(s, { event_type: 'app_auth_failed', detail: `client_id=${clientId} reason=${reason}`, outcome: 'denied' });
      throw new HttpError('unauthorized', 'Authentication failed');
    };

    const checked = s.apps.byClient(clientId);
    const good = await verifyClientSecret(b.client_secret, checked?.client_secret_hash ?? DUMMY_CLIENT_SECRET_HASH, s.pool);
    // Decide on the app as it is now: it may have been deregistered or changed while the secret was checked.
    const app = s.apps.byClient(clientId);
    if (app === undefined) return deny('unknown_client_id');
    if (app.status !== 'active') return deny('app_inactive');
    if (!good || app.client_secret_hash !== checked?.client_secret_hash) return deny('wrong_secret');

    let t;
    try {
      t = await issueToken(s, { sub: `app:${app.app_id}`, scope: APP_SCOPES, ttl: app.token_ttl });
    } catch (err) {
      throw new HttpError('internal_error', 'authentication error', { cause: err });
    }
    const mutations: Mutation[] = [...t.mutations];
    const undo = [t.undo];
    // Secrets imported with a bcrypt hash move to the fast form on their first successful use — written onto the
    // row as it is after the signature, never onto a stale copy.
    const current = s.apps.byClient(clientId);
    if (current !== undefined && current.status === 'active' && clientSecretNeedsRehash(current.client_secret_hash)) {
      const row = { ...current, client_secret_hash: hashClientSecret(b.client_secret) };
      undo.push(s.apps.put(row));
      mutations.push({ kind: 'app.put', row });
    }
    await persist(s, mutations, [
      { event_type: 'app_authenticated', detail: `client_id=${app.client_id} app_id=${app.app_id}`, outcome: 'success' },
    ], { detail: 'authentication error', undo: () => undo.forEach((f) => f()) });
    return {
      status: 200,
      json: { access_token: t.issued.token, expires_in: t.issued.ttl, token_type: 'Bearer', scopes: APP_SCOPES },
    };
  };
}
