/** GET /v1/health, /v1/metrics, /v1/jwks and /.well-known/jwks.json. */
import { LIMITS } from '../config/limits.js';
import { health as brokerHealth } from '../services/operations/system.js';
import type { Services } from '../services/services.js';
import type { Handler } from '../transport/pipeline.js';

export const VERSION = '2.0.0';

/**
 * A live check: degraded (503) while the last write to the database failed, or while this broker's view of a
 * shared store is older than AA_REVOCATION_MAX_LAG (a load balancer should then send traffic elsewhere).
 */
export function health(s: Services): Handler {
  return () => {
    const h = brokerHealth(s);
    const ok = h.ok && h.replication !== 'lagging';
    return {
      status: ok ? 200 : 503,
      json: {
        status: ok ? 'ok' : 'degraded',
        version: VERSION,
        uptime: h.uptimeSeconds,
        db_connected: h.ok,
        audit_events_count: h.auditEvents,
        ...(h.auditLog === null ? {} : { audit_log: h.auditLog.ok ? 'ok' : 'failing' }),
        ...(h.replication === null ? {} : { replication: h.replication }),
      },
    };
  };
}

export function metrics(s: Services): Handler {
  return async () => {
    const { contentType, body } = await s.metrics.render();
    return { status: 200, text: { contentType, body } };
  };
}

/**
 * The active and retiring keys. Resource servers may cache the set briefly; a token whose kid they do not know is
 * their cue to fetch it again (docs/operator-guide.md, "Key rotation").
 */
export function jwks(s: Services): Handler {
  const headers = { 'Cache-Control': `public, max-age=${LIMITS.jwksMaxAgeSeconds}` };
  return () => ({ status: 200, json: s.tokens.jwks(), headers });
}
