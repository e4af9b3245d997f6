/**
 * `dspex bench fleet`: what the queue costs and what merging the hosts' reports costs (issue 17).
 *
 * Part 1, through the queue: the same echo calls (~100 bytes of JSON) on one local pool of 2
 * Python workers, called directly (the baseline) and through the fleet (FleetClient → BullMQ on a
 * throwaway local redis-server → FleetWorker → that same pool), both in this process, rounds
 * interleaved with the order flipped each round, at 1, 4 and 16 callers. Reported per path:
 * throughput, p50/p99 latency, CPU per call (this process + redis-server + the Python workers,
 * from `process.cpuUsage` and /proc), and their differences: the per-call overhead in µs. On the
 * 2-core machines this runs on, client, Redis, worker and Python share the cores, so the queue
 * cannot scale anything up: the figures are its cost, not a fleet's capacity.
 *
 * Part 2, the merge: a real host report (`buildHostReport` of the collector that watched part 1's
 * pool, so its sketches hold real latencies), copied for N hosts (distinct host ids), fed to a
 * `FleetCollector` as the stream would: one report per host per simulated second (parse + ingest,
 * what the collector does per stream entry), clock advanced by 1 s between seconds, and one fleet
 * `snapshot('1m')` per second (what a dashboard refresh costs: every host's sketches merged).
 * Baseline, interleaved report by report: `JSON.parse` of the same entry alone (the floor of
 * reading it at all). Since each host sends one report a second, µs per report is µs per host per
 * second.
 *
 * Everything started here (redis-server, the pool's Python workers, BullMQ and ioredis
 * connections, the collector) is stopped in `finally`; SIGINT/SIGTERM during the run exit through
 * the same path's last resort (the redis launcher's exit hook; the workers die with this process).
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { SessionPool } from '../pool/session-pool.js';
import { MetricsCollector } from '../metrics/metrics-collector.js';
import { ManualClock } from '../contract/clock.js';
import { parseStat } from '../resources/proc.js';
import { FleetClient } from '../fleet/fleet-client.js';
import { FleetWorker } from '../fleet/fleet-worker.js';
import { FleetCollector } from '../fleet/fleet-collector.js';
import { buildHostReport, parseHostReport, type HostReport } from '../fleet/host-report.js';
import { findRedisServer, startLocalRedis, type LocalRedis } from '../fleet/local-redis.js';
import { BenchUnavailableError, progressLine, quantileSorted, summarizeSamples, type BenchOptions, type BenchReport, type BenchRow } from './report.js';

const PAYLOAD = { text: 'x'.repeat(80), n: 12345 }; // ~100 bytes of JSON, as bench pool
const POOL_SIZE = 2;
const HEADLINE_CALLERS = 4;
const silentLogger = { debug() {}, info() {}, warn() {}, error() {} };

/** The redis-server to use, or a {@link BenchUnavailableError} naming `make deps`. */
export function requireRedisServer(found: string | null): string {
  if (found === null) throw new BenchUnavailableError('needs redis-server (Debian package redis-server), not found in $PATH or /usr/bin: run `make deps`');
  return found;
}

/** One path's measured round(s). */
interface PathTally {
  ops: number;
  seconds: number;
  /** CPU seconds: this process, redis-server, the Python workers. */
  cpuS: CpuSplit;
  lat: number[];
}

/** CPU seconds by process. */
interface CpuSplit {
  node: number;
  redis: number;
  python: number;
}

/** Latency samples kept per round at most (enough for a p99; memory bounded whatever the round length). */
const MAX_SAMPLES = 200_000;

