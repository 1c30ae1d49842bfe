import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, beforeEach, describe, it } from 'node:test';
import { sha256Utf8 } from '../../src/config/admin-secret.js';
import type { Config } from '../../src/config/config.js';
import { ConfigError, loadConfig, startupWarnings } from '../../src/config/config.js';
import {
  ConfigFileParser,
  configFileCandidates,
  MAX_LINE_BYTES,
  parseConfigText,
} from '../../src/config/config-file.js';

const root = mkdtempSync(join(tmpdir(), 'cfg-file-'));
after(() => rmSync(root, { recursive: true, force: true }));
const TS = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/;

let dir = '';
let caseNo = 0;
beforeEach(() => {
  dir = join(root, String(caseNo++));
  mkdirSync(join(dir, 'home', '.broker'), { recursive: true });
  mkdirSync(join(dir, 'etc'), { recursive: true });
});

const etcPath = () => join(dir, 'etc', 'config');
const homeConfig = () => join(dir, 'home', '.broker', 'config');

function put(path: string, text: string, mode = 0o600): string {
  writeFileSync(path, text);
  chmodSync(path, mode);
  return path;
}

// `home: 'from-env'` leaves homeDir out so loadConfig falls back to env.HOME.
function load(env: NodeJS.ProcessEnv, home: string | null | 'from-env' = join(dir, 'home')) {
  const warnings: string[] = [];
  const warn = (l: string) => void warnings.push(l);
  const cfg = loadConfig(
    env,
    home === 'from-env' ? { etcPath: etcPath(), warn } : { etcPath: etcPath(), homeDir: home, warn },
  );
  return { cfg, warnings: warnings.map((l) => l.replace(TS, '<ts>')) };
}

function secretOf(cfg: Config): Buffer | string {
  return cfg.adminSecret.kind === 'sha256' ? cfg.adminSecret.digest : cfg.adminSecret.hash;
}

describe('search order', () => {
  it('prefers $AA_CONFIG_PATH, then /etc/broker/config, then $HOME/.broker/config', () => {
    const explicit = put(join(dir, 'explicit'), 'ADMIN_SECRET=one\n');
    put(etcPath(), 'ADMIN_SECRET=two\n');
    put(homeConfig(), 'ADMIN_SECRET=three\n');
    let r = load({ AA_CONFIG_PATH: explicit });
    assert.equal(r.cfg.configFile, explicit);
    assert.deepEqual(secretOf(r.cfg), sha256Utf8('one'));
    r = load({});
    assert.equal(r.cfg.configFile, etcPath());
    assert.deepEqual(secretOf(r.cfg), sha256Utf8('two'));
    rmSync(etcPath());
    r = load({ AA_CONFIG_PATH: join(dir, 'missing') });
    assert.equal(r.cfg.configFile, homeConfig());
    assert.deepEqual(secretOf(r.cfg), sha256Utf8('three'));
    assert.deepEqual(r.warnings, []);
  });

  it('builds the candidate list from env and options', () => {
    assert.deepEqual(configFileCandidates({ AA_CONFIG_PATH: '/x', HOME: '/h' }), [
      '/x',
      '/etc/broker/config',
      '/h/.broker/config',
    ]);
    assert.deepEqual(configFileCandidates({ AA_CONFIG_PATH: '', HOME: '' }), ['/etc/broker/config']);
    assert.deepEqual(configFileCandidates({ HOME: '/h' }, { homeDir: null, etcPath: '/e' }), ['/e']);
    assert.deepEqual(configFileCandidates({ HOME: '/h' }, { homeDir: '/other' }), [
      '/etc/broker/config',
      '/other/.broker/config',
    ]);
  });

  it('falls back to env HOME when no home directory is injected, and skips home when unknown', () => {
    put(homeConfig(), 'ADMIN_SECRET=from-home\n');
    const viaEnv = load({ HOME: join(dir, 'home') }, 'from-env');
    assert.equal(viaEnv.cfg.configFile, homeConfig());
    assert.throws(() => load({ HOME: join(dir, 'home') }, null), ConfigError);
    assert.throws(() => load({ HOME: '' }, 'from-env'), ConfigError);
    assert.throws(() => load({}, 'from-env'), ConfigError);
  });

  it('stops at the first acceptable file even without ADMIN_SECRET', () => {
    put(etcPath(), 'MODE=production\n');
    put(homeConfig(), 'ADMIN_SECRET=never-read\n');
    assert.throws(() => load({}), ConfigError);
    const r = load({ AA_ADMIN_SECRET: 'env-secret' });
    assert.equal(r.cfg.configFile, etcPath());
    assert.equal(r.cfg.mode, 'production');
  });

  it('accepts an empty file as the config file', () => {
    put(etcPath(), '');
    put(homeConfig(), 'MODE=production\nADMIN_SECRET=x\n');
    const r = load({ AA_ADMIN_SECRET: 'e' });
    assert.equal(r.cfg.configFile, etcPath());
    assert.equal(r.cfg.mode, 'development');
  });
});

