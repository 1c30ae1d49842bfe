import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LogLevel } from '../../src/config/config.js';
import type { Logger } from '../../src/observability/log.js';
import {
  createLogger,
  formatGoDuration,
  formatLogLine,
  logTimestamp,
  sanitizeLogText,
} from '../../src/observability/log.js';

const TS = '2026-04-10T12:00:00Z';
const TS_RE = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/;

function capture(level?: LogLevel): { log: Logger; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  const log = createLogger({
    ...(level === undefined ? {} : { level }),
    stdout: (l) => out.push(l.replace(TS_RE, '<ts>')),
    stderr: (l) => err.push(l.replace(TS_RE, '<ts>')),
  });
  return { log, out, err };
}

function emitAll(log: Logger): void {
  log.ok('M', 'c', 'ok-line');
  log.warn('M', 'c', 'warn-line');
  log.fail('M', 'c', 'fail-line');
  log.trace('M', 'c', 'trace-line');
}

describe('line format', () => {
  it('matches [AA:<MODULE>:<LEVEL>] <ts> | <COMPONENT> | <MESSAGE>[ | ctx, ctx]', () => {
    assert.equal(
      formatLogLine('BROKER', 'OK', 'main', 'signing key loaded', ['path=./signing.key'], TS),
      '[AA:BROKER:OK] 2026-04-10T12:00:00Z | main | signing key loaded | path=./signing.key',
    );
    assert.equal(
      formatLogLine('store', 'FAIL', 'sqlite', 'database closed', [], TS),
      '[AA:store:FAIL] 2026-04-10T12:00:00Z | sqlite | database closed',
    );
    assert.equal(
      formatLogLine(
        'HTTP',
        'OK',
        'handler',
        'request completed',
        ['method=GET', 'path=/v1/health', 'status=200', 'latency=83.417µs', 'request_id=abc'],
        TS,
      ),
      '[AA:HTTP:OK] 2026-04-10T12:00:00Z | handler | request completed | method=GET, path=/v1/health, status=200, latency=83.417µs, request_id=abc',
    );
    assert.equal(
      formatLogLine('CFG', 'WARN', 'load', 'm', ['default_ttl=600 max_ttl=300'], TS),
      '[AA:CFG:WARN] 2026-04-10T12:00:00Z | load | m | default_ttl=600 max_ttl=300',
    );
    assert.equal(formatLogLine('X', 'TRACE', 'c', 'm', [''], TS), '[AA:X:TRACE] 2026-04-10T12:00:00Z | c | m | ');
  });

  it('routes OK, WARN and TRACE to stdout and FAIL to stderr', () => {
    const { log, out, err } = capture('trace');
    emitAll(log);
    log.ok('ADMIN', 'AdminSvc', 'launch token created', 'agent_name=seed-agent', 'scope=[*:*:*]');
    assert.deepEqual(out, [
      '[AA:M:OK] <ts> | c | ok-line',
      '[AA:M:WARN] <ts> | c | warn-line',
      '[AA:M:TRACE] <ts> | c | trace-line',
      '[AA:ADMIN:OK] <ts> | AdminSvc | launch token created | agent_name=seed-agent, scope=[*:*:*]',
    ]);
    assert.deepEqual(err, ['[AA:M:FAIL] <ts> | c | fail-line']);
  });
});

describe('levels', () => {
  const table: [LogLevel | undefined, string[], string[]][] = [
    ['quiet', [], ['fail-line']],
    ['standard', ['ok-line', 'warn-line'], ['fail-line']],
    ['verbose', ['ok-line', 'warn-line'], ['fail-line']],
    [undefined, ['ok-line', 'warn-line'], ['fail-line']],
    ['trace', ['ok-line', 'warn-line', 'trace-line'], ['fail-line']],
  ];
  for (const [level, wantOut, wantErr] of table) {
    it(`${level ?? 'default'} emits ${[...wantOut, ...wantErr].join(', ')}`, () => {
      const { log, out, err } = capture(level);
      emitAll(log);
      assert.deepEqual(
        out.map((l) => l.split(' | ')[2]),
        wantOut,
      );
      assert.deepEqual(
        err.map((l) => l.split(' | ')[2]),
        wantErr,
      );
    });
  }

  it('setLevel changes filtering for later lines', () => {
    const { log, out, err } = capture('verbose');
    log.setLevel('quiet');
    emitAll(log);
    assert.deepEqual([out.length, err.length], [0, 1]);
    log.setLevel('trace');
    emitAll(log);
    assert.deepEqual([out.length, err.length], [3, 2]);
  });
});

