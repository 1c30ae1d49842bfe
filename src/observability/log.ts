import { escapeControlChars } from '../platform/text.js';
import { rfc3339Seconds } from '../platform/time.js';

/** How much the broker logs; the configuration reads it from AA_LOG_LEVEL. */
export type LogLevel = 'quiet' | 'standard' | 'verbose' | 'trace';

export type Level = 'OK' | 'WARN' | 'FAIL' | 'TRACE';

export interface Logger {
  ok(module: string, component: string, message: string, ...ctx: string[]): void;
  warn(module: string, component: string, message: string, ...ctx: string[]): void;
  fail(module: string, component: string, message: string, ...ctx: string[]): void;
  trace(module: string, component: string, message: string, ...ctx: string[]): void;
  setLevel(level: LogLevel): void;
}

/** A sink receives one complete line without its trailing newline. */
export type LineSink = (line: string) => void;

export interface LoggerOptions {
  level?: LogLevel;
  stdout?: LineSink;
  stderr?: LineSink;
}

export const writeStdout: LineSink = (line) => {
  process.stdout.write(`${line}\n`);
};

export const writeStderr: LineSink = (line) => {
  process.stderr.write(`${line}\n`);
};

/**
 * Longest text one part of a log line keeps. A request line may be up to 1 MiB, and log collectors split or drop
 * lines far shorter than that; the start of a path identifies the request well enough.
 */
export const MAX_LOG_TEXT = 8192;

/**
 * Makes text safe to embed in a single log line: control characters escaped, length bounded. Short text without
 * control characters is returned unchanged.
 */
export function sanitizeLogText(text: string): string {
  const bounded =
    text.length > MAX_LOG_TEXT
      ? `${text.slice(0, MAX_LOG_TEXT)}...[${text.length - MAX_LOG_TEXT} more characters]`
      : text;
  return escapeControlChars(bounded);
}

/** A log line's timestamp: RFC 3339, whole seconds, UTC. */
export function logTimestamp(d?: Date): string {
  return d === undefined ? currentSecondStamp() : rfc3339Seconds(d.getTime());
}

// One request logs one line; at thousands of requests per second the timestamp only changes once per second, so
// the formatted string is reused within that second.
let cachedSecond = Number.NaN;
let cachedStamp = '';

function currentSecondStamp(): string {
  const second = Math.floor(Date.now() / 1000);
  if (second !== cachedSecond) {
    cachedSecond = second;
    cachedStamp = rfc3339Seconds(second * 1000);
  }
  return cachedStamp;
}

/** Builds `[AA:<MODULE>:<LEVEL>] <ts> | <COMPONENT> | <MESSAGE>[ | ctx1, ctx2]` with every part sanitised. */
export function formatLogLine(
  module: string,
  level: Level,
  component: string,
  message: string,
  ctx: readonly string[],
  ts: string = logTimestamp(),
): string {
  let line =
    '[AA:' +
    sanitizeLogText(module) +
    ':' +
    level +
    '] ' +
    ts +
    ' | ' +
    sanitizeLogText(component) +
    ' | ' +
    sanitizeLogText(message);
  if (ctx.length > 0) {
    line += ` | ${sanitizeLogText(ctx.length === 1 ? (ctx[0] as string) : ctx.join(', '))}`;
  }
  return line;
}

interface Enabled {
  ok: boolean;
  warn: boolean;
  fail: boolean;
  trace: boolean;
}

