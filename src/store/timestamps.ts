/**
 * Audit range filters compare a fixed-width UTC key (`timestampKey`, see platform/time.ts), not RFC3339Nano text.
 */
export { timestampKey } from '../platform/time.js';

/**
 * The same key computed inside SQLite for rows stored in UTC `Z` form (what both brokers write), so range filters
 * stay in SQL; any other shape falls back to the registered `aw_ts_key` function.
 */
export const SQL_TIMESTAMP_KEY = `(CASE WHEN substr(timestamp, -1) = 'Z' AND length(timestamp) >= 20
  THEN substr(timestamp, 1, 19) || '.' || substr(CASE WHEN substr(timestamp, 20, 1) = '.'
    THEN substr(timestamp, 21, length(timestamp) - 21) ELSE '' END || '000000000', 1, 9)
  ELSE aw_ts_key(timestamp) END)`;
