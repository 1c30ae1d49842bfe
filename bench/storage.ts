/**
 * Storage engine numbers: durable commits/s with 50 concurrent committers, startup (open + load) time and RSS with
 * 1 M audit events, audit query times at 1 M events, and request-thread event-loop delay, commit latency and peak RSS
 * while a 1 M-event checkpoint runs. RSS is sampled every 20 ms (the storage worker shares the process RSS).
 * Run: npm run bench:storage   (builds first; the 1 M-event database is generated once into .tmp/)
 */
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { type Mutation, openStore } from '../src/store/index.js';
import { ensureAuditDatabase, row } from './audit-db.mjs';

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
// The 1 M-event database is built (once, cached in .tmp/) by the generator the route bench uses too; it loads the
// compiled schema, hence `npm run bench:storage` builds first.
const CACHE: string = await ensureAuditDatabase(ROWS, (line: string) => console.log(line));

const pct = (xs: number[], p: number): number =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))] ?? 0;

async function throughput(dir: string): Promise<void> {
  const store = await openStore({ path: join(dir, 'tp.db') });
  let seq = 0;
  let prev = '0'.repeat(64);
  const lat: number[] = [];
  const until = performance.now() + 3000;
  const committer = async (): Promise<void> => {
    while (performance.now() < until) {
      const r = row(++seq, prev);
      prev = r.hash;
      const t = performance.now();
      await store.commit([{ kind: 'audit.insert', row: r } satisfies Mutation]);
      lat.push(performance.now() - t);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: 50 }, committer));
  const secs = (performance.now() - started) / 1000;
  console.log(
    `durable commits: ${(lat.length / secs).toFixed(0)}/s with 50 concurrent committers (p50 ${pct(lat, 0.5).toFixed(1)} ms, p99 ${pct(lat, 0.99).toFixed(1)} ms)`,
  );
  await store.close();
}

const MiB = (n: number): string => `${(n / 2 ** 20).toFixed(0)} MiB`;

/** Peak RSS over a window; sampled on the request thread's timer, which keeps running while the worker is busy. */
class RssSampler {
  private peak = 0;
  private readonly timer = setInterval(() => this.sample(), 20);

  sample(): number {
    const rss = process.memoryUsage().rss;
    this.peak = Math.max(this.peak, rss);
    return rss;
  }

