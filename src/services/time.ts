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
  // setUTCFullYear, not Date.UTC: the latter maps years 0–99 to 1900–1999.
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, 0);
  if (date.getUTCDate() !== day) return null; // e.g. February 30
  let ms = date.getTime();
  if (zone !== 'Z' && zone !== 'z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const oh = Number(zone.slice(1, 3)), om = Number(zone.slice(4, 6));
    if (oh > 23 || om > 59) return null;
    ms -= sign * (oh * 60 + om) * 60_000;
  }
  const utc = new Date(ms);
  // An offset can push the instant out of four-digit years, where text order would no longer be time order.
  if (utc.getUTCFullYear() < 0 || utc.getUTCFullYear() > 9999) return null;
  const base = utc.toISOString().slice(0, 19);
  return `${base}.${frac.padEnd(9, '0')}Z`;
}
