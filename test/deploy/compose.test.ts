/**
 * Static checks of the Docker artefacts (no Docker engine runs here): the Dockerfile's shape, the build context
 * .dockerignore leaves, and the compose files parse, pass every broker variable and reference paths that exist;
 * the HA compose file's replicas share one PostgreSQL behind a load balancer whose configuration checks their health.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseDatabaseUrl } from '../../src/store/postgres/connection.js';
import { dockerIgnored, envPairs, readDockerfile, readDockerignore } from './dockerfile.js';
import { parseYaml } from './yaml.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (p: string): string => readFileSync(join(root, p), 'utf8');
const yaml = (p: string): any => parseYaml(read(p));

/** Every AA_* variable the broker reads, taken from its configuration code. */
function brokerVariables(): Set<string> {
  const out = new Set<string>();
  for (const f of readdirSync(join(root, 'src/config'))) {
    for (const m of read(join('src/config', f)).matchAll(/\b(AA_[A-Z][A-Z0-9_]*)\b/g)) out.add(m[1] as string);
  }
  return out;
}

const CERT_FILES = ['ca.pem', 'broker.pem', 'broker-key.pem', 'client.pem', 'client-key.pem'];

test('Dockerfile: pinned multi-stage build, non-root runtime, health check, volume, labels', () => {
  const { args, stages } = readDockerfile(join(root, 'Dockerfile'));
  assert.ok(stages.length >= 2, 'multi-stage');
  const runtime = stages.at(-1)!;
  assert.equal(runtime.name, 'broker', 'the final stage is the compose/release target');
  assert.match(args.get('NODE_VERSION') ?? '', /^20\.\d+\.\d+$/, 'exact Node 20 version');
  assert.match(args.get('ALPINE_VERSION') ?? '', /^\d+\.\d+$/);
  // biome-ignore lint/suspicious/noTemplateCurlyInString: Dockerfile build-argument syntax, checked literally
  for (const s of stages) assert.equal(s.from, 'node:${NODE_VERSION}-alpine${ALPINE_VERSION}');
  const ops = (op: string): string[] => runtime.steps.filter((s) => s.op === op).map((s) => s.args);

  const user = ops('USER').at(-1) ?? '';
  assert.ok(user !== '' && !/^(root|0)(:|$)/.test(user), `runs as non-root, got USER ${user}`);
  assert.deepEqual(ops('EXPOSE'), ['8080']);
  assert.deepEqual(ops('VOLUME'), ['["/data"]']);
  assert.match(ops('HEALTHCHECK')[0] ?? '', /CMD \["node", "\/app\/scripts\/healthcheck\.mjs"\]$/);
  assert.equal(ops('ENTRYPOINT')[0], '["node", "/app/bin/broker"]');
  const labels = ops('LABEL').join(' ');
  for (const l of ['source', 'revision', 'created', 'title', 'description', 'licenses', 'version']) {
    assert.match(labels, new RegExp(`org\\.opencontainers\\.image\\.${l}=`), `label ${l}`);
  }
  const env = new Map(ops('ENV').flatMap(envPairs));
  assert.equal(env.get('AA_DB_PATH'), '/data/data.db');
  assert.equal(env.get('AA_SIGNING_KEY_PATH'), '/data/signing.key');
  assert.equal(env.get('AA_BIND_ADDRESS'), '0.0.0.0');
  // The runtime installs production dependencies only and never runs the compiler.
  const runs = ops('RUN').join('\n');
  assert.match(runs, /npm ci --omit=dev --ignore-scripts/);
  assert.doesNotMatch(runs, /tsc|npm run build/);
  assert.match(runtime.steps.map((s) => `${s.op} ${s.args}`).join('\n'), /COPY --from=build \/src\/dist \.\/dist/);
});

