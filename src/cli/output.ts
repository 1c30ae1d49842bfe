import { escapeControlChars } from '../platform/text.js';

/** What awrit prints: aligned tables for people, one JSON document for scripts, single-line messages on stderr. */

export interface Io {
  stdout(text: string): void;
  stderr(text: string): void;
}

/**
 * Broker data can carry text an agent chose (audit details, ids); control characters are shown escaped so they
 * can neither break a table row nor drive the terminal.
 */
export function printable(text: string): string {
  return escapeControlChars(text);
}

/** Width in code points, so a multi-byte character counts once. */
const width = (s: string): number => [...s].length;

/**
 * Columns padded to the widest cell plus two spaces; the last column is not padded and lines carry no trailing
 * spaces. The header row is always printed, so an empty result is still recognisable.
 */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows].map((r) => r.map(printable));
  const widths = header.map((_, col) => Math.max(...all.map((r) => width(r[col] ?? ''))));
  return all
    .map((r) =>
      r
        .map((cell, col) => (col === r.length - 1 ? cell : cell + ' '.repeat((widths[col] ?? 0) - width(cell) + 2)))
        .join('')
        .trimEnd(),
    )
    .map((line) => `${line}\n`)
    .join('');
}

export function formatJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** At most `max` code points, ending in `...` when cut (never splits a character). */
export function truncate(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 3).join('')}...`;
}
