/**
 * The broker process: configuration from the environment, fatal errors as `FATAL: …` with exit code 1, and a
 * graceful shutdown on SIGINT/SIGTERM with exit code 0.
 */

import { FatalError, startBroker } from './broker.js';
import { ConfigError, loadConfig } from './config/config.js';
import { createLogger } from './observability/log.js';
import { copyFromSqlite } from './store/postgres/copy-from-sqlite.js';
import { StoreOpenError } from './store/store.js';

function fatal(message: string): never {
  process.stderr.write(`FATAL: ${message}\n`);
  process.exit(1);
}

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) fatal(err.message);
    throw err;
  }
  const logger = createLogger({ level: config.logLevel });
  // logrotate: after `create` (rename) or `copytruncate`, the JSONL audit log is reopened at its path. Installed
  // before startup, because SIGHUP's default action would end the process.
  let reopenAuditLog: (() => Promise<void>) | null = null;
  process.on('SIGHUP', () => void reopenAuditLog?.());
  let broker;
  try {
    broker = await startBroker(config, { logger });
  } catch (err) {
    if (err instanceof FatalError) fatal(err.message);
    throw err;
  }
  const b = broker;
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    const name = signal === 'SIGINT' ? 'interrupt' : 'terminated';
    logger.ok('BROKER', 'shutdown', 'signal received', `signal=${name}`);
    process.stdout.write(`\nShutting down gracefully (signal: ${name})...\n`);
    b.close().then(
      () => {
        logger.ok('BROKER', 'shutdown', 'clean exit');
        process.exit(0);
      },
      (err: unknown) => fatal(`shutdown: ${err instanceof Error ? err.message : String(err)}`),
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  reopenAuditLog = () => b.reopenAuditLog();
}

/** `migrate --from <data.db>`: the one subcommand; copies a SQLite database into the AA_DATABASE_URL database. */
async function migrateCommand(args: string[]): Promise<void> {
  const at = args.indexOf('--from');
  const from = at === -1 ? args.find((a) => a.startsWith('--from='))?.slice('--from='.length) : args[at + 1];
  if (from === undefined || from === '' || args.length !== (at === -1 ? 1 : 2)) {
    fatal('usage: agentwrit-broker migrate --from <path to data.db>   (with AA_DATABASE_URL set)');
  }
  const url = process.env.AA_DATABASE_URL ?? '';
  if (url === '') fatal('migrate: AA_DATABASE_URL must name the (empty) PostgreSQL database to copy into');
  try {
    const report = await copyFromSqlite(from, url);
    const counts = Object.entries(report.rows)
      .map(([t, n]) => `${t}=${n}`)
      .join(' ');
    process.stdout.write(
      `migrated ${from}: ${counts}\naudit chain verified: ${report.audit.events} events, last seq ${report.audit.lastSeq}\n`,
    );
  } catch (err) {
    if (err instanceof StoreOpenError) fatal(err.message);
    throw err;
  }
}

const argv = process.argv.slice(2);
(argv[0] === 'migrate' ? migrateCommand(argv.slice(1)) : main()).catch((err: unknown) =>
  fatal(err instanceof Error ? err.message : String(err)),
);