/** Drive `call` from `concurrency` loops for `ms`; adds to `tally` (latencies in µs). */
async function drive(concurrency: number, ms: number, call: () => Promise<unknown>, tally: PathTally, cpu: () => CpuSplit): Promise<void> {
  const lat = new Float64Array(MAX_SAMPLES);
  let n = 0;
  const cpu0 = cpu();
  const t0 = performance.now();
  const end = t0 + ms;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const s = performance.now();
        await call();
        if (n < lat.length) lat[n] = (performance.now() - s) * 1000;
        n++;
      }
    }),
  );
  tally.seconds += (performance.now() - t0) / 1000;
  const cpu1 = cpu();
  tally.cpuS.node += cpu1.node - cpu0.node;
  tally.cpuS.redis += cpu1.redis - cpu0.redis;
  tally.cpuS.python += cpu1.python - cpu0.python;
  tally.ops += n;
  for (let i = 0; i < Math.min(n, lat.length); i++) tally.lat.push(lat[i]!);
}

/** CPU seconds (user + system) of `pids` so far, from /proc (0 for a process gone or off Linux). */
function procCpuSeconds(pids: readonly number[]): number {
  let s = 0;
  for (const pid of pids) {
    try {
      const st = parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
      if (st !== null) s += (st.utimeTicks + st.stimeTicks) / 100; // USER_HZ
    } catch {
      // gone
    }
  }
  return s;
}

/** Figures of one concurrency level, both paths. */
export interface QueueCase {
  concurrency: number;
  fleetOpsPerS: number;
  localOpsPerS: number;
  fleetP50Us: number;
  localP50Us: number;
  fleetP99Us: number;
  localP99Us: number;
  /** CPU per call, this process + redis-server + Python workers, µs. */
  fleetCpuUsPerCall: number;
  localCpuUsPerCall: number;
  /** The same by process, µs per call. */
  fleetCpuSplitUs: CpuSplit;
  localCpuSplitUs: CpuSplit;
}

function summarize(t: PathTally): { opsPerS: number; p50Us: number; p99Us: number; cpuUsPerCall: number; split: CpuSplit } {
  const sorted = Float64Array.from(t.lat).sort();
  const per = (s: number): number => (s / Math.max(1, t.ops)) * 1e6;
  const split = { node: per(t.cpuS.node), redis: per(t.cpuS.redis), python: per(t.cpuS.python) };
  return { opsPerS: t.ops / t.seconds, p50Us: quantileSorted(sorted, 0.5), p99Us: quantileSorted(sorted, 0.99), cpuUsPerCall: split.node + split.redis + split.python, split };
}

