/**
 * docs/openapi.yaml against the router: every route the broker serves is documented, nothing documented is
 * missing from the broker, and every documented operation really is routed (no 404/405 from the router).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { buildRouter } from '../../src/routes/table.js';
import { startTestBroker } from '../helpers/broker.js';
import { parseYaml } from './yaml.js';

const root = new URL('../../', import.meta.url);
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'];

// The route table as the HTTP API contract lists it, the two JWKS routes, the two key routes and the audit archive run.
const KNOWN_ROUTES = [
  'GET /v1/challenge',
  'POST /v1/register',
  'POST /v1/token/validate',
  'POST /v1/token/renew',
  'POST /v1/token/release',
  'POST /v1/delegate',
  'POST /v1/revoke',
  'GET /v1/audit/events',
  'POST /v1/admin/auth',
  'POST /v1/admin/launch-tokens',
  'POST /v1/app/launch-tokens',
  'POST /v1/admin/apps',
  'GET /v1/admin/apps',
  'GET /v1/admin/apps/{id}',
  'PUT /v1/admin/apps/{id}',
  'DELETE /v1/admin/apps/{id}',
  'POST /v1/app/auth',
  'GET /v1/health',
  'GET /v1/metrics',
  'GET /v1/jwks',
  'GET /.well-known/jwks.json',
  'POST /v1/admin/keys/rotate',
  'GET /v1/admin/keys',
  'POST /v1/admin/audit/archive',
];

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const spec = parseYaml(readFileSync(new URL('docs/openapi.yaml', root), 'utf8')) as any;

function documented(): string[] {
  const out: string[] = [];
  for (const [path, item] of Object.entries(spec.paths as Record<string, Record<string, unknown>>)) {
    for (const m of Object.keys(item)) if (HTTP_METHODS.includes(m)) out.push(`${m.toUpperCase()} ${path}`);
  }
  return out.sort();
}

test('openapi.yaml is OpenAPI 3.1 with info and unique operation ids', () => {
  assert.equal(spec.openapi, '3.1.0');
  assert.equal(spec.info.version, '2.0.0');
  const ids = new Set<string>();
  for (const item of Object.values(
    spec.paths as Record<string, Record<string, { operationId?: string; responses?: object }>>,
  )) {
    for (const [m, op] of Object.entries(item)) {
      if (!HTTP_METHODS.includes(m)) continue;
      assert.ok(op.operationId, `operationId missing for ${m}`);
      assert.ok(!ids.has(op.operationId), `duplicate operationId ${op.operationId}`);
      ids.add(op.operationId);
      assert.ok(op.responses && Object.keys(op.responses).length > 0, `${op.operationId} has no responses`);
    }
  }
});

test('every $ref in openapi.yaml resolves', () => {
  const refs: string[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k === '$ref') refs.push(x as string);
        else walk(x);
      }
    }
  };
  walk(spec);
  assert.ok(refs.length > 10);
  for (const ref of refs) {
    assert.ok(ref.startsWith('#/'), `external ref ${ref}`);
    let node = spec;
    for (const part of ref.slice(2).split('/')) {
      node = node?.[part];
      assert.ok(node !== undefined, `unresolved ${ref}`);
    }
  }
});

// One broker for both checks: starting one costs seconds.
test('openapi paths and methods are exactly the router table, and a running broker routes each one', async (t) => {
  const b = await startTestBroker(t);
  const routed = buildRouter(b.handle.services)
    .list()
    .map((r) => `${r.method} ${r.pattern}`)
    .sort();
  assert.deepEqual(routed, [...KNOWN_ROUTES].sort(), 'router table changed: update docs/openapi.yaml and docs/api.md');
  assert.deepEqual(documented(), routed);

  // Routed = never the router's 404/405, whatever the handler then says about the (empty) request.
  for (const op of documented()) {
    const [method, path] = op.split(' ') as [string, string];
    const r = await b.req(path.replace('{id}', 'app-does-not-exist'), { method });
    assert.ok(r.status !== 404 && r.status !== 405, `${op} answered ${r.status} ${r.text}`);
    assert.notEqual(r.json?.error_code, 'method_not_allowed', op);
  }
});
