import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMetrics, MAX_LABEL_VALUES } from '../../src/observability/metrics.js';

function sampleLines(body: string, name: string): string[] {
  return body.split('\n').filter((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
}

function value(body: string, series: string): number | undefined {
  const line = body.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const EXPECTED: [string, string, string][] = [
  ['agentwrit_tokens_issued_total', 'counter', 'Total number of tokens issued'],
  ['agentwrit_tokens_revoked_total', 'counter', 'Total number of tokens revoked'],
  ['agentwrit_registrations_total', 'counter', 'Total number of agent registrations'],
  ['agentwrit_admin_auth_total', 'counter', 'Total number of admin auth attempts'],
  ['agentwrit_launch_tokens_created_total', 'counter', 'Total number of launch tokens created'],
  ['agentwrit_active_agents', 'gauge', 'Number of currently active agents'],
  ['agentwrit_request_duration_seconds', 'histogram', 'Request duration in seconds'],
  ['agentwrit_clock_skew_total', 'counter', 'Number of clock skew events detected'],
  ['agentwrit_audit_events_total', 'counter', 'Total number of audit events recorded'],
  ['agentwrit_audit_write_duration_seconds', 'histogram', 'Time to write an audit event to SQLite'],
  ['agentwrit_db_errors_total', 'counter', 'Total number of database errors'],
  ['agentwrit_audit_events_loaded', 'gauge', 'Number of audit events loaded from SQLite at startup'],
  ['agentwrit_audit_log_write_errors_total', 'counter', 'Failed writes to the JSONL audit log'],
  ['agentwrit_audit_events_archived_total', 'counter', 'Audit events moved from the database into archive segments'],
];

describe('registry contents', () => {
  it('declares exactly the agentwrit_* metrics with their types and HELP texts', async () => {
    const { body, contentType } = await createMetrics().render();
    assert.equal(contentType, 'text/plain; version=0.0.4; charset=utf-8');
    const types = body.split('\n').filter((l) => l.startsWith('# TYPE agentwrit_'));
    assert.deepEqual(
      types,
      EXPECTED.map(([n, t]) => `# TYPE ${n} ${t}`),
    );
    for (const [name, , help] of EXPECTED) assert.ok(body.includes(`# HELP ${name} ${help}\n`), name);
  });

  it('shows unlabelled metrics at 0 from the start and labelled ones only after use', async () => {
    const { body } = await createMetrics().render();
    assert.equal(value(body, 'agentwrit_launch_tokens_created_total'), 0);
    assert.equal(value(body, 'agentwrit_active_agents'), 0);
    assert.equal(value(body, 'agentwrit_clock_skew_total'), 0);
    assert.equal(value(body, 'agentwrit_audit_events_loaded'), 0);
    assert.equal(value(body, 'agentwrit_audit_log_write_errors_total'), 0);
    assert.equal(value(body, 'agentwrit_audit_write_duration_seconds_count'), 0);
    for (const name of [
      'agentwrit_tokens_issued_total',
      'agentwrit_tokens_revoked_total',
      'agentwrit_registrations_total',
      'agentwrit_admin_auth_total',
      'agentwrit_audit_events_total',
      'agentwrit_db_errors_total',
    ]) {
      assert.deepEqual(sampleLines(body, name), [], name);
    }
    assert.deepEqual(sampleLines(body, 'agentwrit_request_duration_seconds_count'), []);
  });

  it('includes process metrics', async () => {
    const { body } = await createMetrics().render();
    for (const name of [
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'process_start_time_seconds',
      'process_open_fds',
    ]) {
      assert.ok(body.includes(`# TYPE ${name} `), name);
    }
  });

  it('uses the documented buckets', async () => {
    const m = createMetrics();
    m.requestDuration.observe('/v1/health', 0.003);
    m.auditWriteDuration.observe(0.02);
    const { body } = await m.render();
    const les = (prefix: string) =>
      body
        .split('\n')
        .filter((l) => l.startsWith(prefix))
        .map((l) => /le="([^"]+)"/.exec(l)?.[1]);
    assert.deepEqual(les('agentwrit_request_duration_seconds_bucket'), [
      '0.005',
      '0.01',
      '0.025',
      '0.05',
      '0.1',
      '0.25',
      '0.5',
      '1',
      '2.5',
      '5',
      '10',
      '+Inf',
    ]);
    assert.deepEqual(les('agentwrit_audit_write_duration_seconds_bucket'), [
      '0.001',
      '0.005',
      '0.01',
      '0.025',
      '0.05',
      '0.1',
      '+Inf',
    ]);
    assert.equal(value(body, 'agentwrit_audit_write_duration_seconds_bucket{le="0.01"}'), 0);
    assert.equal(value(body, 'agentwrit_audit_write_duration_seconds_bucket{le="0.025"}'), 1);
  });
});

describe('recording', () => {
  it('counts through the pre-bound children', async () => {
    const m = createMetrics();
    m.registrations.success.inc();
    m.registrations.success.inc();
    m.registrations.failure.inc();
    m.adminAuth.failure.inc();
    m.tokensRevoked.release.inc();
    m.tokensRevoked.chain.inc(3);
    m.launchTokensCreated.inc();
    m.clockSkew.inc();
    m.auditEventsLoaded.set(42);
    const { body } = await m.render();
    assert.equal(value(body, 'agentwrit_registrations_total{status="success"}'), 2);
    assert.equal(value(body, 'agentwrit_registrations_total{status="failure"}'), 1);
    assert.equal(value(body, 'agentwrit_admin_auth_total{status="failure"}'), 1);
    assert.equal(value(body, 'agentwrit_admin_auth_total{status="success"}'), undefined);
    assert.equal(value(body, 'agentwrit_tokens_revoked_total{level="release"}'), 1);
    assert.equal(value(body, 'agentwrit_tokens_revoked_total{level="chain"}'), 3);
    assert.equal(value(body, 'agentwrit_tokens_revoked_total{level="token"}'), undefined);
    assert.equal(value(body, 'agentwrit_launch_tokens_created_total'), 1);
    assert.equal(value(body, 'agentwrit_clock_skew_total'), 1);
    assert.equal(value(body, 'agentwrit_audit_events_loaded'), 42);
  });

  it('lets active_agents go down', async () => {
    const m = createMetrics();
    m.activeAgents.inc();
    m.activeAgents.inc();
    m.activeAgents.inc();
    m.activeAgents.dec();
    assert.equal(value((await m.render()).body, 'agentwrit_active_agents'), 2);
    m.activeAgents.set(7);
    m.activeAgents.dec(2);
    assert.equal(value((await m.render()).body, 'agentwrit_active_agents'), 5);
  });

  it('records runtime-labelled counters and request durations per endpoint', async () => {
    const m = createMetrics();
    m.tokensIssued.inc('admin:launch-tokens:*');
    m.tokensIssued.inc('none');
    m.tokensIssued.inc('none');
    m.auditEvents.inc('agent_registered');
    m.dbErrors.inc('save_app');
    m.requestDuration.observe('/v1/admin/apps/{id}', 0.02);
    m.requestDuration.observe('/v1/admin/apps/{id}', 0.2);
    m.requestDuration.observe('unmatched', 0.001);
    const { body } = await m.render();
    assert.equal(value(body, 'agentwrit_tokens_issued_total{scope="admin:launch-tokens:*"}'), 1);
    assert.equal(value(body, 'agentwrit_tokens_issued_total{scope="none"}'), 2);
    assert.equal(value(body, 'agentwrit_audit_events_total{event_type="agent_registered"}'), 1);
    assert.equal(value(body, 'agentwrit_db_errors_total{operation="save_app"}'), 1);
    assert.equal(value(body, 'agentwrit_request_duration_seconds_count{endpoint="/v1/admin/apps/{id}"}'), 2);
    assert.equal(value(body, 'agentwrit_request_duration_seconds_sum{endpoint="/v1/admin/apps/{id}"}'), 0.22);
    assert.equal(
      value(body, 'agentwrit_request_duration_seconds_bucket{le="0.025",endpoint="/v1/admin/apps/{id}"}'),
      1,
    );
    assert.equal(value(body, 'agentwrit_request_duration_seconds_count{endpoint="unmatched"}'), 1);
  });

  it('escapes hostile label values in the exposition', async () => {
    const m = createMetrics();
    m.tokensIssued.inc('a"b\\c\nd');
    const { body } = await m.render();
    assert.equal(value(body, 'agentwrit_tokens_issued_total{scope="a\\"b\\\\c\\nd"}'), 1);
  });
});

describe('label cardinality cap', () => {
  it(`keeps at most ${MAX_LABEL_VALUES} distinct values and folds the rest into "other"`, async () => {
    const m = createMetrics();
    for (let i = 0; i < MAX_LABEL_VALUES + 100; i++) m.tokensIssued.inc(`scope-${i}`);
    m.tokensIssued.inc('scope-0');
    m.tokensIssued.inc(`scope-${MAX_LABEL_VALUES + 500}`);
    const { body } = await m.render();
    const series = sampleLines(body, 'agentwrit_tokens_issued_total');
    assert.equal(series.length, MAX_LABEL_VALUES + 1);
    assert.equal(value(body, 'agentwrit_tokens_issued_total{scope="scope-0"}'), 2);
    assert.equal(value(body, `agentwrit_tokens_issued_total{scope="scope-${MAX_LABEL_VALUES - 1}"}`), 1);
    assert.equal(value(body, `agentwrit_tokens_issued_total{scope="scope-${MAX_LABEL_VALUES}"}`), undefined);
    assert.equal(value(body, 'agentwrit_tokens_issued_total{scope="other"}'), 101);
  });

  it('caps each metric separately, request durations included', async () => {
    const m = createMetrics();
    for (let i = 0; i < MAX_LABEL_VALUES + 10; i++) {
      m.requestDuration.observe(`/p${i}`, 0.001);
      m.dbErrors.inc(`op${i}`);
    }
    m.auditEvents.inc('token_issued');
    const { body } = await m.render();
    assert.equal(sampleLines(body, 'agentwrit_request_duration_seconds_count').length, MAX_LABEL_VALUES + 1);
    assert.equal(value(body, 'agentwrit_request_duration_seconds_count{endpoint="other"}'), 10);
    assert.equal(value(body, 'agentwrit_db_errors_total{operation="other"}'), 10);
    assert.equal(value(body, 'agentwrit_audit_events_total{event_type="token_issued"}'), 1);
  });
});

describe('isolation', () => {
  it('gives each instance its own registry', async () => {
    const a = createMetrics();
    const b = createMetrics();
    assert.notEqual(a.registry, b.registry);
    a.launchTokensCreated.inc(5);
    a.registrations.success.inc();
    const bodyB = (await b.render()).body;
    assert.equal(value(bodyB, 'agentwrit_launch_tokens_created_total'), 0);
    assert.deepEqual(sampleLines(bodyB, 'agentwrit_registrations_total'), []);
    assert.equal(value((await a.render()).body, 'agentwrit_launch_tokens_created_total'), 5);
  });
});