describe('control characters', () => {
  it('cannot start a new line from any part', () => {
    const line = formatLogLine(
      'A\nB',
      'OK',
      'comp\r\n[AA:X:OK] y',
      'msg\nz',
      ['path=/v1/x\r\n[AA:BROKER:OK] forged', 'k=v'],
      TS,
    );
    assert.equal(
      line,
      '[AA:A\\nB:OK] 2026-04-10T12:00:00Z | comp\\r\\n[AA:X:OK] y | msg\\nz | path=/v1/x\\r\\n[AA:BROKER:OK] forged, k=v',
    );
    assert.ok(!/[\r\n]/.test(line));
  });

  it('escapes tabs, ESC, NUL, DEL, C1 controls and Unicode line separators visibly', () => {
    assert.equal(sanitizeLogText('a\tb'), 'a\\tb');
    assert.equal(sanitizeLogText('\u001b[31mred'), '\\x1b[31mred');
    assert.equal(sanitizeLogText('\u0000\u007f\u0085\u009f'), '\\x00\\x7f\\x85\\x9f');
    assert.equal(sanitizeLogText('x\u2028y\u2029z'), 'x\\u2028y\\u2029z');
  });

  it('leaves ordinary text, including non-ASCII, untouched', () => {
    for (const s of [
      'path=/v1/admin/apps/app-1',
      'latency=83.417µs',
      'scope=[*:*:*]',
      'AA_DEFAULT_TTL exceeds AA_MAX_TTL — x',
      'back\\slash',
      '日本',
    ]) {
      assert.equal(sanitizeLogText(s), s);
    }
  });

  it('a logger escapes client-supplied context', () => {
    const { log, out } = capture();
    log.ok(
      'HTTP',
      'handler',
      'request completed',
      'path=/a\n[AA:ADMIN:OK] 2026-01-01T00:00:00Z | AdminSvc | admin authenticated',
    );
    assert.equal(out.length, 1);
    assert.ok(!(out[0] as string).includes('\n'));
    assert.ok(
      (out[0] as string).endsWith('path=/a\\n[AA:ADMIN:OK] 2026-01-01T00:00:00Z | AdminSvc | admin authenticated'),
    );
  });
});

describe('default streams', () => {
  it('write each line once, newline-terminated, to process.stdout / process.stderr', (t) => {
    const out: string[] = [];
    const err: string[] = [];
    t.mock.method(process.stdout, 'write', (chunk: string) => out.push(chunk) > 0);
    t.mock.method(process.stderr, 'write', (chunk: string) => err.push(chunk) > 0);
    const log = createLogger();
    log.ok('BROKER', 'main', 'hello', 'a=1', 'b=2');
    log.fail('BROKER', 'main', 'bad');
    log.trace('BROKER', 'main', 'hidden');
    t.mock.restoreAll();
    assert.equal(out.length, 1);
    assert.equal(err.length, 1);
    assert.match(out[0] as string, /^\[AA:BROKER:OK\] \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \| main \| hello \| a=1, b=2\n$/);
    assert.match(err[0] as string, /^\[AA:BROKER:FAIL\] \S+ \| main \| bad\n$/);
  });
});

describe('logTimestamp', () => {
  it('formats a given date in UTC with whole seconds and Z', () => {
    assert.equal(logTimestamp(new Date('2026-04-10T12:00:00.999Z')), '2026-04-10T12:00:00Z');
    assert.equal(logTimestamp(new Date('2026-04-10T23:59:59.001+02:00')), '2026-04-10T21:59:59Z');
    assert.equal(logTimestamp(new Date(0)), '1970-01-01T00:00:00Z');
  });

  it('follows the clock, changing exactly at second boundaries', (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: Date.parse('2030-01-02T03:04:05.000Z') });
    assert.equal(logTimestamp(), '2030-01-02T03:04:05Z');
    t.mock.timers.tick(999);
    assert.equal(logTimestamp(), '2030-01-02T03:04:05Z');
    t.mock.timers.tick(1);
    assert.equal(logTimestamp(), '2030-01-02T03:04:06Z');
    t.mock.timers.tick(3600_000);
    assert.equal(logTimestamp(), '2030-01-02T04:04:06Z');
    t.mock.timers.reset();
  });

  it('is what the logger stamps', (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: Date.parse('2031-05-06T07:08:09.500Z') });
    const lines: string[] = [];
    createLogger({ stdout: (l) => lines.push(l) }).ok('M', 'c', 'm');
    t.mock.timers.reset();
    assert.deepEqual(lines, ['[AA:M:OK] 2031-05-06T07:08:09Z | c | m']);
  });
});

describe('formatGoDuration (Go time.Duration.String)', () => {
  const table: [bigint | number, string][] = [
    [0, '0s'],
    [1, '1ns'],
    [812, '812ns'],
    [999, '999ns'],
    [1000, '1\u00b5s'],
    [1001, '1.001\u00b5s'],
    [1500, '1.5\u00b5s'],
    [83417, '83.417\u00b5s'],
    [999999, '999.999\u00b5s'],
    [1_000_000, '1ms'],
    [1_000_001, '1.000001ms'],
    [1_204_000, '1.204ms'],
    [999_999_999, '999.999999ms'],
    [1_000_000_000, '1s'],
    [1_000_000_001, '1.000000001s'],
    [2_500_000_000, '2.5s'],
    [59_999_999_999, '59.999999999s'],
    [60_000_000_000, '1m0s'],
    [63_200_000_000, '1m3.2s'],
    [3_600_000_000_000, '1h0m0s'],
    [3_661_000_000_000, '1h1m1s'],
    [90_061_500_000_000, '25h1m1.5s'],
    [360_000_000_000_000, '100h0m0s'],
    [-1, '-1ns'],
    [-1_500_000, '-1.5ms'],
    [-63_200_000_000, '-1m3.2s'],
    [1.9, '1ns'],
    [-0.5, '0s'],
    [83417n, '83.417\u00b5s'],
    [9007199254740993n, '2501h59m59.254740993s'],
    [9223372036854775807n, '2562047h47m16.854775807s'],
    [-9223372036854775808n, '-2562047h47m16.854775808s'],
  ];
  for (const [ns, want] of table) {
    it(`${String(ns)} → ${want}`, () => assert.equal(formatGoDuration(ns), want));
  }
  it('uses the micro sign U+00B5, not Greek mu U+03BC', () => {
    assert.equal(formatGoDuration(5000).codePointAt(1), 0xb5);
  });
});
