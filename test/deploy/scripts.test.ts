/** Shell scripts pass shellcheck and behave without Docker; the systemd unit verifies and is hardened. */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const shellScripts = readdirSync(join(root, 'scripts'))
  .filter((f) => f.endsWith('.sh'))
  .map((f) => join('scripts', f));

function which(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

test('shell scripts exist and parse', () => {
  for (const name of ['stack_up.sh', 'stack_down.sh', 'gen_test_certs.sh', 'install.sh', 'uninstall.sh']) {
    assert.ok(shellScripts.includes(join('scripts', name)), `scripts/${name} missing`);
  }
  for (const s of shellScripts) {
    const r = spawnSync('bash', ['-n', s], { cwd: root, encoding: 'utf8' });
    assert.equal(r.status, 0, `${s}: ${r.stderr}`);
  }
});

test('shell scripts pass shellcheck', { skip: which('shellcheck') ? false : 'shellcheck not installed' }, () => {
  const r = spawnSync('shellcheck', ['--severity=info', ...shellScripts], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

test('stack_up.sh refuses to start without AA_ADMIN_SECRET (before touching Docker)', () => {
  const env = { PATH: process.env.PATH ?? '' };
  const r = spawnSync('bash', ['scripts/stack_up.sh'], { cwd: root, env, encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /AA_ADMIN_SECRET is not set/);
  const weak = spawnSync('bash', ['scripts/stack_up.sh'], {
    cwd: root,
    env: { ...env, AA_ADMIN_SECRET: 'change-me-in-production' },
    encoding: 'utf8',
  });
  assert.equal(weak.status, 1);
  assert.match(weak.stderr, /known-weak/);
  assert.equal(spawnSync('bash', ['scripts/stack_up.sh', '--bogus'], { cwd: root, env, encoding: 'utf8' }).status, 2);
});

test('stack_down.sh keeps the data volume unless --delete-data is given', () => {
  const src = readFileSync(join(root, 'scripts/stack_down.sh'), 'utf8');
  const downs = src.split('\n').filter((l) => /^\s*docker compose down/.test(l));
  assert.equal(downs.length, 2);
  assert.ok(
    downs.some((l) => !/(\s-v\b|--volumes)/.test(l)),
    'a plain down without -v/--volumes',
  );
  // Run it against a stub `docker` that records its arguments.
  const bin = mkdtempSync(join(tmpdir(), 'awdocker-'));
  try {
    writeFileSync(join(bin, 'docker'), `#!/bin/sh\necho "$@" >> "${bin}/calls"\n`, { mode: 0o755 });
    const env = { PATH: `${bin}:${process.env.PATH ?? ''}` };
    assert.equal(spawnSync('bash', ['scripts/stack_down.sh'], { cwd: root, env }).status, 0);
    assert.equal(spawnSync('bash', ['scripts/stack_down.sh', '--delete-data'], { cwd: root, env }).status, 0);
    const calls = readFileSync(join(bin, 'calls'), 'utf8').trim().split('\n');
    assert.deepEqual(calls, ['compose down --remove-orphans', 'compose down --volumes --remove-orphans']);
  } finally {
    rmSync(bin, { recursive: true, force: true });
  }
});

const unitPath = join(root, 'deploy/systemd/agentwrit.service');

function unitSettings(): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const line of readFileSync(unitPath, 'utf8').split('\n')) {
    const kv = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (kv) m.set(kv[1] as string, [...(m.get(kv[1] as string) ?? []), kv[2] as string]);
  }
  return m;
}

test('systemd unit carries the required hardening', () => {
  const s = unitSettings();
  const one = (k: string): string | undefined => s.get(k)?.at(-1);
  assert.equal(one('User'), 'agentwrit');
  assert.equal(one('NoNewPrivileges'), 'yes');
  assert.equal(one('ProtectSystem'), 'strict');
  assert.equal(one('ReadWritePaths'), '/var/lib/agentwrit');
  assert.equal(one('PrivateTmp'), 'yes');
  assert.equal(one('ProtectHome'), 'yes');
  assert.equal(one('CapabilityBoundingSet'), '');
  assert.equal(one('Restart'), 'on-failure');
  assert.equal(one('EnvironmentFile'), '/etc/agentwrit/agentwrit.env');
  assert.match(one('ExecStart') ?? '', /^\/\S*node \/opt\/agentwrit\/bin\/broker$/);
  const env = s.get('Environment') ?? [];
  assert.ok(env.includes('AA_DB_PATH=/var/lib/agentwrit/data.db'));
  assert.ok(env.includes('AA_SIGNING_KEY_PATH=/var/lib/agentwrit/signing.key'));
  assert.ok(env.includes('AA_CONFIG_PATH=/etc/agentwrit/config'));
  // V8's JIT needs writable+executable memory: this setting would make node crash.
  assert.equal(s.get('MemoryDenyWriteExecute'), undefined);
});

test('systemd unit passes systemd-analyze verify', {
  skip: which('systemd-analyze') ? false : 'systemd-analyze not installed',
}, () => {
  // As the installer does: point ExecStart at the node that runs here, since verify checks the binary exists.
  const dir = mkdtempSync(join(tmpdir(), 'awunit-'));
  try {
    const unit = join(dir, 'agentwrit.service');
    writeFileSync(
      unit,
      readFileSync(unitPath, 'utf8').replace(/^ExecStart=\/usr\/bin\/node /m, `ExecStart=${process.execPath} `),
    );
    const r = spawnSync('systemd-analyze', ['verify', unit], {
      encoding: 'utf8',
      env: { ...process.env, SYSTEMD_LOG_LEVEL: 'warning' },
    });
    const complaints = (r.stderr + r.stdout).split('\n').filter((l) => l.includes('agentwrit.service'));
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(complaints, []);
    const sec = spawnSync('systemd-analyze', ['security', '--offline=true', unit], { encoding: 'utf8' });
    if (sec.status === 0 || /Overall exposure/.test(sec.stdout)) {
      const score = Number(/Overall exposure level for \S+: ([0-9.]+)/.exec(sec.stdout)?.[1]);
      assert.ok(score <= 2.5, `exposure ${score}`);
      assert.doesNotMatch(sec.stderr, /Unknown key/);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('install.sh wires the unit, the env example and awrit init as documented', () => {
  const src = readFileSync(join(root, 'scripts/install.sh'), 'utf8');
  assert.match(src, /awrit" init --mode prod --config-path "\$CONF_DIR\/config"/);
  assert.match(src, /deploy\/systemd\/agentwrit\.service/);
  assert.match(src, /deploy\/systemd\/agentwrit\.env\.example/);
  assert.match(src, /PREFIX=\/opt\/agentwrit/);
  assert.match(src, /STATE_DIR=\/var\/lib\/agentwrit/);
  const un = readFileSync(join(root, 'scripts/uninstall.sh'), 'utf8');
  // The state and config directories are only removed in the --purge branch.
  const purgeBranch = un.slice(un.indexOf('if [ "$purge" = 1 ]'));
  assert.ok(un.indexOf('rm -rf "$CONF_DIR" "$STATE_DIR"') > un.indexOf('if [ "$purge" = 1 ]'));
  assert.match(purgeBranch, /rm -rf "\$CONF_DIR" "\$STATE_DIR"/);
  execFileSync('bash', ['-n', join(root, 'scripts/install.sh')]);
});
