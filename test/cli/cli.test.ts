/** Help, usage errors and the bin/awrit launcher. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { COMMANDS } from '../../src/cli/commands/index.js';
import { commandHelp } from '../../src/cli/help.js';
import { awrit, errorLine, ROOT } from './awrit.js';

const MAIN_JS = join(ROOT, 'dist', 'cli', 'main.js');

/** Newest modification time under a directory. */
function newest(dir: string): number {
  return Math.max(
    0,
    ...readdirSync(dir, { withFileTypes: true }).map((e) =>
      e.isDirectory() ? newest(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs,
    ),
  );
}

// bin/awrit runs dist/: build it when it is missing or older than the CLI sources. tsc emits even when some other
// file of the tree has a type error, so only the presence of the output is checked.
before(() => {
  if (!existsSync(MAIN_JS) || statSync(MAIN_JS).mtimeMs < newest(join(ROOT, 'src', 'cli'))) {
    spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'pipe' });
  }
  assert.ok(existsSync(MAIN_JS), 'npm run build produced dist/cli/main.js');
});

test('bin/awrit --help runs the compiled CLI and documents commands, flags, environment and exit codes', async () => {
  const r = await awrit(['--help'], { bin: join(ROOT, 'bin', 'awrit') });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  for (const c of COMMANDS) assert.ok(r.stdout.includes(`  ${c.path.join(' ')} `), c.path.join(' '));
  for (const f of ['--json', '--cacert FILE', '--cert FILE', '--key FILE', '--timeout DURATION', '-h, --help']) {
    assert.ok(r.stdout.includes(f), f);
  }
  for (const v of ['AACTL_BROKER_URL', 'AACTL_ADMIN_SECRET', 'AACTL_CA_CERT', 'AACTL_CLIENT_CERT', 'AACTL_CLIENT_KEY']) {
    assert.ok(r.stdout.includes(v), v);
  }
  assert.match(r.stdout, /Exit codes:\n {2}0 {2}success\n {2}1 {2}refused.*\n(.*\n)* {2}2 {2}usage error.*\n {2}3 {2}cannot reach the broker/);
  const v = await awrit(['--version'], { bin: join(ROOT, 'bin', 'awrit') });
  assert.equal(v.stdout, 'awrit 2.0.0\n');
});

test('every command --help lists each of its flags', async () => {
  // Every help text, as the CLI renders it, then a few of them through the real process.
  for (const c of COMMANDS) {
    const text = commandHelp(c);
    assert.match(text, new RegExp(`^Usage:\\n {2}awrit ${c.path.join(' ')}`, 'm'));
    for (const f of c.flags) assert.match(text, new RegExp(`^ {2}--${f.name}\\b.* {2}\\S`, 'm'), `${c.path.join(' ')} --${f.name}`);
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
  const cases: Array<[string[], string]> = [
    [['frobnicate'], `awrit: unknown command "frobnicate" (see 'awrit --help')`],
    [['app', 'get', 'a', 'b'], `awrit: unexpected argument "b" (see 'awrit app get --help')`],
    [['audit', 'events', '--limit', '0'], "awrit: --limit must be at least 1, got 0 (see 'awrit audit events --help')"],
    [['revoke', '--level', 'task'], "awrit: --target is required (see 'awrit revoke --help')"],
    [['token', 'release'], "awrit: --token is required (see 'awrit token release --help')"],
    [['audit', 'events', '--limit', '1', '--limit', '2'], "awrit: flag --limit given more than once (see 'awrit audit events --help')"],
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
  assert.ok(bash.stdout.includes('"app register") words="--name --scopes --token-ttl --json --cacert --cert --key --timeout --help"'));
});
