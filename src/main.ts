/**
 * The broker process: configuration from the environment, fatal errors as `FATAL: …` with exit code 1, and a
 * graceful shutdown on SIGINT/SIGTERM with exit code 0.
 */

import { FatalError, startBroker } from './broker.js';
import { ConfigError, loadConfig } from './config/config.js';
import { createLogger } from './observability/log.js';

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

main().catch((err: unknown) => fatal(err instanceof Error ? err.message : String(err)));