describe('per-candidate rules', () => {
  it('skips a symlink with the exact warning, even one pointing at a good file', () => {
    const target = put(join(dir, 'target'), 'ADMIN_SECRET=via-link\n');
    const link = join(dir, 'link');
    symlinkSync(target, link);
    put(homeConfig(), 'ADMIN_SECRET=home\n');
    const r = load({ AA_CONFIG_PATH: link });
    assert.equal(r.cfg.configFile, homeConfig());
    assert.deepEqual(r.warnings, [
      `[AA:CFG:WARN] <ts> | configfile | config path is a symlink, skipping | path=${link}`,
    ]);
  });

  it('warns about a dangling symlink too (lstat, not stat)', () => {
    const link = join(dir, 'dangling');
    symlinkSync(join(dir, 'nowhere'), link);
    const r = load({ AA_CONFIG_PATH: link, AA_ADMIN_SECRET: 'x' });
    assert.equal(r.cfg.configFile, null);
    assert.deepEqual(r.warnings, [
      `[AA:CFG:WARN] <ts> | configfile | config path is a symlink, skipping | path=${link}`,
    ]);
  });

  for (const mode of [0o644, 0o640, 0o604, 0o660, 0o610, 0o601, 0o777]) {
    const perms = mode.toString(8).padStart(4, '0');
    it(`skips a ${perms} file with the exact warning`, () => {
      put(etcPath(), 'ADMIN_SECRET=loose\n', mode);
      put(homeConfig(), 'ADMIN_SECRET=tight\n');
      const r = load({});
      assert.equal(r.cfg.configFile, homeConfig());
      assert.deepEqual(secretOf(r.cfg), sha256Utf8('tight'));
      assert.deepEqual(r.warnings, [
        `[AA:CFG:WARN] <ts> | configfile | config file has insecure permissions, skipping | path=${etcPath()} perms=${perms} expected=0600`,
      ]);
    });
  }

  for (const mode of [0o600, 0o400, 0o700, 0o000]) {
    // Only root can read a 0000 file; for anyone else it is the unreadable-path case below.
    const unreadable = mode === 0o000 && process.getuid?.() !== 0;
    it(`accepts a ${mode.toString(8).padStart(4, '0')} file (owner bits are not checked)`, {
      skip: unreadable && 'not root',
    }, () => {
      put(etcPath(), 'ADMIN_SECRET=ok\n', mode);
      const r = load({});
      assert.equal(r.cfg.configFile, etcPath());
      assert.deepEqual(r.warnings, []);
    });
  }

  it('silently skips a path that cannot be opened', () => {
    const blocker = put(join(dir, 'plainfile'), 'x');
    put(homeConfig(), 'ADMIN_SECRET=home\n');
    const r = load({ AA_CONFIG_PATH: join(blocker, 'config') });
    assert.equal(r.cfg.configFile, homeConfig());
    assert.deepEqual(r.warnings, []);
  });

  it('skips a directory with a warning', () => {
    const d = join(dir, 'adir');
    mkdirSync(d, { mode: 0o700 });
    put(homeConfig(), 'ADMIN_SECRET=home\n');
    const r = load({ AA_CONFIG_PATH: d });
    assert.equal(r.cfg.configFile, homeConfig());
    assert.deepEqual(r.warnings, [
      `[AA:CFG:WARN] <ts> | configfile | config path is not a regular file, skipping | path=${d}`,
    ]);
  });

  it('does not hang on a FIFO', () => {
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', ['-m', '600', fifo]);
    const r = load({ AA_CONFIG_PATH: fifo, AA_ADMIN_SECRET: 'x' });
    assert.equal(r.cfg.configFile, null);
    assert.deepEqual(r.warnings, [
      `[AA:CFG:WARN] <ts> | configfile | config path is not a regular file, skipping | path=${fifo}`,
    ]);
  });

  it('logs a path with a newline without breaking the line', () => {
    const odd = put(join(dir, 'a\nb'), 'x', 0o644);
    const r = load({ AA_CONFIG_PATH: odd, AA_ADMIN_SECRET: 'x' });
    assert.equal(r.warnings.length, 1);
    assert.ok(!(r.warnings[0] as string).includes('\n'));
    assert.ok((r.warnings[0] as string).includes(`path=${join(dir, 'a')}\\nb perms=0644`));
  });
});

