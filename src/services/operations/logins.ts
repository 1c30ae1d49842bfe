/**
 * Logins: the operator's admin secret and an app's client credentials, each exchanged for a token. Secrets are
 * compared in constant time (or against bcrypt off the event loop), and an unknown client_id costs the same work
 * as a wrong secret.
 */

import { sha256SecretMatches } from '../../config/admin-secret.js';
import type { AdminSecret } from '../../config/config.js';
import type { CryptoPool } from '../../crypto/crypto-pool.js';
import {
  clientSecretNeedsRehash,
  DUMMY_CLIENT_SECRET_HASH,
  hashClientSecret,
  verifyClientSecret,
} from '../../crypto/secrets.js';
import { RequestError } from '../../errors.js';
import type { Services } from '../services.js';
import type { Issued } from '../tokens.js';
import { recordDenial } from './authenticate.js';
import { issueToken, requireCurrent } from './tokens.js';

export const ADMIN_SCOPES = ['admin:launch-tokens:*', 'admin:revoke:*', 'admin:audit:*', 'admin:keys:*'];
export const APP_SCOPES = ['app:launch-tokens:*', 'app:agents:*', 'app:audit:read'];

export async function checkAdminSecret(presented: string, secret: AdminSecret, pool: CryptoPool): Promise<boolean> {
  if (secret.kind === 'sha256') return sha256SecretMatches(secret.digest, presented);
  return pool.bcryptCompare(presented, secret.hash);
}

/** An admin token, signed and recorded in one unit of work (also the development seed's). */
export async function issueAdminToken(s: Services, ttl: number, audit: boolean): Promise<Issued> {
  const tx = s.begin();
  let issued: Issued;
  try {
    issued = await issueToken(s, tx, { sub: 'admin', scope: ADMIN_SCOPES, ttl });
  } catch (err) {
    tx.rollback();
    throw new RequestError('unauthorized', 'invalid credentials', { cause: err });
  }
  if (audit) tx.audit({ event_type: 'admin_auth', detail: 'admin authenticated as admin', outcome: 'success' });
  await tx.commit('internal error');
  return issued;
}

export async function adminLogin(s: Services, secret: string, clientIp: string): Promise<Issued> {
  if (!(await checkAdminSecret(secret, s.config.adminSecret, s.pool))) {
    s.metrics.adminAuth.failure.inc();
    s.logger.warn('ADMIN', 'AdminSvc', 'authentication failed', `ip=${clientIp}`);
    await recordDenial(s, {
      event_type: 'admin_auth_failed',
      detail: 'failed admin authentication attempt',
      outcome: 'denied',
    });
    throw new RequestError('unauthorized', 'invalid credentials');
  }
  const issued = await issueAdminToken(s, s.config.adminTokenTtl, true);
  s.metrics.adminAuth.success.inc();
  s.logger.ok('ADMIN', 'AdminSvc', 'admin authenticated');
  return issued;
}

export async function appLogin(s: Services, clientId: string, clientSecret: string): Promise<Issued> {
  const deny = async (reason: string): Promise<never> => {
    await recordDenial(s, {
      event_type: 'app_auth_failed',
      detail: `client_id=${clientId} reason=${reason}`,
      outcome: 'denied',
    });
    throw new RequestError('unauthorized', 'Authentication failed');
  };
  requireCurrent(s);
  if (s.apps.byClient(clientId) === undefined) await s.sync(); // registered through another broker a moment ago?
  const checked = s.apps.byClient(clientId);
  const good = await verifyClientSecret(clientSecret, checked?.client_secret_hash ?? DUMMY_CLIENT_SECRET_HASH, s.pool);
  // Decide on the app as it is now: it may have been deregistered or changed while the secret was checked.
  const app = s.apps.byClient(clientId);
  if (app === undefined) return deny('unknown_client_id');
  if (app.status !== 'active') return deny('app_inactive');
  if (!good || app.client_secret_hash !== checked?.client_secret_hash) return deny('wrong_secret');

  const tx = s.begin();
  let issued: Issued;
  try {
    issued = await issueToken(s, tx, { sub: `app:${app.app_id}`, scope: APP_SCOPES, ttl: app.token_ttl });
  } catch (err) {
    tx.rollback();
    throw new RequestError('internal_error', 'authentication error', { cause: err });
  }
  // Secrets imported with a bcrypt hash move to the fast form on their first successful use — written onto the
  // row as it is after the signature, never onto a stale copy.
  const current = s.apps.byClient(clientId);
  if (current !== undefined && current.status === 'active' && clientSecretNeedsRehash(current.client_secret_hash)) {
    const row = { ...current, client_secret_hash: hashClientSecret(clientSecret) };
    tx.change({ kind: 'app.put', row }, s.apps.put(row));
  }
  tx.audit({
    event_type: 'app_authenticated',
    detail: `client_id=${app.client_id} app_id=${app.app_id}`,
    outcome: 'success',
  });
  await tx.commit('authentication error');
  return issued;
}
