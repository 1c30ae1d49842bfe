/**
 * Audit timestamps are RFC3339Nano strings with a variable number of fractional digits ("…:05Z" sorts after
 * "…:05.1Z" as text), so range filters compare a fixed-width UTC key instead: `YYYY-MM-DDTHH:MM:SS.nnnnnnnnn`.
 */
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$/;

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** The sortable UTC key of an RFC3339 timestamp, or null if it does not parse. */
export function timestampKey(ts: string): string | null {
  const m = RFC3339.exec(ts);
  if (m === null) return null;
  const frac = (m[7] ?? '').padEnd(9, '0');
  const zone = m[8]!;
  if (zone === 'Z' || zone === 'z') {
    return `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.${frac}`;
  }
  const sign = zone[0] === '-' ? -1 : 1;
  const offsetMin = sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6)));
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  if (Number.isNaN(ms)) return null;
  const d = new Date(ms - offsetMin * 60_000);
  return (
    `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)}` +
    `T${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}.${frac}`
  );
}

/**
 * The same key computed inside SQLite for rows stored in UTC `Z` form (what both brokers write), so range filters
 * stay in SQL; any other shape falls back to the registered `aw_ts_key` function.
 */
export const SQL_TIMESTAMP_KEY = `(CASE WHEN substr(timestamp, -1) = 'Z' AND length(timestamp) >= 20
  THEN substr(timestamp, 1, 19) || '.' || substr(CASE WHEN substr(timestamp, 20, 1) = '.'
    THEN substr(timestamp, 21, length(timestamp) - 21) ELSE '' END || '000000000', 1, 9)
  ELSE aw_ts_key(timestamp) END)`;