describe('precedence', () => {
  it('a non-empty AA_ADMIN_SECRET wins over the file; an empty one lets the file supply it', () => {
    put(etcPath(), 'ADMIN_SECRET=file-secret\n');
    assert.deepEqual(secretOf(load({ AA_ADMIN_SECRET: 'env-secret' }).cfg), sha256Utf8('env-secret'));
    assert.deepEqual(secretOf(load({ AA_ADMIN_SECRET: '' }).cfg), sha256Utf8('file-secret'));
  });

  it('rejects the weak default from the file, and an empty file secret with no env secret', () => {
    put(etcPath(), 'ADMIN_SECRET=change-me-in-production\n');
    assert.throws(() => load({}), /known-weak default/);
    assert.doesNotThrow(() => load({ AA_ADMIN_SECRET: 'strong' }));
    put(etcPath(), 'ADMIN_SECRET=\n');
    assert.throws(() => load({}), /known-weak default/);
  });

  it('takes a bcrypt hash from the file as a hash', () => {
    const hash = `$2a$12$${'R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW'.slice(0, 53)}`;
    put(etcPath(), `ADMIN_SECRET=${hash}\n`);
    assert.deepEqual(load({}).cfg.adminSecret, { kind: 'bcrypt', hash });
  });

  it('reads MODE only from the file; other settings in the file have no effect', () => {
    put(etcPath(), 'MODE=production\nADMIN_SECRET=x\nAA_PORT=9999\nAA_LOG_LEVEL=quiet\n');
    const r = load({ MODE: 'development' });
    assert.equal(r.cfg.mode, 'production');
    assert.equal(r.cfg.port, 8080);
    assert.equal(r.cfg.logLevel, 'verbose');
    assert.deepEqual(startupWarnings(r.cfg), []);
  });

  it('shows the dev-mode warning for MODE=development and for a file without MODE', () => {
    put(etcPath(), 'MODE=development\nADMIN_SECRET=x\n');
    assert.equal(startupWarnings(load({}).cfg).length, 1);
    put(etcPath(), 'ADMIN_SECRET=x\n');
    assert.equal(load({}).cfg.mode, 'development');
  });
});

describe('KEY=VALUE format', () => {
  it('trims lines, keys and values and skips comments, blanks and lines without =', () => {
    const v = parseConfigText(
      '# comment\n\n   \n  # indented comment\nno equals sign\n  MODE  =  production  \r\n\tADMIN_SECRET\t=\tabc\t\r\n',
    );
    assert.deepEqual(v, { mode: 'production', adminSecret: 'abc' });
  });

  it('splits at the first = and keeps quotes, inline comments and $ verbatim', () => {
    assert.deepEqual(parseConfigText('ADMIN_SECRET=a=b=c\n'), { adminSecret: 'a=b=c' });
    assert.deepEqual(parseConfigText('ADMIN_SECRET="quoted" # not a comment\n'), {
      adminSecret: '"quoted" # not a comment',
    });
    assert.deepEqual(parseConfigText("ADMIN_SECRET='$HOME'\n"), { adminSecret: "'$HOME'" });
  });

  it('recognises only MODE and ADMIN_SECRET, case-sensitively, later duplicates winning', () => {
    assert.deepEqual(parseConfigText('mode=production\nAdmin_Secret=x\nexport MODE=y\n'), {});
    assert.deepEqual(parseConfigText('MODE=a\nMODE=b\nADMIN_SECRET=1\nADMIN_SECRET=2'), {
      mode: 'b',
      adminSecret: '2',
    });
  });

  it('does not treat a UTF-8 BOM as whitespace (as Go)', () => {
    assert.deepEqual(parseConfigText('\ufeffMODE=production\nADMIN_SECRET=s\n'), { adminSecret: 's' });
  });

  it('reads a last line without a newline', () => {
    assert.deepEqual(parseConfigText('MODE=a\nADMIN_SECRET=tail'), { mode: 'a', adminSecret: 'tail' });
  });

  it('accepts a line of 65535 bytes and stops at one of 65536, keeping earlier values', () => {
    const justFits = 'X'.repeat(MAX_LINE_BYTES - 1);
    assert.deepEqual(parseConfigText(`MODE=a\n${justFits}\nADMIN_SECRET=after\n`), { mode: 'a', adminSecret: 'after' });
    const tooLong = 'X'.repeat(MAX_LINE_BYTES);
    assert.deepEqual(parseConfigText(`MODE=a\n${tooLong}\nADMIN_SECRET=after\nMODE=b\n`), { mode: 'a' });
    assert.deepEqual(parseConfigText(`MODE=a\n${tooLong}`), { mode: 'a' });
    // The limit counts bytes, not characters: 21846 three-byte characters are 65538 bytes.
    assert.deepEqual(parseConfigText(`MODE=a\nADMIN_SECRET=${'€'.repeat(21846)}\nMODE=b\n`), { mode: 'a' });
  });

  it('gives the same result however the bytes are chunked', () => {
    const text = Buffer.from(`# c\r\nMODE=prod\r\nADMIN_SECRET=s€cret=1\r\n${'Y'.repeat(70000)}\nMODE=late\n`);
    const whole = parseConfigText(text);
    assert.deepEqual(whole, { mode: 'prod', adminSecret: 's€cret=1' });
    for (const size of [1, 2, 7, 4096, 65536]) {
      const p = new ConfigFileParser();
      for (let i = 0; i < text.length; i += size) p.push(text.subarray(i, i + size));
      assert.deepEqual(p.end(), whole, `chunk size ${size}`);
    }
  });

  it('parses a real file larger than one read chunk', () => {
    const filler = `# ${'z'.repeat(100)}\n`;
    put(etcPath(), `${filler.repeat(2000)}ADMIN_SECRET=deep\nMODE=production\n`);
    const r = load({});
    assert.deepEqual(secretOf(r.cfg), sha256Utf8('deep'));
    assert.equal(r.cfg.mode, 'production');
  });
});
