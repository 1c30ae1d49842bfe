/**
 * The storage-dependent integration tests again, with every broker on PostgreSQL (one throwaway cluster for the
 * file, one database per broker dir): the same behaviour is expected from both stores.
 */
import { after, test } from 'node:test';
import { useDatabaseForTests } from '../helpers/broker.js';
import { pgSkip, runBrokersOnPostgres } from '../helpers/postgres.js';

if (pgSkip !== false) {
  test('integration tests on PostgreSQL', { skip: pgSkip }, () => undefined);
} else {
  await runBrokersOnPostgres(after, useDatabaseForTests);
  await import('./lifecycle.test.js');
  await import('./apps.test.js');
  await import('./keys.test.js');
  await import('./housekeeping.test.js');
  await import('./errors.test.js');
}