  /** The peak since the last call, and starts a new window. */
  take(): number {
    this.sample();
    const p = this.peak;
    this.peak = 0;
    return p;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

async function bigDatabase(dir: string): Promise<void> {
  const path = join(dir, 'big.db');
  await copyFile(CACHE, path);
  const rss = new RssSampler();
  rss.take();
  const t0 = performance.now();
  let checkpointDone: () => void = () => undefined;
  let checkpointed = new Promise<void>((r) => (checkpointDone = r));
  let phases = '';
  const store = await openStore({
    path,
    checkpointBytes: 1,
    events: {
      onLog: (_l, _c, msg, ...ctx) => {
        if (msg === 'checkpoint written') {
          console.log(`  ${msg} ${ctx.join(' ')}`);
          checkpointDone();
        } else if (msg.startsWith('opened ')) {
          phases = ctx.find((c) => c.startsWith('ms='))?.slice(3) ?? '';
        }
      },
    },
  });
  const snap = await store.load();
  const startupMs = performance.now() - t0;
  console.log(
    `startup with ${snap.audit.count} audit events: ${(startupMs / 1000).toFixed(2)} s (worker phases ms ${phases}), ` +
      `RSS ${MiB(rss.sample())} (peak during startup ${MiB(rss.take())})`,
  );

  // Audit queries as GET /v1/audit/events issues them: first call (cold total), then the same call again.
  const last = new Date(1.7e12 + snap.audit.lastSeq * 1000);
  const iso = (ms: number): string => new Date(ms).toISOString();
  const queries: [string, Parameters<typeof store.queryAudit>[0]][] = [
    ['no filter', { limit: 100, offset: 0 }],
    ['no filter, offset 900000', { limit: 100, offset: 900_000 }],
    ['event_type', { event_type: 'token_issued', limit: 100, offset: 0 }],
    ['event_type, offset 100000', { event_type: 'token_issued', limit: 100, offset: 100_000 }],
    ['agent_id', { agent_id: 'spiffe://local/agent/o/t7/i7', limit: 100, offset: 0 }],
    ['task_id', { task_id: 't7', limit: 100, offset: 0 }],
    ['outcome, limit 1000', { outcome: 'success', limit: 1000, offset: 0 }],
    ['since (last hour)', { since: iso(last.getTime() - 3_600_000), limit: 100, offset: 0 }],
    ['since (last half)', { since: iso(last.getTime() - (snap.audit.lastSeq / 2) * 1000), limit: 100, offset: 0 }],
    [
      'since+until (a day)',
      {
        since: iso(last.getTime() - 3 * 86_400_000),
        until: iso(last.getTime() - 2 * 86_400_000),
        limit: 100,
        offset: 0,
      },
    ],
    [
      'event_type+since, offset 1000',
      { event_type: 'token_issued', since: '2023-11-14T22:13:20.5Z', limit: 100, offset: 1000 },
    ],
    [
      'agent_id+event_type',
      { agent_id: 'spiffe://local/agent/o/t7/i7', event_type: 'token_issued', limit: 100, offset: 0 },
    ],
  ];
  for (const [label, f] of queries) {
    const times: number[] = [];
    let total = 0;
    for (let i = 0; i < 2; i++) {
      const q0 = performance.now();
      total = (await store.queryAudit(f)).total;
      times.push(performance.now() - q0);
    }
    console.log(
      `  queryAudit ${label.padEnd(30)} ${times.map((t) => t.toFixed(0).padStart(5)).join(' ms, then')} ms  (total ${total})`,
    );
  }
  const afterQueries = rss.take();

  // The first commit pushes the journal over the 1-byte threshold: a full checkpoint of the 1 M-event file starts.
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  let seq = snap.audit.lastSeq;
  let prev = snap.audit.lastHash;
  const lat: number[] = [];
  let running = true;
  const committer = async (): Promise<void> => {
    while (running) {
      const r = row(++seq, prev);
      prev = r.hash;
      const t = performance.now();
      await store.commit([{ kind: 'audit.insert', row: r }]);
      lat.push(performance.now() - t);
    }
  };
  const cpStart = performance.now();
  const committers = Array.from({ length: 10 }, committer);
  await checkpointed;
  const cpMs = performance.now() - cpStart;
  running = false;
  await Promise.all(committers);
  loop.disable();
  const duringCheckpoint = rss.take();
  console.log(
    `during a ${(cpMs / 1000).toFixed(1)} s checkpoint of ${snap.audit.count} events: event-loop delay p99 ${(loop.percentile(99) / 1e6).toFixed(1)} ms ` +
      `(max ${(loop.max / 1e6).toFixed(1)} ms); ${lat.length} commits, p99 ${pct(lat, 0.99).toFixed(1)} ms, max ${Math.max(...lat).toFixed(1)} ms; ` +
      `peak RSS ${MiB(duringCheckpoint)}`,
  );
  // With a 1-byte threshold the commits above already started the next checkpoint; a query waits behind it.
  const b0 = performance.now();
  await store.queryAudit({ limit: 1, offset: 0 });
  console.log(
    `  first query after the checkpoint waited ${(performance.now() - b0).toFixed(0)} ms for the storage worker`,
  );
  const q0 = performance.now();
  const page = await store.queryAudit({
    event_type: 'token_issued',
    since: '2023-11-14T22:13:20.5Z',
    limit: 100,
    offset: 1000,
  });
  console.log(
    `queryAudit (filtered, offset 1000) over ${snap.audit.count + lat.length} events: ${(performance.now() - q0).toFixed(0)} ms, total ${page.total}`,
  );
  checkpointed = new Promise<void>((r) => (checkpointDone = r));
  await store.close();
  const closing = rss.take();
  rss.stop();
  console.log(
    `peak RSS: queries ${MiB(afterQueries)}, checkpoint ${MiB(duringCheckpoint)}, close (final checkpoint) ${MiB(closing)}`,
  );
}

const dir = await mkdtemp(join(tmpdir(), 'awbench-'));
try {
  await throughput(dir);
  await bigDatabase(dir);
} finally {
  await rm(dir, { recursive: true, force: true });
}
