/**
 * RFC 3339 timestamps as the audit filters take them (an offset is required, fractional seconds optional),
 * normalized to UTC RFC3339Nano with exactly nine fractional digits so they compare as text.
 */
const RFC3339_RE = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$/;

export function parseRfc3339(text: string): string | null {
  const m = RFC3339_RE.exec(text);
  if (m === null) return null;
  const [, y, mo, d, h, mi, s, frac = '', zone = 'Z'] = m;
  const year = Number(y), month = Number(mo), day = Number(d), hour = Number(h), minute = Number(mi), second = Number(s);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) return null;
  let ms = Date.UTC(year, month - 1, day, hour, minute, second);
  const check = new Date(ms);
  if (check.getUTCDate() !== day) return null; // e.g. February 30
  if (zone !== 'Z' && zone !== 'z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const oh = Number(zone.slice(1, 3)), om = Number(zone.slice(4, 6));
    if (oh > 23 || om > 59) return null;
    ms -= sign * (oh * 60 + om) * 60_000;
  }
  const base = new Date(ms).toISOString().slice(0, 19);
  return `${base}.${frac.padEnd(9, '0')}Z`;
}

/** An audit timestamp (Go RFC3339Nano, variable fraction, UTC `Z`) in the same nine-digit form. */
export function normalizeAuditTimestamp(ts: string): string {
  const dot = ts.indexOf('.');
  if (dot === -1) return ts.replace(/Z$/, '.000000000Z');
  return `${ts.slice(0, dot)}.${ts.slice(dot + 1, -1).padEnd(9, '0')}Z`;
}