test('Dockerfile COPY sources exist and survive .dockerignore; local state never enters the context', () => {
  const { stages } = readDockerfile(join(root, 'Dockerfile'));
  const ignore = readDockerignore(join(root, '.dockerignore'));
  for (const stage of stages) {
    for (const step of stage.steps.filter((s) => s.op === 'COPY' && !s.args.startsWith('--from'))) {
      const srcs = step.args.split(' ').slice(0, -1);
      for (const src of srcs) {
        assert.ok(existsSync(join(root, src)), `COPY source ${src} missing`);
        assert.ok(!dockerIgnored(ignore, src), `COPY source ${src} is excluded by .dockerignore`);
      }
    }
  }
  for (const p of ['src/main.ts', 'bin/broker', 'package-lock.json']) assert.ok(!dockerIgnored(ignore, p), p);
  for (const p of [
    'node_modules/x/index.js',
    'dist/main.js',
    '.git/HEAD',
    'data.db',
    'data.db.awj',
    'signing.key',
    'src/x/data.db',
    'test/unit/a.test.ts',
    '.env',
  ]) {
    assert.ok(dockerIgnored(ignore, p), `${p} should be outside the build context`);
  }
});

test('docker-compose.yml: broker on agentwrit-net, secret required, state in a named volume, health check', () => {
  const c = yaml('docker-compose.yml');
  const b = c.services.broker;
  assert.equal(b.build.context, '.');
  assert.ok(existsSync(join(root, b.build.context, 'Dockerfile')));
  assert.equal(b.build.target, readDockerfile(join(root, 'Dockerfile')).stages.at(-1)!.name);
  assert.match(read('docker-compose.yml'), /^\s+# image: \S+\/agentwrit:v\d/m, 'commented image: line');
  assert.deepEqual(b.networks, ['agentwrit-net']);
  assert.equal(c.networks['agentwrit-net'].driver, 'bridge');
  assert.match(b.environment.AA_ADMIN_SECRET, /^\$\{AA_ADMIN_SECRET:\?/);
  const [volName, mount] = (b.volumes[0] as string).split(':');
  assert.ok(Object.hasOwn(c.volumes, volName as string), `volume ${volName} declared`);
  assert.ok(b.environment.AA_DB_PATH.startsWith(`${mount}/`));
  assert.ok(b.environment.AA_SIGNING_KEY_PATH.startsWith(`${mount}/`));
  assert.deepEqual(b.healthcheck.test, ['CMD', 'node', '/app/scripts/healthcheck.mjs']);
  assert.ok(existsSync(join(root, 'scripts/healthcheck.mjs')));
  assert.match(b.ports[0], /:8080$/);
  // Every variable the broker reads can be set from the host environment.
  for (const v of brokerVariables()) assert.ok(Object.hasOwn(b.environment, v), `${v} not passed to the broker`);
});

test('TLS and mTLS overlays mount the gen_test_certs.sh output under the names it writes', () => {
  const gen = read('scripts/gen_test_certs.sh');
  assert.match(gen, /DIR="\$\{1:-\/tmp\/agentwrit-certs\}"/);
  const probe = read('scripts/healthcheck.mjs');
  const known = brokerVariables();
  for (const [file, mode] of [
    ['docker-compose.tls.yml', 'tls'],
    ['docker-compose.mtls.yml', 'mtls'],
  ] as const) {
    const b = yaml(file).services.broker;
    assert.equal(b.environment.AA_TLS_MODE, mode);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Compose interpolation syntax, checked literally
    assert.deepEqual(b.volumes, ['${AA_CERTS_DIR:-/tmp/agentwrit-certs}:/certs:ro']);
    for (const [k, v] of Object.entries(b.environment as Record<string, string>)) {
      // Broker variables, or the probe's own (read by scripts/healthcheck.mjs).
      assert.ok(
        known.has(k) || (k.startsWith('AA_HEALTHCHECK_') && probe.includes(k)),
        `${file}: unknown variable ${k}`,
      );
      if (v.startsWith('/certs/')) {
        const name = v.slice('/certs/'.length);
        assert.ok(CERT_FILES.includes(name), `${file}: ${name} is not written by gen_test_certs.sh`);
        assert.match(gen, new RegExp(name.replace(/-key\.pem$/, '').replace('.pem', '')), name);
      }
    }
  }
  assert.equal(yaml('docker-compose.mtls.yml').services.broker.environment.AA_TLS_CLIENT_CA, '/certs/ca.pem');
});

test('release workflow: multi-arch build, the documented tags, keyless cosign signature, image name as a variable', () => {
  const wf = read('.github/workflows/release.yml');
  assert.match(wf, /platforms: linux\/amd64,linux\/arm64/);
  assert.match(wf, /type=raw,value=latest,enable=\{\{is_default_branch\}\}/);
  assert.match(wf, /type=sha,prefix=main-/);
  for (const p of ['v{{version}}', 'v{{major}}.{{minor}}', 'v{{major}}'])
    assert.ok(wf.includes(`type=semver,pattern=${p}`), p);
  assert.match(wf, /IMAGE_NAME: \$\{\{ vars\.IMAGE_NAME \|\| 'devonartis\/agentwrit' \}\}/);
  assert.match(wf, /id-token: write/);
  assert.match(wf, /cosign sign --yes "docker\.io\/\$\{IMAGE_NAME\}@\$\{DIGEST\}"/);
  assert.match(wf, /uses: \.\/\.github\/workflows\/ci\.yml/);
  // The guide's verification command pins this workflow's path.
  assert.ok(read('docs/operator-guide.md').includes("release\\.yml@'"));
});

test('YAML files parse with a full YAML parser too, when python3 has PyYAML', (t) => {
  const py = spawnSync('python3', ['-c', 'import yaml'], { stdio: 'ignore' });
  if (py.status !== 0) {
    t.skip('python3 with PyYAML not available');
    return;
  }
  const files = [
    'docker-compose.yml',
    'docker-compose.tls.yml',
    'docker-compose.mtls.yml',
    'docker-compose.ha.yml',
    'docs/openapi.yaml',
  ];
  const workflows = readdirSync(join(root, '.github/workflows')).map((f) => join('.github/workflows', f));
  const script = 'import sys,yaml,json; print(json.dumps([yaml.safe_load(open(f)) for f in sys.argv[1:]]))';
  const out = spawnSync('python3', ['-c', script, ...files, ...workflows], { cwd: root, encoding: 'utf8' });
  assert.equal(out.status, 0, out.stderr);
  const parsed = JSON.parse(out.stdout) as unknown[];
  // The subset reader used by the other checks agrees with PyYAML on every file it reads.
  files.forEach((f, i) => {
    assert.deepEqual(parseYaml(read(f)), parsed[i], f);
  });
  for (const w of parsed.slice(files.length) as Record<string, unknown>[]) assert.ok(w.jobs, 'workflow has jobs');
});

const HA = 'docker-compose.ha.yml';
const REPLICAS = ['broker1', 'broker2', 'broker3'];
const HAPROXY_CFG = 'deploy/haproxy/haproxy.cfg';
/** `${NAME:-}`: the variable from the host environment, empty (the broker default) when unset. */
const fromHost = (name: string): string => `\${${name}:-}`;

/** A pinned image: a name and a numeric version tag (major.minor at least), never `latest` or a bare major. */
function assertPinned(image: string, name: string): void {
  assert.match(image, new RegExp(`^${name}:\\d+\\.\\d+(\\.\\d+)?(-[a-z0-9.]+)?(@sha256:[0-9a-f]{64})?$`), image);
}

/** `haproxy.cfg` as sections: `backend brokers` → its directive lines, comments and blank lines dropped. */
function haproxySections(text: string): Map<string, string[]> {
  const sections = new Map<string, string[]>();
  let current: string[] | null = null;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/(^|\s)#.*$/, '').trimEnd();
    if (line.trim() === '') continue;
    if (!/^\s/.test(line)) {
      current = [];
      sections.set(line.trim().replace(/\s+/g, ' '), current);
    } else {
      assert.ok(current !== null, `${HAPROXY_CFG}: directive outside a section: ${line}`);
      current.push(line.trim().replace(/\s+/g, ' '));
    }
  }
  return sections;
}

test('docker-compose.ha.yml: PostgreSQL with a password from the environment, a named volume and a pg_isready check', () => {
  const c = yaml(HA);
  assert.deepEqual(Object.keys(c.services).sort(), ['broker1', 'broker2', 'broker3', 'lb', 'postgres']);
  const pgs = c.services.postgres;
  assertPinned(pgs.image, 'postgres');
  assert.match(pgs.environment.POSTGRES_PASSWORD, /^\$\{AA_POSTGRES_PASSWORD:\?/, 'required, no default password');
  const [volName, mount] = (pgs.volumes[0] as string).split(':');
  assert.ok(Object.hasOwn(c.volumes, volName as string), `volume ${volName} declared`);
  assert.equal(mount, '/var/lib/postgresql/data');
  assert.equal(pgs.healthcheck.test[0], 'CMD');
  assert.equal(pgs.healthcheck.test[1], 'pg_isready');
  const probe = (pgs.healthcheck.test as string[]).join(' ');
  assert.ok(
    probe.includes(`-U ${pgs.environment.POSTGRES_USER}`) && probe.includes(`-d ${pgs.environment.POSTGRES_DB}`),
  );
  assert.equal(pgs.ports, undefined, 'the database is not published');
});

test('docker-compose.ha.yml: three replicas like docker-compose.yml, on the postgres service, each with its own key volume', () => {
  const c = yaml(HA);
  const base = yaml('docker-compose.yml').services.broker;
  const pgEnv = c.services.postgres.environment;
  const volumes = new Set<string>();
  for (const name of REPLICAS) {
    const b = c.services[name];
    assert.deepEqual(b.build, base.build, `${name}: the same image as docker-compose.yml`);
    assert.match(read(HA), /^\s+# image: \S+\/agentwrit:v\d/m, 'commented image: line');
    assert.deepEqual(b.healthcheck, base.healthcheck, `${name}: the same health check as docker-compose.yml`);
    assert.equal(b.restart, base.restart);
    assert.equal(b.stop_grace_period, base.stop_grace_period);
    assert.deepEqual(b.networks, ['agentwrit-ha-net']);
    assert.deepEqual(
      b.depends_on,
      { postgres: { condition: 'service_healthy' } },
      `${name} waits for a healthy postgres`,
    );
    assert.equal(b.ports, undefined, `${name} publishes no port`);
    // Every variable the broker reads can be set from the host environment.
    for (const v of brokerVariables()) assert.ok(Object.hasOwn(b.environment, v), `${name}: ${v} not passed`);
    assert.match(b.environment.AA_ADMIN_SECRET, /^\$\{AA_ADMIN_SECRET:\?/);
    assert.equal(b.environment.AA_REVOCATION_MAX_LAG, fromHost('AA_REVOCATION_MAX_LAG'));
    // The database URL names the postgres service, its user and database, and the same required password.
    const url = b.environment.AA_DATABASE_URL as string;
    const password = /:(\$\{AA_POSTGRES_PASSWORD:\?[^}]*\})@/.exec(url)?.[1];
    assert.ok(password !== undefined, `${name}: the password comes from AA_POSTGRES_PASSWORD`);
    const target = parseDatabaseUrl(url.replace(password, 'pw'));
    assert.deepEqual(
      [target.host, target.port, target.user, target.database],
      ['postgres', 5432, pgEnv.POSTGRES_USER, pgEnv.POSTGRES_DB],
    );
    // Its own named volume holds its key file.
    assert.equal(b.volumes.length, 1);
    const [volName, mount] = (b.volumes[0] as string).split(':');
    assert.ok(Object.hasOwn(c.volumes, volName as string), `volume ${volName} declared`);
    assert.ok(b.environment.AA_SIGNING_KEY_PATH.startsWith(`${mount}/`));
    volumes.add(volName as string);
  }
  assert.equal(volumes.size, REPLICAS.length, 'one key volume per replica');
  assert.ok(!volumes.has(c.services.postgres.volumes[0].split(':')[0]));

  // The replicas differ only in audit archiving, which exactly one of them runs.
  const envs = REPLICAS.map((n) => c.services[n].environment as Record<string, string>);
  const archiving = envs.filter((e) => e.AA_AUDIT_RETENTION === fromHost('AA_AUDIT_RETENTION'));
  assert.equal(archiving.length, 1, 'AA_AUDIT_RETENTION comes from the host on exactly one replica');
  assert.equal(archiving[0]!.AA_AUDIT_ARCHIVE_DIR, fromHost('AA_AUDIT_ARCHIVE_DIR'));
  const strip = (e: Record<string, string>): Record<string, string> => {
    const { AA_AUDIT_RETENTION: _r, AA_AUDIT_ARCHIVE_DIR: _a, ...rest } = e;
    return rest;
  };
  for (const e of envs) {
    assert.deepEqual(strip(e), strip(envs[0]!));
    if (e !== archiving[0]) assert.deepEqual([e.AA_AUDIT_RETENTION, e.AA_AUDIT_ARCHIVE_DIR], ['', '']);
  }
});

test('docker-compose.ha.yml: only the load balancer publishes a port, on loopback by default; replicas trust only it', () => {
  const c = yaml(HA);
  const lb = c.services.lb;
  assertPinned(lb.image, 'haproxy');
  const published = Object.entries(c.services).filter(([, s]) => (s as { ports?: unknown }).ports !== undefined);
  assert.deepEqual(
    published.map(([n]) => n),
    ['lb'],
  );
  // biome-ignore lint/suspicious/noTemplateCurlyInString: Compose interpolation syntax, checked literally
  assert.deepEqual(lb.ports, ['${AA_HOST_BIND:-127.0.0.1}:${AA_HOST_PORT:-8080}:8080']);
  const [src, dst, mode] = (lb.volumes[0] as string).split(':');
  assert.equal(src, `./${HAPROXY_CFG}`);
  assert.ok(existsSync(join(root, src as string)), `${src} exists`);
  assert.equal(dst, '/usr/local/etc/haproxy/haproxy.cfg');
  assert.equal(mode, 'ro');
  assert.deepEqual(Object.keys(lb.depends_on).sort(), REPLICAS);
  // X-Forwarded-For is believed from the load balancer's fixed address, inside the network's subnet.
  const address = lb.networks['agentwrit-ha-net'].ipv4_address as string;
  const subnet = c.networks['agentwrit-ha-net'].ipam.config[0].subnet as string;
  const prefix = subnet.split('.').slice(0, 3).join('.');
  assert.match(subnet, /\/24$/);
  assert.ok(address.startsWith(`${prefix}.`), `${address} in ${subnet}`);
  for (const n of REPLICAS) {
    assert.equal(c.services[n].environment.AA_TRUSTED_PROXIES, `\${AA_TRUSTED_PROXIES:-${address}}`, n);
  }
  assert.equal(c.services.postgres.networks[0], 'agentwrit-ha-net');
});

test('docker-compose.ha.yml interpolates only broker variables and the Compose-only ones the README lists', () => {
  const known = brokerVariables();
  const readme = read('README.md');
  const compose = read(HA).replace(/^\s*#.*$/gm, '');
  for (const m of compose.matchAll(/\$\{([A-Z0-9_]+)[:}]/g)) {
    const v = m[1] as string;
    assert.ok(known.has(v) || readme.includes(`\`${v}\``), `${v} is neither a broker variable nor in the README`);
  }
});

test('HAProxy config: round robin over the three replicas, active and passive health checks on /v1/health', (t) => {
  const sections = haproxySections(read(HAPROXY_CFG));
  const c = yaml(HA);
  const frontend = [...sections].find(([k]) => k.startsWith('frontend '))?.[1] ?? [];
  const port = (c.services.lb.ports[0] as string).split(':').at(-1);
  assert.ok(frontend.includes(`bind :${port}`), `the frontend listens on the published container port ${port}`);
  assert.ok(frontend.includes('option forwardfor'), 'the replicas learn the client address');
  const backendName = frontend.find((l) => l.startsWith('default_backend '))?.split(' ')[1];
  const backend = sections.get(`backend ${backendName}`);
  assert.ok(backend !== undefined, `backend ${backendName}`);
  assert.ok(backend.includes('balance roundrobin'));
  assert.ok(backend.includes('option httpchk'));
  assert.ok(
    backend.some((l) => /^http-check send meth GET uri \/v1\/health( |$)/.test(l)),
    'checks GET /v1/health',
  );
  assert.ok(backend.includes('http-check expect status 200'), 'only a 200 is healthy (503 degraded is not)');
  const defaults = backend.find((l) => l.startsWith('default-server ')) ?? '';
  assert.match(defaults, / check( |$)/, 'active checks');
  assert.match(defaults, / observe layer7( |$)/, 'passive checks on live traffic');
  const servers = backend.filter((l) => l.startsWith('server ')).map((l) => l.split(' ').slice(1, 3));
  const replicaPort = c.services.broker1.environment.AA_PORT;
  assert.deepEqual(
    servers,
    REPLICAS.map((n) => [n, `${n}:${replicaPort}`]),
  );
  for (const n of REPLICAS) assert.equal(c.services[n].environment.AA_PORT, replicaPort);

  // With haproxy installed, its own parser accepts the file too (the replica names do not resolve here).
  const check = spawnSync('haproxy', ['-c', '-f', join(root, HAPROXY_CFG)], { encoding: 'utf8' });
  if (check.error !== undefined) {
    t.diagnostic('haproxy not installed: its own configuration check skipped');
    return;
  }
  assert.equal(check.status, 0, check.stdout + check.stderr);
});
