import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export interface CounterChild {
  inc(value?: number): void;
}

/** A counter keyed by one label whose values come from runtime data. */
export interface LabelledCounter {
  inc(labelValue: string, value?: number): void;
}

export interface Metrics {
  /** `agentwrit_tokens_issued_total{scope}`: the token's first scope, or `none`. */
  readonly tokensIssued: LabelledCounter;
  readonly tokensRevoked: Readonly<Record<'token' | 'agent' | 'task' | 'chain' | 'release', CounterChild>>;
  readonly registrations: { readonly success: CounterChild; readonly failure: CounterChild };
  readonly adminAuth: { readonly success: CounterChild; readonly failure: CounterChild };
  readonly launchTokensCreated: CounterChild;
  readonly activeAgents: { inc(value?: number): void; dec(value?: number): void; set(value: number): void };
  /** `endpoint` is the route pattern (e.g. `/v1/admin/apps/{id}`) or `unmatched`, never a raw path. */
  readonly requestDuration: { observe(endpoint: string, seconds: number): void };
  readonly clockSkew: CounterChild;
  readonly auditEvents: LabelledCounter;
  readonly auditWriteDuration: { observe(seconds: number): void };
  readonly dbErrors: LabelledCounter;
  readonly auditEventsLoaded: { set(value: number): void };
  /** Failed writes (or opens) of the JSONL audit log; the events stay in the database and are written later. */
  readonly auditLogWriteErrors: CounterChild;
  /** Audit events moved from the database into archive segments. */
  readonly auditEventsArchived: CounterChild;
  readonly registry: Registry;
  render(): Promise<{ contentType: string; body: string }>;
}

/** Distinct values kept per runtime-labelled metric; further values are counted under `other`. */
export const MAX_LABEL_VALUES = 256;
export const OVERFLOW_LABEL = 'other';

export const REQUEST_DURATION_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
export const AUDIT_WRITE_BUCKETS: readonly number[] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1];

/**
 * Resolves label values to bound children, at most `MAX_LABEL_VALUES` of them, so label values taken from client
 * input can never grow the registry without bound.
 */
function cappedChildren<C>(bind: (labelValue: string) => C): (labelValue: string) => C {
  const children = new Map<string, C>();
  let overflow: C | undefined;
  return (labelValue) => {
    const known = children.get(labelValue);
    if (known !== undefined) return known;
    if (children.size < MAX_LABEL_VALUES) {
      const child = bind(labelValue);
      children.set(labelValue, child);
      return child;
    }
    overflow ??= bind(OVERFLOW_LABEL);
    return overflow;
  };
}

function labelledCounter(counter: Counter<string>): LabelledCounter {
  const child = cappedChildren((v) => counter.labels(v));
  return {
    inc(labelValue, value) {
      child(labelValue).inc(value);
    },
  };
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  const registers = [registry];

  const tokensIssued = new Counter({
    name: 'agentwrit_tokens_issued_total',
    help: 'Total number of tokens issued',
    labelNames: ['scope'],
    registers,
  });
  const tokensRevoked = new Counter({
    name: 'agentwrit_tokens_revoked_total',
    help: 'Total number of tokens revoked',
    labelNames: ['level'],
    registers,
  });
  const registrations = new Counter({
    name: 'agentwrit_registrations_total',
    help: 'Total number of agent registrations',
    labelNames: ['status'],
    registers,
  });
  const adminAuth = new Counter({
    name: 'agentwrit_admin_auth_total',
    help: 'Total number of admin auth attempts',
    labelNames: ['status'],
    registers,
  });
  const launchTokensCreated = new Counter({
    name: 'agentwrit_launch_tokens_created_total',
    help: 'Total number of launch tokens created',
    registers,
  });
  const activeAgents = new Gauge({
    name: 'agentwrit_active_agents',
    help: 'Number of currently active agents',
    registers,
  });
  const requestDuration = new Histogram({
    name: 'agentwrit_request_duration_seconds',
    help: 'Request duration in seconds',
    labelNames: ['endpoint'],
    buckets: [...REQUEST_DURATION_BUCKETS],
    registers,
  });
  const clockSkew = new Counter({
    name: 'agentwrit_clock_skew_total',
    help: 'Number of clock skew events detected',
    registers,
  });
  const auditEvents = new Counter({
    name: 'agentwrit_audit_events_total',
    help: 'Total number of audit events recorded',
    labelNames: ['event_type'],
    registers,
  });
  const auditWriteDuration = new Histogram({
    name: 'agentwrit_audit_write_duration_seconds',
    help: 'Time to write an audit event to SQLite',
    buckets: [...AUDIT_WRITE_BUCKETS],
    registers,
  });
  const dbErrors = new Counter({
    name: 'agentwrit_db_errors_total',
    help: 'Total number of database errors',
    labelNames: ['operation'],
    registers,
  });
  const auditEventsLoaded = new Gauge({
    name: 'agentwrit_audit_events_loaded',
    help: 'Number of audit events loaded from SQLite at startup',
    registers,
  });

  const auditLogWriteErrors = new Counter({
    name: 'agentwrit_audit_log_write_errors_total',
    help: 'Failed writes to the JSONL audit log',
    registers,
  });
  const auditEventsArchived = new Counter({
    name: 'agentwrit_audit_events_archived_total',
    help: 'Audit events moved from the database into archive segments',
    registers,
  });

  collectDefaultMetrics({ register: registry });

  const durationChild = cappedChildren((v) => requestDuration.labels(v));

  return {
    tokensIssued: labelledCounter(tokensIssued),
    tokensRevoked: {
      token: tokensRevoked.labels('token'),
      agent: tokensRevoked.labels('agent'),
      task: tokensRevoked.labels('task'),
      chain: tokensRevoked.labels('chain'),
      release: tokensRevoked.labels('release'),
    },
    registrations: { success: registrations.labels('success'), failure: registrations.labels('failure') },
    adminAuth: { success: adminAuth.labels('success'), failure: adminAuth.labels('failure') },
    launchTokensCreated: { inc: (value) => launchTokensCreated.inc(value) },
    activeAgents: {
      inc: (value) => activeAgents.inc(value),
      dec: (value) => activeAgents.dec(value),
      set: (value) => activeAgents.set(value),
    },
    requestDuration: {
      observe(endpoint, seconds) {
        durationChild(endpoint).observe(seconds);
      },
    },
    clockSkew: { inc: (value) => clockSkew.inc(value) },
    auditEvents: labelledCounter(auditEvents),
    auditWriteDuration: { observe: (seconds) => auditWriteDuration.observe(seconds) },
    dbErrors: labelledCounter(dbErrors),
    auditEventsLoaded: { set: (value) => auditEventsLoaded.set(value) },
    auditLogWriteErrors: { inc: (value) => auditLogWriteErrors.inc(value) },
    auditEventsArchived: { inc: (value) => auditEventsArchived.inc(value) },
    registry,
    async render() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}
