/**
 * Every timestamp format the broker reads or writes, in one place. All are UTC.
 *
 * - RFC 3339 with whole seconds (`2026-04-10T12:00:00Z`): app records, launch-token expiry, log lines.
 * - RFC3339Nano as Go prints it (fraction without trailing zeros): audit events and delegation records, stored
 *   verbatim because they are hash inputs.
 * - SQLite's `CURRENT_TIMESTAMP` shape (`2026-04-10 12:00:00`): the `revoked_at` column.
 * - A fixed-width sortable key (`YYYY-MM-DDTHH:MM:SS.nnnnnnnnn`): RFC3339Nano text does not sort by time
 *   (`…:05Z` sorts after `…:05.1Z`), so audit range filters compare this key instead.
 */

/** `2026-04-10T12:00:00Z`. */
export function rfc3339Seconds(ms = Date.now()): string {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

/** RFC3339Nano as Go prints it: `Z`, fractional seconds without trailing zeros. */
export function rfc3339Nano(epochMs: number, subMsNanos = 0): string {
  const ms = Math.floor(epochMs);
  const base = new Date(ms).toISOString().slice(0, 19);
  const nanos = (ms % 1000) * 1_000_000 + subMsNanos;
  if (nanos === 0) return `${base}Z`;
  return `${base}.${String(nanos).padStart(9, '0').replace(/0+$/, '')}Z`;
}

/** The wall clock in RFC3339Nano, with the sub-millisecond precision `performance.now` gives. */
export function nowRfc3339Nano(): string {
  const t = performance.timeOrigin + performance.now();
  const ms = Math.floor(t);
  return rfc3339Nano(ms, Math.floor((t - ms) * 1e6));
}

/** SQLite `CURRENT_TIMESTAMP` shape. */
export function sqliteTimestamp(ms = Date.now()): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

/** A `sqliteTimestamp` (or RFC 3339) value as unix seconds; an unreadable value counts as the end of time. */
export function sqliteSeconds(ts: string): number {
  const ms = Date.parse(ts.replace(' ', 'T') + (ts.endsWith('Z') ? '' : 'Z'));
  return Number.isNaN(ms) ? Number.MAX_SAFE_INTEGER : Math.floor(ms / 1000);
}

const RFC3339_RE = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * Parses RFC 3339 (an offset is required, fractional seconds optional) into UTC RFC3339Nano with exactly nine
 * fractional digits, so results compare as text. Null for anything that is not a real instant in years 0–9999.
 */
export function parseRfc3339(text: string): string | null {
  const m = RFC3339_RE.exec(text);
  if (m === null) return null;
  const [, y, mo, d, h, mi, s, frac = '', zone = 'Z'] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) return null;
  // setUTCFullYear, not Date.UTC: the latter maps years 0–99 to 1900–1999.
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, 0);
  if (date.getUTCDate() !== day) return null; // e.g. February 30
  let ms = date.getTime();
  if (zone !== 'Z' && zone !== 'z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const oh = Number(zone.slice(1, 3));
    const om = Number(zone.slice(4, 6));
    if (oh > 23 || om > 59) return null;
    ms -= sign * (oh * 60 + om) * 60_000;
  }
  const utc = new Date(ms);
  // An offset can push the instant out of four-digit years, where text order would no longer be time order.
  if (utc.getUTCFullYear() < 0 || utc.getUTCFullYear() > 9999) return null;
  return `${utc.toISOString().slice(0, 19)}.${frac.padEnd(9, '0')}Z`;
}

/** The sortable key `YYYY-MM-DDTHH:MM:SS.nnnnnnnnn` of an RFC 3339 timestamp, or null if it does not parse. */
export function timestampKey(ts: string): string | null {
  const parsed = parseRfc3339(ts);
  return parsed === null ? null : parsed.slice(0, -1);
}
