/** README and operator docs stay true to the code: quick start, every variable, every metric, every link. */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (p: string): string => readFileSync(join(root, p), 'utf8');
const readme = read('README.md');
const guide = read('docs/operator-guide.md');

test('README keeps the two-command quick start', () => {
  assert.ok(readme.includes('npm ci && AA_ADMIN_SECRET="$(openssl rand -hex 32)" npm start'));
  assert.ok(readme.includes('npm ci && npm test'));
  assert.ok(readme.indexOf('npm ci && npm test') < 2500, 'quick start near the top');
  const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
  assert.ok(pkg.scripts.start && pkg.scripts.test && pkg.scripts.prepare);
});

test('README configuration table lists every AA_* variable the broker reads, with its default', async () => {
  const vars = new Set<string>();
  for (const f of readdirSync(join(root, 'src/config'))) {
    for (const m of read(join('src/config', f)).matchAll(/\b(AA_[A-Z][A-Z0-9_]*)\b/g)) vars.add(m[1] as string);
  }
  assert.ok(vars.size >= 20);
  const rows = new Map<string, string>();
  for (const m of readme.matchAll(/^\| `(AA_[A-Z0-9_]+)` \| ([^|]+) \|/gm))
    rows.set(m[1] as string, (m[2] as string).trim());
  for (const v of vars) assert.ok(rows.has(v), `${v} missing from the README configuration table`);
  const { DEFAULTS } = await import('../../src/config/config.js');
  const expect: Record<string, unknown> = {
    AA_PORT: DEFAULTS.port,
    AA_BIND_ADDRESS: DEFAULTS.bindAddress,
    AA_LOG_LEVEL: DEFAULTS.logLevel,
    AA_TRUST_DOMAIN: DEFAULTS.trustDomain,
    AA_DEFAULT_TTL: DEFAULTS.defaultTtl,
    AA_MAX_TTL: DEFAULTS.maxTtl,
    AA_APP_TOKEN_TTL: DEFAULTS.appTokenTtl,
    AA_ADMIN_TOKEN_TTL: DEFAULTS.adminTokenTtl,
    AA_DB_PATH: DEFAULTS.dbPath,
    AA_SIGNING_KEY_PATH: DEFAULTS.signingKeyPath,
    AA_TLS_MODE: DEFAULTS.tlsMode,
    AA_REVOCATION_MAX_LAG: `${DEFAULTS.revocationMaxLag}s`,
  };
  for (const [v, d] of Object.entries(expect)) assert.equal(rows.get(v), `\`${String(d)}\``, v);
});

test('operator guide lists every agentwrit_* metric', () => {
  const src = read('src/observability/metrics.ts');
  const names = [...src.matchAll(/name: '(agentwrit_[a-z_]+)'/g)].map((m) => m[1] as string);
  assert.ok(names.length >= 12);
  for (const n of names) assert.ok(guide.includes(`\`${n}\``), `${n} missing from docs/operator-guide.md`);
});

test('README names every runtime dependency and links the other docs', () => {
  const pkg = JSON.parse(read('package.json')) as {
    dependencies: Record<string, string>;
    devDependencies: Record<string, string>;
  };
  for (const d of [...Object.keys(pkg.dependencies), ...Object.keys(pkg.devDependencies)]) {
    assert.ok(readme.includes(`\`${d}\``), `${d} missing from the README dependency section`);
  }
  for (const d of ['@opentelemetry/api', 'tdigest', 'bintrees']) assert.ok(readme.includes(`\`${d}\``), d);
  for (const doc of [
    'docs/compatibility.md',
    'docs/awrit.md',
    'docs/security.md',
    'docs/performance.md',
    'docs/operator-guide.md',
    'docs/api.md',
    'docs/openapi.yaml',
  ]) {
    assert.ok(readme.includes(`](${doc})`), `README does not link ${doc}`);
  }
});

test('relative links in README and docs point at files in the repository', () => {
  // Written alongside by others; linked before they exist.
  const pending = new Set(['docs/awrit.md', 'docs/security.md', 'docs/performance.md']);
  for (const file of ['README.md', 'docs/operator-guide.md', 'docs/api.md']) {
    for (const m of read(file).matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
      const target = m[1] as string;
      if (/^[a-z]+:/.test(target)) continue;
      const rel = join(dirname(file), target);
      if (pending.has(rel)) continue;
      assert.ok(existsSync(join(root, rel)), `${file} links to missing ${target}`);
    }
  }
});

test('links to sections of the operator guide name headings it has', () => {
  // GitHub's anchors: lower case, punctuation dropped (but `-` and `_`), each space a hyphen.
  const anchors = new Set(
    [...guide.matchAll(/^#{1,6} (.+)$/gm)].map((m) =>
      (m[1] as string)
        .trim()
        .toLowerCase()
        .replace(/[^\p{L}\p{N}\s_-]/gu, '')
        .replace(/\s/g, '-'),
    ),
  );
  assert.ok(anchors.has('scaling-out') && anchors.has('3-native-install-vps-with-systemd'));
  const links: [string, string][] = [
    ...[...readme.matchAll(/\]\(docs\/operator-guide\.md#([^)]+)\)/g)].map((m): [string, string] => [
      'README.md',
      m[1] as string,
    ]),
    ...[...guide.matchAll(/\]\(#([^)]+)\)/g)].map((m): [string, string] => ['docs/operator-guide.md', m[1] as string]),
  ];
  assert.ok(links.length >= 10);
  for (const [file, anchor] of links) assert.ok(anchors.has(anchor), `${file} links to a missing section #${anchor}`);
});
