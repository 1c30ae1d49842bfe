import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { looksLikeBcrypt, sha256SecretMatches } from '../../src/config/admin-secret.js';
import type { Config } from '../../src/config/config.js';
import {
  ConfigError,
  devModeWarning,
  exposedBindWarning,
  loadConfig,
  startupWarnings,
} from '../../src/config/config.js';
import { parseDuration } from '../../src/config/duration.js';
import { goTrimSpace, parseGoInt } from '../../src/config/env-values.js';

const scratch = mkdtempSync(join(tmpdir(), 'cfg-env-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
// No config file anywhere: the etc candidate does not exist and there is no home directory.
const isolated = { etcPath: join(scratch, 'absent'), homeDir: null };
const TS = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/;

function load(env: NodeJS.ProcessEnv): { cfg: Config; warnings: string[] } {
  const warnings: string[] = [];
  const cfg = loadConfig({ AA_ADMIN_SECRET: 's3cret', ...env }, { ...isolated, warn: (l) => warnings.push(l) });
  return { cfg, warnings };
}

function stripTs(line: string): string {
  assert.match(line, TS);
  return line.replace(TS, '<ts>');
}

function configError(env: NodeJS.ProcessEnv): string {
  try {
    load(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err.message;
  }
  assert.fail('expected loadConfig to throw');
}

describe('defaults', () => {
  it('applies every documented default when nothing is set', () => {
    const { cfg, warnings } = load({});
    assert.deepEqual(warnings, []);
    assert.equal(cfg.port, 8080);
    assert.equal(cfg.bindAddress, '127.0.0.1');
    assert.equal(cfg.logLevel, 'verbose');
    assert.equal(cfg.trustDomain, 'agentwrit.local');
    assert.equal(cfg.issuer, '');
    assert.equal(cfg.audience, '');
    assert.equal(cfg.defaultTtl, 300);
    assert.equal(cfg.maxTtl, 86400);
    assert.equal(cfg.appTokenTtl, 1800);
    assert.equal(cfg.adminTokenTtl, 300);
    assert.equal(cfg.mode, 'development');
    assert.equal(cfg.configFile, null);
    assert.equal(cfg.seedTokens, false);
    assert.equal(cfg.dbPath, './data.db');
    assert.equal(cfg.signingKeyPath, './signing.key');
    assert.equal(cfg.tlsMode, 'none');
    assert.equal(cfg.tlsCert, '');
    assert.equal(cfg.tlsKey, '');
    assert.equal(cfg.tlsClientCa, '');
    assert.deepEqual(cfg.trustedProxies, []);
    assert.equal(cfg.ed25519, 'native');
    assert.equal(cfg.signingKeyMaxAge, null);
  });

  it('treats every variable set to the empty string exactly like unset', () => {
    const names = [
      'AA_PORT',
      'AA_BIND_ADDRESS',
      'AA_LOG_LEVEL',
      'AA_TRUST_DOMAIN',
      'AA_ISSUER',
      'AA_AUDIENCE',
      'AA_DEFAULT_TTL',
      'AA_MAX_TTL',
      'AA_APP_TOKEN_TTL',
      'AA_ADMIN_TOKEN_TTL',
      'AA_SEED_TOKENS',
      'AA_DB_PATH',
      'AA_SIGNING_KEY_PATH',
      'AA_TLS_MODE',
      'AA_TLS_CERT',
      'AA_TLS_KEY',
      'AA_TLS_CLIENT_CA',
      'AA_CONFIG_PATH',
      'AA_TRUSTED_PROXIES',
      'AA_ED25519',
      'AA_AUDIT_LOG_PATH',
      'AA_AUDIT_RETENTION',
      'AA_AUDIT_ARCHIVE_DIR',
    ];
    const empty = Object.fromEntries(names.map((n) => [n, '']));
    const a = load(empty);
    const b = load({});
    assert.deepEqual(a.cfg, b.cfg);
    assert.deepEqual(a.warnings, []);
  });
});

describe('overrides', () => {
  it('takes each string variable verbatim (no trimming)', () => {
    const { cfg } = load({
      AA_TRUST_DOMAIN: 'example.org',
      AA_ISSUER: ' https://issuer ',
      AA_AUDIENCE: 'aud-1',
      AA_DB_PATH: '/var/lib/broker/db.sqlite',
      AA_SIGNING_KEY_PATH: '/keys/k.pem',
    });
    assert.equal(cfg.trustDomain, 'example.org');
    assert.equal(cfg.issuer, ' https://issuer ');
    assert.equal(cfg.audience, 'aud-1');
    assert.equal(cfg.dbPath, '/var/lib/broker/db.sqlite');
    assert.equal(cfg.signingKeyPath, '/keys/k.pem');
  });

  it('reads each TTL variable', () => {
    const { cfg, warnings } = load({
      AA_DEFAULT_TTL: '60',
      AA_MAX_TTL: '0',
      AA_APP_TOKEN_TTL: '-5',
      AA_ADMIN_TOKEN_TTL: '+900',
    });
    assert.deepEqual([cfg.defaultTtl, cfg.maxTtl, cfg.appTokenTtl, cfg.adminTokenTtl], [60, 0, -5, 900]);
    assert.deepEqual(warnings, []);
  });

  it('lower-cases AA_LOG_LEVEL', () => {
    for (const [raw, want] of [
      ['quiet', 'quiet'],
      ['STANDARD', 'standard'],
      ['Trace', 'trace'],
      ['verbose', 'verbose'],
    ]) {
      assert.equal(load({ AA_LOG_LEVEL: raw }).cfg.logLevel, want);
    }
  });

  it('falls back to verbose for an unknown AA_LOG_LEVEL and says so', () => {
    const { cfg, warnings } = load({ AA_LOG_LEVEL: 'debug' });
    assert.equal(cfg.logLevel, 'verbose');
    assert.deepEqual(warnings.map(stripTs), [
      '[AA:CFG:WARN] <ts> | load | ignoring unknown log level, using default | var=AA_LOG_LEVEL value="debug" default=verbose',
    ]);
  });

  it('enables seed tokens only for the exact string "true"', () => {
    assert.equal(load({ AA_SEED_TOKENS: 'true' }).cfg.seedTokens, true);
    assert.equal(load({ AA_SEED_TOKENS: 'false' }).cfg.seedTokens, false);
    assert.deepEqual(load({ AA_SEED_TOKENS: 'false' }).warnings, []);
    for (const v of ['TRUE', '1', 'yes', 'True']) {
      const { cfg, warnings } = load({ AA_SEED_TOKENS: v });
      assert.equal(cfg.seedTokens, false, v);
      assert.deepEqual(warnings.map(stripTs), [
        `[AA:CFG:WARN] <ts> | load | only the exact value "true" enables seed tokens, treating as false | var=AA_SEED_TOKENS value="${v}"`,
      ]);
    }
  });
});

describe('integer parsing (Go strconv.Atoi)', () => {
  const valid: [string, number][] = [
    ['0', 0],
    ['300', 300],
    ['+5', 5],
    ['-1', -1],
    ['007', 7],
    ['-0', 0],
    ['9223372036854775807', 2 ** 63],
    ['-9223372036854775808', -(2 ** 63)],
  ];
  for (const [text, want] of valid) {
    it(`accepts ${JSON.stringify(text)}`, () => assert.equal(parseGoInt(text), want));
  }
  const invalid = [
    '300s',
    '5m',
    ' 300',
    '300 ',
    '1e3',
    '0x10',
    '1_000',
    '3.5',
    '+',
    '-',
    '',
    '++1',
    '--1',
    '١٢',
    '9223372036854775808',
    '-9223372036854775809',
    '99999999999999999999',
  ];
  for (const text of invalid) {
    it(`rejects ${JSON.stringify(text)}`, () => assert.equal(parseGoInt(text), null));
  }

  it('keeps the default for an invalid value and warns with the variable and the ignored value', () => {
    const { cfg, warnings } = load({
      AA_DEFAULT_TTL: '300s',
      AA_MAX_TTL: ' 300',
      AA_APP_TOKEN_TTL: '9223372036854775808',
      AA_ADMIN_TOKEN_TTL: '1e3',
    });
    assert.deepEqual([cfg.defaultTtl, cfg.maxTtl, cfg.appTokenTtl, cfg.adminTokenTtl], [300, 86400, 1800, 300]);
    assert.deepEqual(warnings.map(stripTs), [
      '[AA:CFG:WARN] <ts> | load | ignoring invalid integer, using default | var=AA_DEFAULT_TTL value="300s" default=300',
      '[AA:CFG:WARN] <ts> | load | ignoring invalid integer, using default | var=AA_MAX_TTL value=" 300" default=86400',
      '[AA:CFG:WARN] <ts> | load | ignoring invalid integer, using default | var=AA_APP_TOKEN_TTL value="9223372036854775808" default=1800',
      '[AA:CFG:WARN] <ts> | load | ignoring invalid integer, using default | var=AA_ADMIN_TOKEN_TTL value="1e3" default=300',
    ]);
  });

  it('escapes control characters of an ignored value so it cannot start a new log line', () => {
    const { warnings } = load({ AA_DEFAULT_TTL: '5\n[AA:BROKER:OK] forged' });
    assert.equal(warnings.length, 1);
    assert.ok(!(warnings[0] as string).includes('\n'));
    assert.ok((warnings[0] as string).endsWith('value="5\\n[AA:BROKER:OK] forged" default=300'));
  });
});

describe('TTL warning', () => {
  it('is emitted with the exact text when AA_DEFAULT_TTL exceeds a positive AA_MAX_TTL', () => {
    const { warnings } = load({ AA_DEFAULT_TTL: '600', AA_MAX_TTL: '300' });
    assert.deepEqual(warnings.map(stripTs), [
      '[AA:CFG:WARN] <ts> | load | AA_DEFAULT_TTL exceeds AA_MAX_TTL \u2014 tokens will be clamped to MaxTTL | default_ttl=600 max_ttl=300',
    ]);
  });

  it('is not emitted for equal values, a zero or negative max, or large admin/app TTLs', () => {
    assert.deepEqual(load({ AA_DEFAULT_TTL: '300', AA_MAX_TTL: '300' }).warnings, []);
    assert.deepEqual(load({ AA_DEFAULT_TTL: '600', AA_MAX_TTL: '0' }).warnings, []);
    assert.deepEqual(load({ AA_DEFAULT_TTL: '600', AA_MAX_TTL: '-1' }).warnings, []);
    assert.deepEqual(
      load({ AA_MAX_TTL: '100', AA_DEFAULT_TTL: '50', AA_ADMIN_TOKEN_TTL: '999', AA_APP_TOKEN_TTL: '999' }).warnings,
      [],
    );
  });

  it('goes to stdout by default as one newline-terminated write', (t) => {
    const writes: string[] = [];
    t.mock.method(process.stdout, 'write', (chunk: string) => {
      writes.push(chunk);
      return true;
    });
    loadConfig({ AA_ADMIN_SECRET: 'x', AA_DEFAULT_TTL: '10', AA_MAX_TTL: '5' }, isolated);
    t.mock.restoreAll();
    assert.equal(writes.length, 1);
    assert.match(
      writes[0] as string,
      /^\[AA:CFG:WARN\] .* \| load \| AA_DEFAULT_TTL exceeds AA_MAX_TTL .* default_ttl=10 max_ttl=5\n$/,
    );
  });
});

describe('AA_PORT', () => {
  it('accepts 0..65535', () => {
    assert.equal(load({ AA_PORT: '9090' }).cfg.port, 9090);
    assert.equal(load({ AA_PORT: '0' }).cfg.port, 0);
    assert.equal(load({ AA_PORT: '65535' }).cfg.port, 65535);
  });
  for (const bad of ['65536', 'http', '80a', '-1', '+80', ' 80', '1e3', '100000', '8080.0']) {
    it(`rejects ${JSON.stringify(bad)}`, () => {
      assert.equal(
        configError({ AA_PORT: bad }),
        `AA_PORT must be a port number from 0 to 65535, got ${JSON.stringify(bad)}`,
      );
    });
  }
});

describe('AA_BIND_ADDRESS', () => {
  it('keeps host names and IPv4 as given', () => {
    assert.equal(load({ AA_BIND_ADDRESS: '0.0.0.0' }).cfg.bindAddress, '0.0.0.0');
    assert.equal(load({ AA_BIND_ADDRESS: 'localhost' }).cfg.bindAddress, 'localhost');
  });
  it('stores IPv6 literals without brackets, bracketed or not', () => {
    assert.equal(load({ AA_BIND_ADDRESS: '[::1]' }).cfg.bindAddress, '::1');
    assert.equal(load({ AA_BIND_ADDRESS: '::1' }).cfg.bindAddress, '::1');
    assert.equal(load({ AA_BIND_ADDRESS: '[::]' }).cfg.bindAddress, '::');
  });
  for (const bad of ['[::1', '::1]', '[127.0.0.1]', '127.0.0.1:8080', '[]', 'host:80']) {
    it(`rejects ${JSON.stringify(bad)}`, () => {
      assert.match(configError({ AA_BIND_ADDRESS: bad }), /^AA_BIND_ADDRESS /);
    });
  }
});

describe('AA_TLS_MODE', () => {
  it('accepts none, tls with cert and key, mtls with cert, key and client CA', () => {
    assert.equal(load({ AA_TLS_MODE: 'none', AA_TLS_CERT: 'ignored' }).cfg.tlsMode, 'none');
    const tls = load({ AA_TLS_MODE: 'tls', AA_TLS_CERT: '/c.pem', AA_TLS_KEY: '/k.pem' }).cfg;
    assert.deepEqual([tls.tlsMode, tls.tlsCert, tls.tlsKey, tls.tlsClientCa], ['tls', '/c.pem', '/k.pem', '']);
    const mtls = load({ AA_TLS_MODE: 'mtls', AA_TLS_CERT: '/c', AA_TLS_KEY: '/k', AA_TLS_CLIENT_CA: '/ca' }).cfg;
    assert.deepEqual([mtls.tlsMode, mtls.tlsClientCa], ['mtls', '/ca']);
  });
  for (const bad of ['TLS', 'https', 'mTLS', ' tls', 'off']) {
    it(`rejects ${JSON.stringify(bad)} instead of silently serving HTTP`, () => {
      assert.equal(
        configError({ AA_TLS_MODE: bad }),
        `AA_TLS_MODE must be none, tls or mtls, got ${JSON.stringify(bad)}`,
      );
    });
  }
  it('names the missing file variable', () => {
    assert.equal(configError({ AA_TLS_MODE: 'tls', AA_TLS_KEY: '/k' }), 'AA_TLS_CERT must be set when AA_TLS_MODE=tls');
    assert.equal(configError({ AA_TLS_MODE: 'tls', AA_TLS_CERT: '/c' }), 'AA_TLS_KEY must be set when AA_TLS_MODE=tls');
    assert.equal(
      configError({ AA_TLS_MODE: 'mtls', AA_TLS_KEY: '/k' }),
      'AA_TLS_CERT must be set when AA_TLS_MODE=mtls',
    );
    assert.equal(
      configError({ AA_TLS_MODE: 'mtls', AA_TLS_CERT: '/c', AA_TLS_KEY: '/k' }),
      'AA_TLS_CLIENT_CA must be set when AA_TLS_MODE=mtls',
    );
  });
});

describe('AA_SIGNING_KEY_MAX_AGE', () => {
  it('reads a number and one unit', () => {
    const age = (v: string): number | null => load({ AA_SIGNING_KEY_MAX_AGE: v }).cfg.signingKeyMaxAge;
    assert.equal(age('90s'), 90);
    assert.equal(age('45m'), 2700);
    assert.equal(age('12h'), 43_200);
    assert.equal(age('30d'), 2_592_000);
    assert.equal(age('3650d'), 315_360_000);
  });
  it('is fatal for anything else, naming the value', () => {
    for (const v of ['30', '30D', '1.5h', '-1h', ' 1h', '1h30m', 'never', '59s', '3651d', '0d']) {
      assert.match(
        configError({ AA_SIGNING_KEY_MAX_AGE: v }),
        /^AA_SIGNING_KEY_MAX_AGE must be a duration from 60s to 3650d/,
        v,
      );
    }
    assert.match(configError({ AA_SIGNING_KEY_MAX_AGE: '1w' }), /got "1w"$/);
  });
});

describe('AA_TRUSTED_PROXIES', () => {
  it('parses comma-separated CIDRs and bare addresses, ignoring blanks and surrounding spaces', () => {
    const { cfg } = load({ AA_TRUSTED_PROXIES: '10.0.0.0/8, 192.168.1.7 ,::1,, fd00::/8,' });
    assert.deepEqual(
      cfg.trustedProxies.map((c) => c.text),
      ['10.0.0.0/8', '192.168.1.7/32', '::1/128', 'fd00::/8'],
    );
  });
  it('rejects an invalid entry, naming it', () => {
    assert.equal(
      configError({ AA_TRUSTED_PROXIES: '10.0.0.0/8,10.0.0.0/33' }),
      'AA_TRUSTED_PROXIES has an invalid entry "10.0.0.0/33"; expected a CIDR such as 10.0.0.0/8 or an IP address',
    );
    assert.match(configError({ AA_TRUSTED_PROXIES: 'proxy.internal' }), /invalid entry "proxy.internal"/);
  });
});

describe('AA_ED25519', () => {
  it('selects the engine', () => {
    assert.equal(load({ AA_ED25519: 'native' }).cfg.ed25519, 'native');
    assert.equal(load({ AA_ED25519: 'tweetnacl' }).cfg.ed25519, 'tweetnacl');
  });
  it('is fatal for any other value, case included', () => {
    for (const v of ['TweetNaCl', 'openssl', 'native ', 'nacl']) {
      assert.equal(configError({ AA_ED25519: v }), `AA_ED25519 must be native or tweetnacl, got ${JSON.stringify(v)}`);
    }
  });
});

describe('admin secret', () => {
  const WEAK =
    "admin secret is a known-weak default; run 'awrit init' to generate a secure config, or set a strong AA_ADMIN_SECRET";

  it('is fatal when missing, empty or the known-weak default', () => {
    assert.throws(
      () => loadConfig({}, isolated),
      (e: unknown) => e instanceof ConfigError && e.message === WEAK,
    );
    assert.throws(
      () => loadConfig({ AA_ADMIN_SECRET: '' }, isolated),
      (e: unknown) => e instanceof ConfigError && e.message === WEAK,
    );
    assert.equal(configError({ AA_ADMIN_SECRET: 'change-me-in-production' }), WEAK);
  });

  it('keeps a plaintext secret only as its SHA-256 digest, whatever its length', () => {
    for (const secret of ['a', 'x'.repeat(200), 'pässwörd']) {
      const { cfg } = load({ AA_ADMIN_SECRET: secret });
      assert.equal(cfg.adminSecret.kind, 'sha256');
      assert.ok(cfg.adminSecret.kind === 'sha256');
      assert.deepEqual(cfg.adminSecret.digest, createHash('sha256').update(secret, 'utf8').digest());
      assert.ok(!Object.values(cfg).includes(secret), 'plaintext must not be kept in the config');
      assert.equal(sha256SecretMatches(cfg.adminSecret.digest, secret), true);
      assert.equal(sha256SecretMatches(cfg.adminSecret.digest, `${secret} `), false);
    }
  });

  it('uses a bcrypt-looking value as the hash', () => {
    const body = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXY'.padEnd(53, '.');
    for (const prefix of ['$2a$12$', '$2b$10$', '$2y$04$']) {
      const hash = (prefix + body).slice(0, 60);
      assert.equal(hash.length, 60);
      const { cfg } = load({ AA_ADMIN_SECRET: hash });
      assert.deepEqual(cfg.adminSecret, { kind: 'bcrypt', hash });
    }
  });

  it('treats near-misses of the bcrypt shape as plaintext', () => {
    const hash60 = `$2b$12$${'a'.repeat(53)}`;
    assert.equal(looksLikeBcrypt(hash60), true);
    assert.equal(looksLikeBcrypt(hash60.slice(0, 59)), false);
    assert.equal(looksLikeBcrypt(`${hash60}a`), false);
    assert.equal(looksLikeBcrypt(`$2x$12$${'a'.repeat(53)}`), false);
    assert.equal(looksLikeBcrypt(`$2$12$${'a'.repeat(54)}`), false);
    // 60 characters but 61 bytes: the Go check counts bytes.
    assert.equal(looksLikeBcrypt(`$2b$12$${'a'.repeat(52)}é`), false);
    assert.equal(load({ AA_ADMIN_SECRET: hash60.slice(0, 59) }).cfg.adminSecret.kind, 'sha256');
  });
});

describe('startup warnings (logged by main)', () => {
  it('returns the dev-mode warning for MODE development, including when there is no config file', () => {
    const { cfg } = load({});
    assert.deepEqual(devModeWarning(cfg), [
      'BROKER',
      'main',
      'Running in development mode -- admin secret stored in plaintext',
    ]);
    assert.equal(devModeWarning({ mode: 'production' }), null);
    assert.equal(devModeWarning({ mode: 'Development' }), null);
  });

  it('returns the 0.0.0.0 warning only without TLS', () => {
    assert.deepEqual(exposedBindWarning({ bindAddress: '0.0.0.0', tlsMode: 'none' }), [
      'BROKER',
      'main',
      'binding to 0.0.0.0 without TLS \u2014 use AA_TLS_MODE=tls in production',
    ]);
    assert.deepEqual(exposedBindWarning({ bindAddress: '::', tlsMode: 'none' }), [
      'BROKER',
      'main',
      'binding to :: without TLS \u2014 use AA_TLS_MODE=tls in production',
    ]);
    assert.equal(exposedBindWarning({ bindAddress: '0.0.0.0', tlsMode: 'tls' }), null);
    assert.equal(exposedBindWarning({ bindAddress: '127.0.0.1', tlsMode: 'none' }), null);
  });

  it('lists both in emission order', () => {
    const { cfg } = load({ AA_BIND_ADDRESS: '0.0.0.0' });
    assert.deepEqual(
      startupWarnings(cfg).map((w) => w[2]),
      [
        'Running in development mode -- admin secret stored in plaintext',
        'binding to 0.0.0.0 without TLS \u2014 use AA_TLS_MODE=tls in production',
      ],
    );
    assert.deepEqual(startupWarnings({ mode: 'production', bindAddress: '127.0.0.1', tlsMode: 'none' }), []);
  });
});

describe('goTrimSpace', () => {
  it('trims what Go trims and keeps what Go keeps', () => {
    assert.equal(goTrimSpace(' \t\r\n\v\f x \u0085\u00a0\u3000'), 'x');
    assert.equal(goTrimSpace('\ufeffx'), '\ufeffx');
    assert.equal(goTrimSpace('a b'), 'a b');
  });
});

describe('audit trail variables', () => {
  it('parses durations with one unit and refuses anything else', () => {
    assert.deepEqual(['90s', '15m', '12h', '30d'].map(parseDuration), [90, 900, 43_200, 2_592_000]);
    for (const bad of ['', '0s', '30', 'd', '1.5h', '1h30m', ' 1h', '1H', '-1d', '1w'])
      assert.equal(parseDuration(bad), null, bad);
  });

  it('is off by default; retention needs an archive directory and a valid duration', () => {
    assert.deepEqual(load({}).cfg.audit, { logPath: '', retentionSeconds: null, archiveDir: '' });
    assert.deepEqual(
      load({ AA_AUDIT_LOG_PATH: '/var/log/a.jsonl', AA_AUDIT_RETENTION: '30d', AA_AUDIT_ARCHIVE_DIR: '/arch' }).cfg
        .audit,
      {
        logPath: '/var/log/a.jsonl',
        retentionSeconds: 2_592_000,
        archiveDir: '/arch',
      },
    );
    assert.equal(
      configError({ AA_AUDIT_RETENTION: '30d' }),
      'AA_AUDIT_ARCHIVE_DIR must be set when AA_AUDIT_RETENTION is set',
    );
    assert.equal(
      configError({ AA_AUDIT_RETENTION: '30 days', AA_AUDIT_ARCHIVE_DIR: '/a' }),
      'AA_AUDIT_RETENTION must be a duration such as 90s, 12h or 30d, got "30 days"',
    );
    assert.equal(
      configError({ AA_AUDIT_ARCHIVE_DIR: '/a' }),
      'AA_AUDIT_ARCHIVE_DIR is set but AA_AUDIT_RETENTION is not; set both or neither',
    );
  });
});