/** Part 1 (see the module note). Returns the cases and a real host report built from the pool's collector. */
async function queueCost(
  redis: LocalRedis,
  concurrencies: readonly number[],
  roundMs: number,
  rounds: number,
  progress: (text: string) => void,
): Promise<{ cases: QueueCase[]; report: HostReport }> {
  const queue = `bench-fleet-${process.pid}`;
  const pool = new SessionPool({ name: `bench-fleet-${process.pid}`, size: POOL_SIZE, healthCheckIntervalMs: 0, logger: silentLogger });
  const collector = new MetricsCollector();
  let worker: FleetWorker | null = null;
  let client: FleetClient | null = null;
  try {
    collector.start();
    await pool.start();
    collector.trackPool(pool);
    worker = new FleetWorker({ connection: redis.url, queue, pool, hostId: 'bench-host-0', collector });
    await worker.start();
    client = new FleetClient({ connection: redis.url, queue });
    await client.start();
    const fleet = client;
    const paths = {
      fleet: () => fleet.execute('echo', PAYLOAD),
      local: () => pool.executeAnonymous('echo', PAYLOAD),
    };
    const cpu = (): CpuSplit => {
      const u = process.cpuUsage();
      return { node: (u.user + u.system) / 1e6, redis: procCpuSeconds([redis.child.pid ?? 0]), python: procCpuSeconds(pool.pids()) };
    };
    // Warm-up of both paths (JIT, connections, BullMQ scripts loaded into Redis).
    progress('warm-up');
    const scratch = (): PathTally => ({ ops: 0, seconds: 0, cpuS: { node: 0, redis: 0, python: 0 }, lat: [] });
    await drive(4, 300, paths.fleet, scratch(), cpu);
    await drive(4, 300, paths.local, scratch(), cpu);
    const cases: QueueCase[] = [];
    for (const c of concurrencies) {
      const acc = { fleet: scratch(), local: scratch() };
      for (let r = 0; r < rounds; r++) {
        // Interleaved, alternating which goes first, so drift on a shared machine hits both.
        for (const which of r % 2 === 0 ? (['local', 'fleet'] as const) : (['fleet', 'local'] as const)) {
          progress(`queue vs local: ${c} caller(s), round ${r + 1}/${rounds}, ${which}`);
          await drive(c, roundMs, paths[which], acc[which], cpu);
        }
      }
      const f = summarize(acc.fleet);
      const l = summarize(acc.local);
      cases.push({
        concurrency: c,
        fleetOpsPerS: f.opsPerS,
        localOpsPerS: l.opsPerS,
        fleetP50Us: f.p50Us,
        localP50Us: l.p50Us,
        fleetP99Us: f.p99Us,
        localP99Us: l.p99Us,
        fleetCpuUsPerCall: f.cpuUsPerCall,
        localCpuUsPerCall: l.cpuUsPerCall,
        fleetCpuSplitUs: f.split,
        localCpuSplitUs: l.split,
      });
    }
    // A complete second after the last calls, so the report's recent seconds hold them.
    await new Promise((r) => setTimeout(r, 1100));
    collector.tick();
    const report = buildHostReport(collector, 'bench-host-0', worker.incarnation, 5000, Date.now());
    return { cases, report };
  } finally {
    // Client first (no new jobs), then the worker (in-flight jobs finish), then the pool.
    await client?.close().catch(() => {});
    await worker?.stop({ timeoutMs: 5000 }).catch(() => {});
    collector.stop();
    await pool.stop();
  }
}

/** Figures of the merge at one host count. */
export interface MergeCase {
  hosts: number;
  seconds: number;
  /** Parse + ingest of one report (= per host per second), µs. */
  perReportP50Us: number;
  perReportP99Us: number;
  perReportMeanUs: number;
  /** `JSON.parse` of the same entry alone, µs (the baseline). */
  parseMeanUs: number;
  /** One fleet `snapshot('1m')` with every host's sketches merged, divided by the hosts, µs. */
  snapshotPerHostUs: number;
  /** Share of one core the collector spends at this host count: reports + one snapshot a second, 0..1. */
  coreShare: number;
}

/** Move a parsed report `shiftMs` later (its time and its recent seconds), as the host's next report would be. */
function shiftReport(r: HostReport, shiftMs: number): void {
  r.timestampMs += shiftMs;
  for (const p of r.pools) for (const x of p.recent) x.point.timestampMs += shiftMs;
}

/**
 * Part 2 (see the module note): `template` copied for `hosts` hosts, `seconds` simulated seconds
 * (after unmeasured ones: at least 2 seconds and 300 reports), on a collector of its own with a manual clock (no Redis).
 */
