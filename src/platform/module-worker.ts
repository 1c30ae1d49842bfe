import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts a worker thread running the ES module at `url`, also when `url` is a TypeScript source.
 *
 * Compiled builds load the `.js` file directly. When the broker runs from its `.ts` sources under tsx, Node 20 does
 * not apply the parent's `--import tsx` hooks inside worker threads, so the worker would fail with
 * ERR_UNKNOWN_FILE_EXTENSION; in that case a small bootstrap registers tsx in the worker first. A fresh query
 * string keeps the retry from hitting the module map entry of the failed attempt.
 */
export function createModuleWorker(url: URL, options: Omit<WorkerOptions, 'eval'> = {}): Worker {
  if (!url.pathname.endsWith('.ts')) return new Worker(url, options);
  const loader = typeScriptLoaderUrl();
  const source = `
const target = ${JSON.stringify(url.href)};
const loader = ${JSON.stringify(loader)};
import(target).catch((err) => {
  if (loader === null || !err || err.code !== 'ERR_UNKNOWN_FILE_EXTENSION') throw err;
  return import(loader).then((api) => {
    api.register();
    return import(target + (target.includes('?') ? '&' : '?') + 'ts-loader');
  });
});`;
  return new Worker(source, { ...options, eval: true });
}

let cachedLoader: string | null | undefined;

function typeScriptLoaderUrl(): string | null {
  if (cachedLoader === undefined) {
    try {
      cachedLoader = import.meta.resolve('tsx/esm/api');
    } catch {
      cachedLoader = null;
    }
  }
  return cachedLoader;
}
