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
import { HttpError } from '../transport/problem.js';
import { checkLengths } from './body.js';

export const APP_SCOPES = ['app:launch-tokens:*', 'app:agents:*', 'app:audit:read'];

export function appAuth(s: Services): Handler {
  return async (ctx) => {
    let parsed: unknown;
    let decodeError: unknown;
    try {
      parsed = parseJsonBody(ctx.body);
    } catch (err) {
      decodeError = err;
    }
    const peeked = decodeError === undefined ? peekClientId(parsed) : '';
    if (!s.appAuthLimiter.take(`${peeked}|${ctx.clientIp}`)) {
      throw new HttpError('rate_limited', 'rate limit exceeded, try again later', { headers: { 'Retry-After': '60' } });
    }
    if (decodeError !== undefined) throw new HttpError('invalid_request', 'malformed JSON body', { cause: decodeError });
    let b;
    try {
      b = pickFields(parsed, { client_id: 'string', client_secret: 'string' });
    } catch (err) {
      if (err instanceof DecodeError) throw new HttpError('invalid_request', 'malformed JSON body', { cause: err });
      throw err;
    }
    if (!b.client_id || !b.client_secret) throw new HttpError('invalid_request', 'client_id and client_secret are required');
    checkLengths({ client_id: b.client_id, client_secret: b.client_secret });

    const app = s.apps.byClient(b.client_id);
    const good = await verifyClientSecret(b.client_secret, app?.client_secret_hash ?? DUMMY_CLIENT_SECRET_HASH, s.pool);
    const reason = app === undefined ? 'unknown_client_id' : app.status !== 'active' ? 'app_inactive' : good ? null : 'wrong_secret';
    if (reason !== null || app === undefined) {
      await persistDenial(s, { event_type: 'app_auth_failed', detail: `client_id=${b.client_id} reason=${reason}`, outcome: 'denied' });
      throw new HttpError('unauthorized', 'Authentication failed');
    }
    let t;
    try {
      t = await issueToken(s, { sub: `app:${app.app_id}`, scope: APP_SCOPES, ttl: app.token_ttl });
    } catch (err) {
      throw new HttpError('internal_error', 'authentication error', { cause: err });
    }
    const mutations: Mutation[] = [...t.mutations];
    const undo = [t.undo];
    // Secrets imported with a bcrypt hash move to the fast form on their first successful use.
    if (clientSecretNeedsRehash(app.client_secret_hash)) {
      const row = { ...app, client_secret_hash: hashClientSecret(b.client_secret) };
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

function peekClientId(parsed: unknown): string {
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return '';
  for (const [k, v] of Object.entries(parsed)) {
    if (k.toLowerCase() === 'client_id' && typeof v === 'string') return v.slice(0, 256);
  }
  return '';
}
