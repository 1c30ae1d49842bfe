/**
 * Runs the real `bin/awrit` as a child process and checks on every run that the admin secret it was given never
 * shows up in its output. bin/awrit loads the compiled CLI from dist/; `npm test` builds it first, and a run by
 * hand rebuilds it here when any source is newer.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ensureBuilt } from '../../scripts/broker-process.mjs';
import { ROOT } from './paths.js';

const BIN = join(ROOT, 'bin', 'awrit');

export { ROOT };

export interface AwritResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface AwritOptions {
  env?: Record<string, string | undefined>;
  input?: string;
}

/** A clean environment: nothing from the developer's shell (AACTL_*, AA_*, HOME) leaks into a test. */
function baseEnv(): Record<string, string> {
  const keep = ['PATH', 'SYSTEMROOT', 'TMPDIR', 'LANG'];
  const env: Record<string, string> = {};
  for (const k of keep) if (process.env[k] !== undefined) env[k] = process.env[k] as string;
  return env;
}

export function awrit(args: readonly string[], opts: AwritOptions = {}): Promise<AwritResult> {
  const env: Record<string, string> = baseEnv();
  for (const [k, v] of Object.entries(opts.env ?? {})) if (v !== undefined) env[k] = v;
  ensureBuilt();
  const argv = [BIN, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => {
      const secret = env.AACTL_ADMIN_SECRET;
      if (secret !== undefined && secret !== '' && (stdout.includes(secret) || stderr.includes(secret))) {
        reject(new Error(`awrit ${args.join(' ')} printed the admin secret`));
        return;
      }
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** The stderr line of a failed run (exactly one line is expected). */
export function errorLine(r: AwritResult): string {
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  if (lines.length !== 1) throw new Error(`expected one stderr line, got ${JSON.stringify(r.stderr)}`);
  return lines[0] ?? '';
}
