/** The commands that need no broker of their own: help, usage errors, the bin/awrit launcher and init. */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { COMMANDS } from '../../src/cli/commands/index.js';
import { commandHelp } from '../../src/cli/help.js';
import { parseConfigText } from '../../src/config/config-file.js';
import { startTestBroker } from '../helpers/broker.js';
import { awrit, errorLine } from './awrit.js';

test('bin/awrit --help runs the compiled CLI and documents commands, flags, environment and exit codes', async () => {
  const r = await awrit(['--help']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  for (const c of COMMANDS) assert.ok(r.stdout.includes(`  ${c.path.join(' ')} `), c.path.join(' '));
  for (const f of ['--json', '--cacert FILE', '--cert FILE', '--key FILE', '--timeout DURATION', '-h, --help']) {
    assert.ok(r.stdout.includes(f), f);
  }
  for (const v of [
    'AACTL_BROKER_URL',
    'AACTL_ADMIN_SECRET',
    'AACTL_CA_CERT',
    'AACTL_CLIENT_CERT',
    'AACTL_CLIENT_KEY',
  ]) {
    assert.ok(r.stdout.includes(v), v);
  }
  assert.match(
    r.stdout,
    /Exit codes:\n {2}0 {2}success\n {2}1 {2}refused.*\n(.*\n)* {2}2 {2}usage error.*\n {2}3 {2}cannot reach the broker/,
  );
  const v = await awrit(['--version']);
  assert.equal(v.stdout, 'awrit 2.0.0\n');
});

test('every command --help lists each of its flags', async () => {
  // Every help text, as the CLI renders it, then a few of them through the real process.
  for (const c of COMMANDS) {
    const text = commandHelp(c);
    assert.match(text, new RegExp(`^Usage:\\n {2}awrit ${c.path.join(' ')}`, 'm'));
    for (const f of c.flags)
      assert.match(text, new RegExp(`^ {2}--${f.name}\\b.* {2}\\S`, 'm'), `${c.path.join(' ')} --${f.name}`);
    assert.match(text, /^ {2}--json /m);
    assert.equal(text.includes('--cacert'), c.network);
  }
  const sample = COMMANDS.filter((c) => ['app register', 'audit events', 'init'].includes(c.path.join(' ')));
  const results = await Promise.all(sample.map((c) => awrit([...c.path, '--help'])));
  sample.forEach((c, i) => {
    assert.equal(results[i]?.code, 0);
    assert.equal(results[i]?.stdout, commandHelp(c));
  });
  const viaHelp = await awrit(['help', 'audit', 'events']);
  assert.equal(viaHelp.stdout, results[1]?.stdout);
});

test('usage errors: exit 2, one line on stderr, nothing on stdout', async () => {
  const cases: [string[], string][] = [
    [['frobnicate'], `awrit: unknown command "frobnicate" (see 'awrit --help')`],
    [['app', 'get', 'a', 'b'], `awrit: unexpected argument "b" (see 'awrit app get --help')`],
    [['audit', 'events', '--limit', '0'], "awrit: --limit must be at least 1, got 0 (see 'awrit audit events --help')"],
    [['revoke', '--level', 'task'], "awrit: --target is required (see 'awrit revoke --help')"],
    [['token', 'release'], "awrit: --token is required (see 'awrit token release --help')"],
    [
      ['audit', 'events', '--limit', '1', '--limit', '2'],
      "awrit: flag --limit given more than once (see 'awrit audit events --help')",
    ],
    [['init', '--cacert', 'x'], "awrit: unknown flag --cacert (see 'awrit init --help')"],
    [['audit', 'verify', '-x'], "awrit: unknown flag -x (see 'awrit audit verify --help')"],
    [['completion', 'powershell'], `awrit: unsupported shell "powershell": use bash, zsh or fish (see 'awrit --help')`],
  ];
  const results = await Promise.all(cases.map(([args]) => awrit(args)));
  results.forEach((r, i) => {
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stdout, '');
    assert.equal(errorLine(r), cases[i]?.[1]);
  });
  const group = await awrit(['app']);
  assert.equal(group.code, 0);
  assert.match(group.stdout, /^ {2}app register +Register/m);
  const bash = await awrit(['completion', 'bash']);
  assert.equal(bash.code, 0);
  assert.match(bash.stdout, /complete -F _awrit awrit/);
  assert.ok(
    bash.stdout.includes(
      '"app register") words="--name --scopes --token-ttl --json --cacert --cert --key --timeout --help"',
    ),
  );
});