function enabledFor(level: LogLevel): Enabled {
  switch (level) {
    case 'quiet':
      return { ok: false, warn: false, fail: true, trace: false };
    case 'trace':
      return { ok: true, warn: true, fail: true, trace: true };
    case 'standard':
    case 'verbose':
      return { ok: true, warn: true, fail: true, trace: false };
  }
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const stdout = opts.stdout ?? writeStdout;
  const stderr = opts.stderr ?? writeStderr;
  let enabled = enabledFor(opts.level ?? 'verbose');

  return {
    ok(module, component, message, ...ctx) {
      if (enabled.ok) stdout(formatLogLine(module, 'OK', component, message, ctx));
    },
    warn(module, component, message, ...ctx) {
      if (enabled.warn) stdout(formatLogLine(module, 'WARN', component, message, ctx));
    },
    fail(module, component, message, ...ctx) {
      if (enabled.fail) stderr(formatLogLine(module, 'FAIL', component, message, ctx));
    },
    trace(module, component, message, ...ctx) {
      if (enabled.trace) stdout(formatLogLine(module, 'TRACE', component, message, ctx));
    },
    setLevel(level) {
      enabled = enabledFor(level);
    },
  };
}

const NS_PER_US = 1_000;
const NS_PER_MS = 1_000_000;
const NS_PER_S = 1_000_000_000;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * Go's `time.Duration.String()`. A number is taken as nanoseconds and truncated toward zero (a Duration is an
 * int64); values outside the int64 range saturate like a Go conversion from a clamped value would.
 */
export function formatGoDuration(ns: bigint | number): string {
  let v: bigint;
  if (typeof ns === 'number') {
    if (Number.isNaN(ns)) return '0s';
    if (Number.isSafeInteger(Math.trunc(ns))) return formatSafe(Math.trunc(ns));
    v =
      ns === Number.POSITIVE_INFINITY
        ? INT64_MAX
        : ns === Number.NEGATIVE_INFINITY
          ? INT64_MIN
          : BigInt(Math.trunc(ns));
  } else {
    v = ns;
  }
  if (v > INT64_MAX) v = INT64_MAX;
  if (v < INT64_MIN) v = INT64_MIN;
  if (v >= -BigInt(Number.MAX_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)) return formatSafe(Number(v));
  return formatBig(v);
}

/** `.ddd` for the `prec` fractional digits in `frac`, trailing zeros dropped; '' when they are all zero. */
function fraction(frac: number, prec: number): string {
  if (frac === 0) return '';
  let digits = frac.toString().padStart(prec, '0');
  let end = digits.length;
  while (end > 0 && digits.charCodeAt(end - 1) === 48) end--;
  digits = digits.slice(0, end);
  return `.${digits}`;
}

function formatSafe(v: number): string {
  if (v === 0) return '0s';
  const sign = v < 0 ? '-' : '';
  const u = Math.abs(v);
  if (u < NS_PER_US) return `${sign + u}ns`;
  if (u < NS_PER_MS) return `${sign + Math.floor(u / NS_PER_US) + fraction(u % NS_PER_US, 3)}\u00b5s`;
  if (u < NS_PER_S) return `${sign + Math.floor(u / NS_PER_MS) + fraction(u % NS_PER_MS, 6)}ms`;
  const secondsFrac = fraction(u % NS_PER_S, 9);
  const whole = Math.floor(u / NS_PER_S);
  return `${sign + hoursMinutes(Math.floor(whole / 60)) + (whole % 60) + secondsFrac}s`;
}

function hoursMinutes(totalMinutes: number): string {
  if (totalMinutes === 0) return '';
  const hours = Math.floor(totalMinutes / 60);
  return `${(hours > 0 ? `${hours}h` : '') + (totalMinutes % 60)}m`;
}

function formatBig(v: bigint): string {
  // Only reached for |v| > 2^53 ns (about 104 days), which is always at least one second.
  const sign = v < 0n ? '-' : '';
  const u = v < 0n ? -v : v;
  const secondsFrac = fraction(Number(u % 1_000_000_000n), 9);
  const whole = u / 1_000_000_000n;
  const minutes = whole / 60n;
  const hours = minutes / 60n;
  const hm = hours > 0n ? `${hours}h${minutes % 60n}m` : minutes > 0n ? `${minutes}m` : '';
  return `${sign}${hm}${whole % 60n}${secondsFrac}s`;
}