export function mergeCost(template: HostReport, hosts: number, seconds: number): MergeCase {
  const clock = new ManualClock(template.timestampMs);
  const collector = new FleetCollector({ queue: 'bench-merge', clock, maxHosts: Math.max(256, hosts) });
  const entries = Array.from({ length: hosts }, (_, h) => JSON.stringify({ ...template, hostId: `bench-host-${h}`, incarnation: `${template.incarnation}-${h}` }));
  const perReport: number[] = [];
  const parseOnly: number[] = [];
  const snapshotUs: number[] = [];
  let sink = 0;
  // Unmeasured first seconds: at least 300 reports, so the JIT has settled even with one host.
  const warm = Math.max(2, Math.ceil(300 / hosts));
  for (let s = 0; s < warm + seconds; s++) {
    clock.advance(1000);
    const measured = s >= warm;
    for (let h = 0; h < hosts; h++) {
      const entry = entries[h]!;
      // Interleaved, order alternating per report: the baseline and the real path see the same heap and caches.
      for (const which of (s + h) % 2 === 0 ? (['parse', 'ingest'] as const) : (['ingest', 'parse'] as const)) {
        if (which === 'parse') {
          const t0 = performance.now();
          sink += (JSON.parse(entry) as HostReport).pools.length;
          if (measured) parseOnly.push((performance.now() - t0) * 1000);
        } else {
          const t0 = performance.now();
          const r = parseHostReport(entry);
          const t1 = performance.now();
          if (r === null) throw new Error('bench fleet: the host report did not parse back');
          shiftReport(r, s * 1000);
          const t2 = performance.now();
          collector.ingest(r);
          if (measured) perReport.push((t1 - t0 + performance.now() - t2) * 1000);
        }
      }
    }
    const t0 = performance.now();
    sink += collector.snapshot('1m').pools.length;
    if (measured) snapshotUs.push(((performance.now() - t0) * 1000) / hosts);
  }
  if (collector.reports !== hosts * (warm + seconds) || sink < 0) throw new Error(`bench fleet: ${collector.reports} reports merged, expected ${hosts * (warm + seconds)}`);
  const pr = summarizeSamples(perReport);
  const snap = summarizeSamples(snapshotUs);
  return {
    hosts,
    seconds,
    perReportP50Us: pr.p50,
    perReportP99Us: pr.p99,
    perReportMeanUs: pr.mean,
    parseMeanUs: summarizeSamples(parseOnly).mean,
    snapshotPerHostUs: snap.mean,
    coreShare: (hosts * (pr.mean + snap.mean)) / 1e6,
  };
}