const mode = (p: string): number => statSync(p).mode & 0o777;

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'awrit-init-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('init dev writes a 0600 file in 0700 dirs, refuses to overwrite, --force resets the mode', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'a', 'b', 'config');
  const dev = await awrit(['init', '--config-path', path]);
  assert.equal(dev.code, 0, dev.stderr);
  const m =
    /^Config written to: (.+)\n\nAdmin secret: ([A-Za-z0-9_-]{43})\n\nDev mode: secret is also stored in the config file\.\n$/.exec(
      dev.stdout,
    );
  assert.ok(m, dev.stdout);
  assert.equal(m[1], path);
  assert.equal(dev.stderr, `note: start the broker with AA_CONFIG_PATH=${path} so it reads this file\n`);
  const text = readFileSync(path, 'utf8');
  assert.match(
    text,
    /^# Broker Configuration\n# Generated by: awrit init --mode=development\n# Generated at: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n\nMODE=development\nADMIN_SECRET=[A-Za-z0-9_-]{43}\n$/,
  );
  assert.deepEqual(parseConfigText(text), { mode: 'development', adminSecret: m[2] });
  assert.equal(mode(path), 0o600);
  assert.equal(mode(join(dir, 'a')), 0o700);
  assert.equal(mode(join(dir, 'a', 'b')), 0o700);

  const again = await awrit(['init', '--config-path', path]);
  assert.equal(again.code, 1);
  assert.equal(errorLine(again), `awrit: config file already exists at ${path}. Use --force to overwrite`);
  assert.equal(readFileSync(path, 'utf8'), text);

  chmodSync(path, 0o644);
  const link = join(dir, 'link');
  symlinkSync(path, link);
  const [forced, viaLink, badMode] = await Promise.all([
    awrit(['init', '--config-path', path, '--force', '--json']),
    awrit(['init', '--config-path', link, '--force']),
    awrit(['init', '--mode', 'staging', '--config-path', join(dir, 'x')]),
  ]);
  assert.equal(forced.code, 0, forced.stderr);
  assert.match(forced.stderr, new RegExp(`^WARNING: Overwriting existing config at ${path}\n`));
  const j = JSON.parse(forced.stdout);
  assert.deepEqual(Object.keys(j), ['config_path', 'mode', 'admin_secret']);
  assert.equal(j.mode, 'development');
  assert.notEqual(j.admin_secret, m[2]);
  assert.equal(mode(path), 0o600, 'an overwritten file ends up 0600 even if it was 0644');
  assert.equal(parseConfigText(readFileSync(path)).adminSecret, j.admin_secret);
  assert.equal(viaLink.code, 1);
  assert.equal(errorLine(viaLink), `awrit: config path is a symlink: ${link}`);
  assert.equal(badMode.code, 2);
  assert.equal(errorLine(badMode), `awrit: invalid mode "staging": must be 'dev' or 'prod' (see 'awrit init --help')`);
});

test('init prod stores only a bcrypt hash, and a broker reading the file accepts the printed secret', async (t) => {
  const home = tempDir(t);
  const path = join(home, '.broker', 'config');
  const prod = await awrit(['init', '--mode', 'prod'], { env: { HOME: home } });
  assert.equal(prod.code, 0, prod.stderr);
  const m =
    /^Config written to: (.+)\n\nAdmin secret: ([A-Za-z0-9_-]{43})\n\nWARNING: Save this secret now\. It will not be shown again\.\nStore it in your secrets manager \(Vault, AWS Secrets Manager, etc\.\)\.\n$/.exec(
      prod.stdout,
    );
  assert.ok(m, prod.stdout);
  assert.equal(m[1], path, 'defaults to $HOME/.broker/config');
  const secret = m[2] ?? '';
  const values = parseConfigText(readFileSync(path));
  assert.equal(values.mode, 'production');
  assert.match(values.adminSecret ?? '', /^\$2[aby]\$12\$.{53}$/);
  assert.ok(!readFileSync(path, 'utf8').includes(secret));
  assert.equal(mode(path), 0o600);
  assert.equal(mode(join(home, '.broker')), 0o700);

  // The broker takes the secret from this file only (no AA_ADMIN_SECRET).
  const b = await startTestBroker(t, { env: { AA_ADMIN_SECRET: '', AA_CONFIG_PATH: path } });
  const env = { AACTL_BROKER_URL: b.url };
  const [good, bad] = await Promise.all([
    awrit(['app', 'list'], { env: { ...env, AACTL_ADMIN_SECRET: secret } }),
    awrit(['app', 'list'], { env: { ...env, AACTL_ADMIN_SECRET: `${secret}x` } }),
  ]);
  assert.equal(good.code, 0, good.stderr);
  assert.equal(good.stderr, 'Total: 0\n');
  assert.equal(bad.code, 1);
  assert.match(errorLine(bad), /401 unauthorized\): invalid credentials/);
});
