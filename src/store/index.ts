import { open, stat, unlink } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { createModuleWorker } from '../platform/module-worker.js';
import { DurableStore } from './durable-store.js';
import { JournalWriter } from './journal-writer.js';
import type { FromWorker, OpenResult, WorkerInit } from './protocol.js';
import { type Store, type StoreEvents, StoreOpenError } from './store.js';

export * from './store.js';

export interface OpenStoreOptions {
  /** The SQLite database file (AA_DB_PATH). The journal lives next to it as `<path>.awj`. */
  path: string;
  events?: StoreEvents;
  /** Journal size that triggers a checkpoint (database file rewrite + journal rotation). */
  checkpointBytes?: number;
}

/** Small enough that replaying a full journal after a crash stays well inside the startup budget. */
export const DEFAULT_CHECKPOINT_BYTES = 32 * 1024 * 1024;

export function journalPathFor(path: string): string {
  return `${path}.awj`;
}

async function checkDirectory(path: string): Promise<void> {
  const dir = dirname(path);
  try {
    if (!(await stat(dir)).isDirectory()) throw new StoreOpenError(`cannot open ${path}: ${dir} is not a directory`);
  } catch (err) {
    if (err instanceof StoreOpenError) throw err;
    throw new StoreOpenError(
      `cannot open ${path}: directory ${dir} is not accessible (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
  // Checkpoints create temp files here; find out now rather than at the first checkpoint.
  const probe = `${path}.tmp-probe`;
  try {
    const fh = await open(probe, 'w', 0o600);
    await fh.close();
    await unlink(probe);
  } catch (err) {
    throw new StoreOpenError(
      `cannot open ${path}: directory ${dir} is not writable (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
}

function workerUrl(): URL {
  return new URL(`./storage-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);
}

function waitForOpen(worker: Worker, events: StoreEvents): Promise<OpenResult> {
  return new Promise<OpenResult>((resolveOpen, reject) => {
    const onMessage = (msg: FromWorker): void => {
      if (msg.type === 'log') {
        events.onLog?.(msg.level, 'store', msg.message, ...msg.ctx);
      } else if (msg.type === 'opened') {
        cleanup();
        resolveOpen(msg.result);
      } else if (msg.type === 'openFailed') {
        cleanup();
        reject(new StoreOpenError(msg.message));
      }
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(new StoreOpenError(`storage worker failed to start: ${err.message}`));
    };
    const onExit = (code: number): void => {
      cleanup();
      reject(new StoreOpenError(`storage worker exited during open (code ${code})`));
    };
    const cleanup = (): void => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
  });
}

/**
 * Opens (or creates) the database, recovers from the journal and returns the durable store. Throws StoreOpenError,
 * naming the file, for anything that must stop the broker from starting.
 */
export async function openStore(opts: OpenStoreOptions): Promise<Store> {
  const path = resolve(opts.path);
  const events = opts.events ?? {};
  await checkDirectory(path);
  const init: WorkerInit = { path, journalPath: journalPathFor(path) };
  const worker = createModuleWorker(workerUrl(), { workerData: init });
  let opened: OpenResult;
  let journal: JournalWriter;
  try {
    opened = await waitForOpen(worker, events);
    journal = await JournalWriter.open(init.journalPath, opened.journalEnd);
  } catch (err) {
    await worker.terminate();
    events.onError?.('open', err as Error);
    if (err instanceof StoreOpenError) throw err;
    throw new StoreOpenError(`cannot open ${init.journalPath}: ${(err as Error).message}`);
  }
  const store = new DurableStore(worker, journal, opened, events, opts.checkpointBytes ?? DEFAULT_CHECKPOINT_BYTES);
  const ph = opened.phasesMs;
  events.onLog?.(
    'ok',
    'store',
    `opened ${path}`,
    `records=${opened.lastSeq}`,
    `replayed=${opened.replayed}`,
    `ms=read:${ph.read},schema:${ph.schema},replay:${ph.replay},finish:${ph.finish}`,
  );
  if (opened.checkpointWanted) store.startCheckpoint(true);
  return store;
}
