/**
 * Supply chain: the production dependency tree is small and runs no install scripts (read from the lockfile),
 * and `npm audit` finds nothing at moderate or above when its endpoint can be reached.
 */
import assert from 'node:assert/strict';
import { type ExecFileException, execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

const ROOT = new URL('../../', import.meta.url).pathname;

interface LockEntry {
  dev?: boolean;
  hasInstallScript?: boolean;
}

test('production dependencies: at most 10 packages, none with an install script', () => {
  const lock = JSON.parse(readFileSync(`${ROOT}package-lock.json`, 'utf8')) as {
    lockfileVersion: number;
    packages: Record<string, LockEntry>;
  };
  assert.ok(lock.lockfileVersion >= 2, 'a lockfile with the packages map');
  const prod = Object.entries(lock.packages).filter(([path, e]) => path !== '' && e.dev !== true);
  assert.ok(prod.length <= 10, `production tree: ${prod.map(([p]) => p).join(', ')}`);
  const scripted = prod.filter(([, e]) => e.hasInstallScript === true).map(([p]) => p);
  assert.deepEqual(scripted, []);
});

test('npm audit --omit=dev: nothing at moderate or above', async (t) => {
  const out = await new Promise<{ stdout: string; error: ExecFileException | null }>((resolve) => {
    execFile(
      'npm',
      ['audit', '--omit=dev', '--audit-level=moderate', '--json'],
      { cwd: ROOT, timeout: 30_000 },
      (error, stdout) => resolve({ stdout, error }),
    );
  });
  let report: { metadata?: { vulnerabilities?: Record<string, number> }; message?: string };
  try {
    report = JSON.parse(out.stdout) as typeof report;
  } catch {
    t.skip(`npm audit gave no report (${out.error?.code ?? out.error?.message ?? 'no output'}): registry unreachable`);
    return;
  }
  const v = report.metadata?.vulnerabilities;
  if (v === undefined) {
    // The audit endpoint refused or could not be reached (offline CI, a mirror without the audit API).
    t.skip(`npm audit endpoint unavailable: ${report.message ?? 'no metadata'}`);
    return;
  }
  assert.equal((v.moderate ?? 0) + (v.high ?? 0) + (v.critical ?? 0), 0, JSON.stringify(v));
});
