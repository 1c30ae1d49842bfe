/**
 * Static checks of the Docker artefacts (no Docker engine runs here): the Dockerfile's shape, the build context
 * .dockerignore leaves, and the compose files parse, pass every broker variable and reference paths that exist.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
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
  const files = ['docker-compose.yml', 'docker-compose.tls.yml', 'docker-compose.mtls.yml', 'docs/openapi.yaml'];
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
