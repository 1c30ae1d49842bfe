// Types for bench/audit-db.mjs, so bench/storage.ts imports it with full type checking.
import type { AuditRow } from '../src/store/index.js';

/** One synthetic audit row; `prev` is the previous row's hash. */
export function row(seq: number, prev: string): AuditRow;

/** Returns the path of the cached database of `rows` audit events, generating it first when it is missing. */
export function ensureAuditDatabase(rows: number, log: (line: string) => void): Promise<string>;
