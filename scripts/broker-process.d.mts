// Types for scripts/broker-process.mjs.
import type { ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';

export type BrokerChild = ChildProcessByStdio<null, Readable, Readable>;

export interface Banner {
  host: string;
  port: number;
  /** `host:port` as printed. */
  address: string;
}

export const ROOT: string;
export const MAIN_JS: string;
export function ensureBuilt(): void;
export function startBroker(env: NodeJS.ProcessEnv, opts?: { nodeArgs?: readonly string[]; cwd?: string }): BrokerChild;
export function waitForBanner(
  child: Pick<BrokerChild, 'stdout' | 'stderr' | 'on' | 'off' | 'exitCode' | 'signalCode'>,
  timeoutMs?: number,
): Promise<Banner>;