/** Run the benchmark. */
export async function run(opts: BenchOptions): Promise<BenchReport> {
  const binary = requireRedisServer(findRedisServer());
  const roundMs = opts.quick ? 300 : Number(opts.flags['round-ms'] ?? 2000);
  const rounds = opts.quick ? 1 : Number(opts.flags['rounds'] ?? 3);
  const concurrencies = opts.quick ? [1, 4] : [1, 4, 16];
  const hostCounts = opts.quick ? [8] : [1, 8, 64, 256];
  const mergeSeconds = opts.quick ? 5 : 30;
  const progress = progressLine('fleet');
  // A signal mid-run: exit, so the redis launcher's exit hook kills redis-server (the Python
  // workers die with this process); without a listener Node would die without running it.
  const onSignal = (sig: NodeJS.Signals): void => {
    progress.done();
    process.exit(sig === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let redis: LocalRedis | null = null;
  try {
    progress.update('starting redis-server');
    redis = await startLocalRedis({ binary });
    const { cases, report } = await queueCost(redis, concurrencies, roundMs, rounds, (t) => progress.update(t));
    await redis.stop();
    redis = null;
    const merges: MergeCase[] = [];
    for (const n of hostCounts) {
      progress.update(`merge: ${n} host(s) x ${mergeSeconds} s`);
      merges.push(mergeCost(report, n, mergeSeconds));
      await new Promise((r) => setImmediate(r));
    }
    progress.done();
    return assemble(cases, merges, report, { roundMs, rounds, mergeSeconds });
  } finally {
    progress.done();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    await redis?.stop();
  }
}

/** The report of both parts (pure). */
function assemble(cases: QueueCase[], merges: MergeCase[], report: HostReport, params: { roundMs: number; rounds: number; mergeSeconds: number }): BenchReport {
  const queueRows: BenchRow[] = [];
  const mergeRows: BenchRow[] = [];
  const ratios: Record<string, number> = {};
  const split = (c: CpuSplit): string => `${c.node.toFixed(0)}/${c.redis.toFixed(0)}/${c.python.toFixed(0)}`;
  for (const c of cases) {
    ratios[`fleet_vs_local_throughput_c${c.concurrency}`] = c.fleetOpsPerS / c.localOpsPerS;
    ratios[`fleet_vs_local_p50_latency_c${c.concurrency}`] = c.fleetP50Us / c.localP50Us;
    ratios[`fleet_vs_local_cpu_per_call_c${c.concurrency}`] = c.fleetCpuUsPerCall / c.localCpuUsPerCall;
    queueRows.push({
      case: `echo, ${c.concurrency} caller(s)`,
      'fleet ops/s': c.fleetOpsPerS,
      'local ops/s': c.localOpsPerS,
      ratio: c.fleetOpsPerS / c.localOpsPerS,
      'fleet p50 µs': c.fleetP50Us,
      'local p50 µs': c.localP50Us,
      'fleet p99 µs': c.fleetP99Us,
      'local p99 µs': c.localP99Us,
      '+p50 µs': c.fleetP50Us - c.localP50Us,
      '+p99 µs': c.fleetP99Us - c.localP99Us,
      '+cpu µs/call': c.fleetCpuUsPerCall - c.localCpuUsPerCall,
      'cpu µs/call node/redis/py fleet': split(c.fleetCpuSplitUs),
      local: split(c.localCpuSplitUs),
    });
  }
  for (const m of merges) {
    ratios[`merge_vs_parse_per_report_n${m.hosts}`] = m.perReportMeanUs / m.parseMeanUs;
    mergeRows.push({
      case: `merge, ${m.hosts} host(s) x ${m.seconds} s`,
      'µs/host/s p50': m.perReportP50Us,
      'µs/host/s p99': m.perReportP99Us,
      'µs/host/s mean': m.perReportMeanUs,
      'parse alone µs': m.parseMeanUs,
      'snapshot µs/host': m.snapshotPerHostUs,
      'core %': m.coreShare * 100,
    });
  }
  const c1 = cases.find((c) => c.concurrency === 1);
  // The headline: a fleet call at 4 callers (the concurrency both --quick and the full run measure).
  const c4 = cases.find((c) => c.concurrency === HEADLINE_CALLERS);
  const pool = report.pools[0];
  return {
    name: 'fleet',
    rows: [...queueRows, ...mergeRows],
    sections: [
      { title: `through the queue vs the same pool directly (${POOL_SIZE} Python workers)`, rows: queueRows },
      { title: 'FleetCollector merge of host reports', rows: mergeRows },
    ],
    ratios,
    // Heap per call is not measured: the call's allocations are spread over BullMQ's and ioredis'
    // own timers and connections (client and worker in this process), not one sequence to isolate.
    headline: { case: `fleet echo through the queue, ${HEADLINE_CALLERS} callers`, opsPerS: c4?.fleetOpsPerS ?? null, p50Us: c4?.fleetP50Us ?? null, p99Us: c4?.fleetP99Us ?? null, heapBytesPerOp: null },
    notes: [
      `fleet = FleetClient -> BullMQ on a local redis-server -> FleetWorker -> the same ${POOL_SIZE}-worker pool the local rows call directly, all on this machine's cores: the fleet rows are the queue's cost, not a fleet's capacity (no scale-up on a 2-core machine)`,
      '+p50/+p99/+cpu: fleet minus local per call; cpu counts this process, redis-server and the Python workers',
      'merge: one real host report per host per second (parse + FleetCollector.ingest), so µs per report = µs per host per second; snapshot: one fleet snapshot per second (a dashboard refresh); core % = hosts x (report + snapshot share) per second',
    ],
    extra: {
      ...params,
      poolSize: POOL_SIZE,
      overheadP50UsAtC1: c1 === undefined ? null : c1.fleetP50Us - c1.localP50Us,
      overheadP99UsAtC1: c1 === undefined ? null : c1.fleetP99Us - c1.localP99Us,
      queue: cases,
      merge: merges,
      hostReport: { bytes: Buffer.byteLength(JSON.stringify(report)), pools: report.pools.length, commands: pool === undefined ? 0 : Object.keys(pool.commandSketches).length, recentSeconds: pool?.recent.length ?? 0 },
    },
  };
}
