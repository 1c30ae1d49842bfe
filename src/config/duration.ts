/**
 * Durations in configuration: a positive whole number and one unit, `s` (seconds), `m` (minutes), `h` (hours) or
 * `d` (days): `90s`, `12h`, `30d`. Returns seconds, or null for anything else (no spaces, no mixed units, no zero).
 */
const DURATION = /^([0-9]{1,9})(s|m|h|d)$/;
const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86_400 } as const;

export function parseDuration(text: string): number | null {
  const m = DURATION.exec(text);
  if (m === null) return null;
  const seconds = Number(m[1]) * UNIT_SECONDS[m[2] as keyof typeof UNIT_SECONDS];
  return seconds > 0 ? seconds : null;
}
