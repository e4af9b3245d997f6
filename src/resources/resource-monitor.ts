/**
 * The ResourceMonitor: samples the Node process, the machine and every Python process of the
 * library every `intervalMs`, keeps the latest sample, and publishes each on
 * `dspex:resource:sample`.
 *
 * ```ts
 * const monitor = new ResourceMonitor({ pools: [pool], intervalMs: 5000 });
 * monitor.start();                       // takes a first sample at once
 * monitor.getResources();                // the latest ResourceSample, never waits
 * await monitor.cleanupOrphans({ graceMs: 2000 });
 * monitor.stop();                        // releases the timer, histogram, observer, subscription
 * ```
 *
 * Which Python processes: the workers the registered pools list (by pid), plus every process whose
 * argv marks it as a dspex worker (see {@link identifyWorker}) that belongs to this Node process or
 * to no live Node process (an orphan). Workers of another live Node process, and workers in another
 * PID namespace or whose namespace cannot be read (a container's workers seen from the host: their
 * run id names a pid of the container), are only counted (`foreignWorkers`). Children forked by a
 * worker are listed on the worker (`childPids`, `zombieChildPids`), not as workers; one that keeps
 * the worker's argv and outlives the worker is listed on its own (pool null), and is an orphan once
 * the owner is gone too.
 *
 * Sampling is synchronous (about 2–3 ms with 64 workers; see proc.ts for why) and never throws:
 * unreadable files, permission errors and processes vanishing mid-read become `warnings` or
 * `vanished` entries.
 *
 * @module
 */
import { performance } from 'node:perf_hooks';
import os from 'node:os';
import { emitResourceEvent, subscribe, telemetryMask, type TelemetryGroup, type TelemetryMask, type WorkerTerminateEvent } from '../telemetry/telemetry.js';
import { NodeSampler } from './node-sampler.js';
import {
  DEFAULT_CLOCK_TICKS_PER_S,
  DEFAULT_PAGE_SIZE_BYTES,
  ProcReader,
  classifyOwnership,
  cpuPercent as cpuPercentOf,
  identifyWorker,
  inferPageSizeBytes,
  parseStatm,
  type OwnerObservation,
  type PidNamespaceCheck,
  type ProcError,
  type ProcResult,
  type ProcStat,
  type SystemStat,
  type WorkerIdentity,
} from './proc.js';
import { TrendRing } from './trend.js';
import type { PythonProcessResources, ResourceSample, SystemResources, VanishedProcess } from './types.js';

// ---------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------

/** One worker as a pool's `status()` lists it: the fields the monitor reads. */
export interface ResourcePoolWorker {
  /** The worker slot. */
  id: number;
  /** The Python pid (0 or negative while not spawned yet: skipped). */
  pid: number;
  /** `starting` | `idle` | `busy` | `stopping` (a process that vanishes while `stopping` was ended by the pool). */
  state: string;
  /** Restarts of this slot so far. */
  generation: number;
}

/**
 * What the monitor needs of a pool: a structural interface that `SessionPool` satisfies, so the
 * monitor does not import the pool.
 */
export interface ResourcePoolSource {
  readonly name: string;
  status(): { workers: readonly ResourcePoolWorker[] };
}

/** Options of {@link ResourceMonitor}. */
export interface ResourceMonitorOptions {
  /** Pools whose workers are reported by pid with their pool name and slot. More via {@link ResourceMonitor.addPool}. */
  pools?: readonly ResourcePoolSource[];
  /** Sampling period, ms (default 5000). */
  intervalMs?: number;
  /** Where /proc is (default `/proc`; tests use a fixture tree). */
  procRoot?: string;
  /** Window of the per-worker RSS slope, ms (default 300 000: five minutes). */
  trendWindowMs?: number;
  /** Points kept per worker for the slope (default: enough for the window at `intervalMs`, ×2, ≤ 4096). */
  trendCapacity?: number;
  /** Event-loop-delay timer resolution, ms (default 10). */
  eventLoopResolutionMs?: number;
  /** USER_HZ (default 100; `getconf CLK_TCK`). */
  clockTicksPerS?: number;
  /** Page size, bytes (default: inferred from /proc/self when procRoot is `/proc`, else 4096). */
  pageSizeBytes?: number;
  /** The pid that counts as "this Node process" for run ids (default `process.pid`; fixture tests set it). */
  selfPid?: number;
  /** Wall clock, ms since the epoch (default `Date.now`). */
  now?: () => number;
  /** Scan the machine's processes for workers outside the pools (orphans) on each tick (default true). */
  scanProcesses?: boolean;
  /**
   * The scan reads the argv of new pids at once, but re-reads a pid already known not to be a worker
   * only every this many ticks (staggered by pid; default 6, i.e. 30 s at 5 s). So a process that
   * later `exec`s into a worker, or a reused pid, is recognised within that many ticks. Explicit
   * calls (`getPythonProcesses`, `cleanupOrphans`) always read every argv.
   */
  scanRecheckTicks?: number;
  /** Telemetry groups switched off (`resource` stops the samples being published). */
  telemetry?: { disabled?: readonly TelemetryGroup[] };
  /** Unref the sampling and heartbeat timers so they do not keep the process alive (default true). */
  unref?: boolean;
  /**
   * Sends a signal in {@link ResourceMonitor.cleanupOrphans} (default `process.kill`). With a
   * `procRoot` other than `/proc` and no `signalProcess`, cleanup never signals anything.
   */
  signalProcess?: (pid: number, signal: NodeJS.Signals) => void;
}

/** A recognised Python process, without statistics ({@link ResourceMonitor.getPythonProcesses}). */
export interface PythonProcessInfo {
  pid: number;
  /** The registered pool that lists it (or lists its parent), or null. */
  pool: string | null;
  workerId: number | null;
  /** The run id from its argv; '' when a pool lists a pid whose argv does not carry one (yet). */
  runId: string;
  /** The run id's owner pid; null when there is no run id. */
  ownerPid: number | null;
  orphan: boolean;
  ppid: number;
  state: string;
  /** Start time after boot in clock ticks: with the pid, the process's identity. */
  startTicks: number;
}

/** `collectProcessStats(pid)`: one process, read now. */
export interface ProcessStats {
  pid: number;
  comm: string;
  state: string;
  ppid: number;
  /** Since the monitor's last sample of this pid, percent of one core; null when it has none. */
  cpuPercent: number | null;
  cpuSeconds: number;
  rssBytes: number;
  /** Peak RSS (VmHWM); null for a zombie. */
  peakRssBytes: number | null;
  /** Swapped-out memory (VmSwap); null for a zombie. */
  swapBytes: number | null;
  vmsBytes: number;
  threads: number;
  openFds: number | null;
  startedAtMs: number;
  ageMs: number;
  childPids: number[];
  zombieChildPids: number[];
}

/** Options of {@link ResourceMonitor.cleanupOrphans}. */
export interface CleanupOrphansOptions {
  /** Time between SIGTERM and SIGKILL, ms (default 5000). */
  graceMs?: number;
  /** Time to wait for processes to end after SIGKILL before calling them `survived`, ms (default 2000). */
  killTimeoutMs?: number;
  /** List what would be done without signalling (default false). */
  dryRun?: boolean;
  /** Restrict the cleanup to the orphans this predicate accepts (default: every orphan of the library). */
  only?: (orphan: PythonProcessInfo) => boolean;
}

/** What happened to one orphan. */
export type OrphanAction =
  /** Ended after SIGTERM. */
  | 'terminated'
  /** Survived the grace period, ended by SIGKILL. */
  | 'killed'
  /** Gone before it was signalled. */
  | 'vanished'
  /** Still there after SIGKILL (e.g. stuck in uninterruptible I/O). */
  | 'survived'
  /** Not signalled: dry run, or no real /proc to act on. */
  | 'skipped'
  /** Signalling failed (e.g. EPERM: another user's process). */
  | 'failed';

/** One orphan in {@link CleanupOrphansResult}. */
export interface OrphanCleanupEntry {
  pid: number;
  runId: string;
  ownerPid: number;
  action: OrphanAction;
  /** Signals sent, in order. */
  signals: NodeJS.Signals[];
  error: string | null;
}

/** The result of {@link ResourceMonitor.cleanupOrphans}. */
export interface CleanupOrphansResult {
  orphans: OrphanCleanupEntry[];
  durationMs: number;
}

// ---------------------------------------------------------------------------------------------
// Internals
// ---------------------------------------------------------------------------------------------

/** A process followed across samples (identity: pid + startTicks). */
interface Tracked {
  pid: number;
  startTicks: number;
  runId: string;
  pool: string | null;
  workerId: number | null;
  lastPoolState: string | null;
  prevCpuTicks: number;
  prevMonoMs: number;
  lastSeenAtMs: number;
  trend: TrendRing;
  /** Tick number at which it was first missed (its report waits one tick for the pool's terminate event). */
  missingSinceTick: number | null;
}

/** A process found in one discovery pass. */
interface Found {
  stat: ProcStat;
  identity: WorkerIdentity | null;
  pool: string | null;
  workerId: number | null;
  generation: number;
  poolState: string | null;
  orphan: boolean;
}

interface PoolEntry {
  pool: string;
  worker: ResourcePoolWorker;
}

const MAX_TERMINATIONS = 4096;

function errorText(e: ProcError): string {
  return e.code === 'permission' ? `permission denied reading ${e.path}` : e.message;
}

/** Samples Node, the machine and the library's Python processes; see the module documentation. */
export class ResourceMonitor {
  /** The sampling period, ms. */
  readonly intervalMs: number;
  /** The RSS slope window, ms. */
  readonly trendWindowMs: number;
  private readonly reader: ProcReader;
  private readonly realProc: boolean;
  private readonly pools = new Set<ResourcePoolSource>();
  private readonly nodeSampler: NodeSampler;
  private readonly clockTicksPerS: number;
  private readonly pageSizeBytes: number;
  private readonly selfPid: number;
  private readonly now: () => number;
  private readonly scanProcesses: boolean;
  private readonly mask: TelemetryMask;
  private readonly unref: boolean;
  private readonly trendCapacity: number;
  private readonly signalProcess: ((pid: number, signal: NodeJS.Signals) => void) | null;

  private timer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;
  private latest: ResourceSample | null = null;
  private tick = 0;
  private readonly tracked = new Map<number, Tracked>();
  private readonly terminations = new Map<number, WorkerTerminateEvent & { receivedAtMs: number }>();
  /** pid -> startTicks of processes cleanupOrphans signalled (their disappearance is not a crash). */
  private readonly endedByCleanup = new Map<number, number>();
  private prevSystem: SystemStat | null = null;
  /**
   * Scan verdicts by pid (identity null: not a worker), so a tick re-reads only new and due pids. A
   * process's PID namespace never changes, so a worker's namespace check is kept with its identity.
   */
  private readonly scanCache = new Map<number, { identity: WorkerIdentity | null; startTicks: number; seenTick: number; pidNamespace: PidNamespaceCheck }>();
  private readonly scanRecheckTicks: number;

  constructor(options: ResourceMonitorOptions = {}) {
    this.intervalMs = Math.max(10, options.intervalMs ?? 5000);
    this.trendWindowMs = Math.max(1, options.trendWindowMs ?? 300_000);
    this.trendCapacity = options.trendCapacity ?? Math.min(4096, Math.max(8, Math.ceil(this.trendWindowMs / this.intervalMs) * 2 + 4));
    const root = options.procRoot ?? '/proc';
    this.reader = new ProcReader(root);
    this.realProc = this.reader.root === '/proc';
    for (const p of options.pools ?? []) this.pools.add(p);
    this.nodeSampler = new NodeSampler({ eventLoopResolutionMs: options.eventLoopResolutionMs ?? 10, unref: options.unref ?? true });
    this.clockTicksPerS = options.clockTicksPerS ?? DEFAULT_CLOCK_TICKS_PER_S;
    this.pageSizeBytes = options.pageSizeBytes ?? (this.realProc ? this.detectPageSize() : DEFAULT_PAGE_SIZE_BYTES);
    this.selfPid = options.selfPid ?? process.pid;
    this.now = options.now ?? Date.now;
    this.scanProcesses = options.scanProcesses ?? true;
    this.scanRecheckTicks = Math.max(1, Math.round(options.scanRecheckTicks ?? 6));
    this.mask = telemetryMask(options.telemetry?.disabled ?? []);
    this.unref = options.unref ?? true;
    this.signalProcess = options.signalProcess ?? (this.realProc ? (pid, sig) => process.kill(pid, sig) : null);
  }

  /** Register a pool (its workers are reported with its name from the next sample on). */
  addPool(pool: ResourcePoolSource): void {
    this.pools.add(pool);
  }

  /** Unregister a pool. */
  removePool(pool: ResourcePoolSource): void {
    this.pools.delete(pool);
  }

  /** True between start() and stop(). */
  get running(): boolean {
    return this.timer !== null;
  }

  /**
   * Start sampling: enables the event-loop histogram and GC observer, subscribes to
   * `dspex:worker:terminate`, takes one sample at once, then one every `intervalMs`. Idempotent.
   */
  start(): void {
    if (this.timer) return;
    this.nodeSampler.start();
    this.unsubscribe = subscribe('dspex:worker:terminate', (ev) => this.onTerminate(ev));
    this.timer = setInterval(() => this.sampleNow(), this.intervalMs);
    if (this.unref) this.timer.unref();
    this.sampleNow();
  }

  /** Stop sampling and release the timer, the histogram, the GC observer and the subscription. Idempotent. The latest sample stays readable. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.nodeSampler.stop();
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  /** The latest sample, without waiting (takes one synchronously if none was taken yet). */
  getResources(): ResourceSample {
    return this.latest ?? this.sampleNow();
  }

  /** Take a sample now (synchronously), keep it as the latest and publish it. Never throws. */
  sampleNow(): ResourceSample {
    const t0 = performance.now();
    let sample: ResourceSample;
    try {
      sample = this.takeSample(t0);
    } catch (err) {
      // Defensive: a bug here must not take down the host process through a timer.
      sample = this.fallbackSample(t0, `sampling failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    this.latest = sample;
    emitResourceEvent(this.mask, sample);
    return sample;
  }

  /**
   * The library's Python processes right now: the pools' workers, this process's other workers, and
   * orphans (workers no live Node process owns). Reads /proc; does not touch the sampling state.
   */
  getPythonProcesses(): PythonProcessInfo[] {
    const found = this.discover([], this.collectPoolEntries([]));
    return [...found.processes.values()].map((f) => this.toInfo(f));
  }

  /** Statistics of one process, read now. A missing process or unreadable file comes back as an error result. */
  collectProcessStats(pid: number): ProcResult<ProcessStats> {
    const s = this.reader.readStat(pid);
    if (!s.ok) return s;
    const stat = s.value;
    const status = this.reader.readStatus(pid);
    const fds = this.reader.countFds(pid);
    const { childPids, zombieChildPids } = this.readChildren(pid);
    const nowMs = this.now();
    const bootMs = this.bootTimeMs(nowMs);
    const t = this.tracked.get(pid);
    const ticks = stat.utimeTicks + stat.stimeTicks;
    const cpu = t && t.startTicks === stat.startTicks ? cpuPercentOf(t.prevCpuTicks, ticks, performance.now() - t.prevMonoMs, this.clockTicksPerS) : null;
    const startedAtMs = bootMs + (stat.startTicks * 1000) / this.clockTicksPerS;
    return {
      ok: true,
      value: {
        pid,
        comm: stat.comm,
        state: stat.state,
        ppid: stat.ppid,
        cpuPercent: cpu,
        cpuSeconds: ticks / this.clockTicksPerS,
        rssBytes: stat.rssPages * this.pageSizeBytes,
        peakRssBytes: status.ok ? status.value.peakRssBytes : null,
        swapBytes: status.ok ? status.value.swapBytes : null,
        vmsBytes: stat.vsizeBytes,
        threads: stat.threads,
        openFds: fds.ok ? fds.value : null,
        startedAtMs,
        ageMs: Math.max(0, nowMs - startedAtMs),
        childPids,
        zombieChildPids,
      },
    };
  }

  /**
   * End orphans of this library: SIGTERM, then SIGKILL to those still alive after `graceMs`. Only
   * processes classified as orphans are touched, and each one's identity (pid, start time, run id,
   * PID namespace) is checked again right before every signal, so a pid reused in between is never
   * signalled. Workers of this process, of another live Node process, or of another PID namespace
   * (or one that cannot be read) are never signalled.
   */
  async cleanupOrphans(options: CleanupOrphansOptions = {}): Promise<CleanupOrphansResult> {
    const t0 = performance.now();
    const graceMs = Math.max(0, options.graceMs ?? 5000);
    const found = this.discover([], this.collectPoolEntries([]));
    const entries: { entry: OrphanCleanupEntry; startTicks: number }[] = [];
    for (const f of found.processes.values()) {
      if (!f.orphan || !f.identity) continue;
      if (options.only && !options.only(this.toInfo(f))) continue;
      entries.push({ entry: { pid: f.stat.pid, runId: f.identity.runId, ownerPid: f.identity.ownerPid, action: 'skipped', signals: [], error: null }, startTicks: f.stat.startTicks });
    }
    const signal = this.signalProcess;
    if (options.dryRun || !signal) {
      for (const e of entries) e.entry.error = options.dryRun ? 'dry run' : `not a real /proc (${this.reader.root}): no signal sent`;
      return { orphans: entries.map((e) => e.entry), durationMs: performance.now() - t0 };
    }

    const send = (e: { entry: OrphanCleanupEntry; startTicks: number }, sig: NodeJS.Signals): boolean => {
      if (!this.stillSameOrphan(e.entry.pid, e.startTicks, e.entry.runId)) {
        if (e.entry.signals.length === 0) e.entry.action = 'vanished';
        return false;
      }
      try {
        signal(e.entry.pid, sig);
        e.entry.signals.push(sig);
        this.endedByCleanup.set(e.entry.pid, e.startTicks);
        return true;
      } catch (err) {
        const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : '';
        if (code === 'ESRCH') {
          if (e.entry.signals.length === 0) e.entry.action = 'vanished';
        } else {
          e.entry.action = 'failed';
          e.entry.error = err instanceof Error ? err.message : String(err);
        }
        return false;
      }
    };

    const termed = entries.filter((e) => send(e, 'SIGTERM'));
    const survivors = await this.waitUntilEnded(termed, graceMs);
    for (const e of termed) if (!survivors.includes(e)) e.entry.action = 'terminated';
    const killed = survivors.filter((e) => send(e, 'SIGKILL'));
    const unkillable = await this.waitUntilEnded(killed, Math.max(0, options.killTimeoutMs ?? 2000));
    for (const e of killed) e.entry.action = unkillable.includes(e) ? 'survived' : 'killed';
    return { orphans: entries.map((e) => e.entry), durationMs: performance.now() - t0 };
  }

  // -------------------------------------------------------------------------------------------
  // Sampling
  // -------------------------------------------------------------------------------------------

  private takeSample(t0: number): ResourceSample {
    this.tick++;
    const warnings: string[] = [];
    const nowMs = this.now();
    const monoMs = performance.now();
    const node = this.nodeSampler.sample();
    const system = this.sampleSystem(warnings);
    const bootMs = this.bootTimeMs(nowMs);
    this.pruneTerminations(nowMs);

    const poolEntries = this.collectPoolEntries(warnings);
    const found = this.discover(warnings, poolEntries, true);

    const python: PythonProcessResources[] = [];
    const seen = new Set<number>();
    for (const f of found.processes.values()) {
      const stat = f.stat;
      const pid = stat.pid;
      let t = this.tracked.get(pid);
      const ticks = stat.utimeTicks + stat.stimeTicks;
      let cpu: number | null = null;
      if (t && t.startTicks !== stat.startTicks) {
        // The pid was reused: the old process vanished.
        t = undefined;
      }
      if (!t) {
        t = {
          pid,
          startTicks: stat.startTicks,
          runId: f.identity?.runId ?? '',
          pool: f.pool,
          workerId: f.workerId,
          lastPoolState: f.poolState,
          prevCpuTicks: ticks,
          prevMonoMs: monoMs,
          lastSeenAtMs: nowMs,
          trend: new TrendRing(this.trendCapacity),
          missingSinceTick: null,
        };
      } else {
        cpu = cpuPercentOf(t.prevCpuTicks, ticks, monoMs - t.prevMonoMs, this.clockTicksPerS);
        t.prevCpuTicks = ticks;
        t.prevMonoMs = monoMs;
        t.lastSeenAtMs = nowMs;
        t.missingSinceTick = null;
        if (f.identity) t.runId = f.identity.runId;
        t.pool = f.pool;
        t.workerId = f.workerId;
        t.lastPoolState = f.poolState;
      }
      seen.add(pid);
      const rssBytes = stat.rssPages * this.pageSizeBytes;
      t.trend.push(nowMs, rssBytes);

      let openFds: number | null = null;
      const fds = this.reader.countFds(pid);
      if (fds.ok) openFds = fds.value;
      else if (fds.error.code !== 'gone') warnings.push(`pid ${pid}: ${errorText(fds.error)}`);
      const { childPids, zombieChildPids } = this.readChildren(pid);
      const startedAtMs = bootMs + (stat.startTicks * 1000) / this.clockTicksPerS;

      python.push({
        pid,
        pool: f.pool,
        workerId: f.workerId,
        runId: t.runId,
        orphan: f.orphan,
        state: stat.state,
        cpuPercent: cpu,
        rssBytes,
        vmsBytes: stat.vsizeBytes,
        threads: stat.threads,
        openFds,
        startedAtMs,
        ageMs: Math.max(0, nowMs - startedAtMs),
        restarts: f.generation,
        rssSlopeBytesPerS: t.trend.slopePerS(this.trendWindowMs),
        cpuSeconds: ticks / this.clockTicksPerS,
        ppid: stat.ppid,
        childPids,
        zombieChildPids,
      });
      this.tracked.set(pid, t);
    }

    const vanished = this.collectVanished(seen);
    python.sort((a, b) => (a.pool ?? '\uffff').localeCompare(b.pool ?? '\uffff') || (a.workerId ?? 1e9) - (b.workerId ?? 1e9) || a.pid - b.pid);
    return {
      timestampMs: nowMs,
      node,
      system,
      python,
      vanished,
      warnings,
      sampleDurationMs: performance.now() - t0,
      foreignWorkers: found.foreign,
    };
  }

  /** Processes tracked last time and not seen now: report them (pool-owned ones wait one tick for the pool's terminate event). */
  private collectVanished(seen: Set<number>): VanishedProcess[] {
    const out: VanishedProcess[] = [];
    for (const [pid, t] of this.tracked) {
      if (seen.has(pid)) continue;
      const ev = this.terminations.get(pid);
      const cleaned = this.endedByCleanup.get(pid) === t.startTicks;
      if (!ev && !cleaned && t.pool !== null && t.missingSinceTick === null) {
        t.missingSinceTick = this.tick;
        continue;
      }
      let crashed: boolean;
      let reason: string | null;
      if (ev) {
        crashed = ev.reason === 'crash';
        reason = ev.reason;
      } else if (cleaned) {
        crashed = false;
        reason = 'orphan_cleanup';
      } else {
        crashed = t.lastPoolState !== 'stopping';
        reason = null;
      }
      out.push({
        pid,
        pool: t.pool,
        workerId: t.workerId,
        crashed,
        exitCode: ev ? ev.exitCode : null,
        signal: ev ? ev.signal : null,
        runId: t.runId,
        reason,
        lastSeenAtMs: t.lastSeenAtMs,
      });
      this.tracked.delete(pid);
      this.terminations.delete(pid);
      this.endedByCleanup.delete(pid);
    }
    return out;
  }

  private sampleSystem(warnings: string[]): SystemResources {
    const load = os.loadavg();
    let cpuUtilization: number | null = null;
    const s = this.reader.readSystemStat();
    if (s.ok) {
      const prev = this.prevSystem;
      if (prev && s.value.totalTicks > prev.totalTicks) {
        const total = s.value.totalTicks - prev.totalTicks;
        const idle = s.value.idleTicks - prev.idleTicks;
        cpuUtilization = Math.min(1, Math.max(0, 1 - idle / total));
      }
      this.prevSystem = s.value;
    } else {
      warnings.push(errorText(s.error));
    }
    return {
      cpuCount: os.availableParallelism(),
      totalMemBytes: os.totalmem(),
      freeMemBytes: os.freemem(),
      loadAvg: [load[0] ?? 0, load[1] ?? 0, load[2] ?? 0],
      cpuUtilization,
    };
  }

  private fallbackSample(t0: number, warning: string): ResourceSample {
    const prev = this.latest;
    return {
      timestampMs: this.now(),
      node: prev?.node ?? this.nodeSampler.sample(),
      system: prev?.system ?? { cpuCount: os.availableParallelism(), totalMemBytes: os.totalmem(), freeMemBytes: os.freemem(), loadAvg: [0, 0, 0], cpuUtilization: null },
      python: [],
      vanished: [],
      warnings: [warning],
      sampleDurationMs: performance.now() - t0,
      foreignWorkers: 0,
    };
  }

  // -------------------------------------------------------------------------------------------
  // Discovery
  // -------------------------------------------------------------------------------------------

  private collectPoolEntries(warnings: string[]): Map<number, PoolEntry> {
    const byPid = new Map<number, PoolEntry>();
    for (const pool of this.pools) {
      let workers: readonly ResourcePoolWorker[];
      try {
        workers = pool.status().workers;
      } catch (err) {
        warnings.push(`pool "${pool.name}": status() threw: ${err instanceof Error ? err.message : String(err)}`);
        continue;
      }
      for (const w of workers) if (w.pid > 0) byPid.set(w.pid, { pool: pool.name, worker: w });
    }
    return byPid;
  }

  /** Find the pools' workers and every other worker of this process or of nobody. */
  private discover(warnings: string[], poolEntries: Map<number, PoolEntry>, useCache = false): { processes: Map<number, Found>; foreign: number } {
    const processes = new Map<number, Found>();
    let foreign = 0;

    for (const [pid, entry] of poolEntries) {
      const s = this.reader.readStat(pid);
      if (!s.ok) {
        // Gone: reported as vanished if it was seen before; otherwise worth a note.
        if (s.error.code !== 'gone' || !this.tracked.has(pid)) warnings.push(`pool "${entry.pool}" worker ${entry.worker.id}: pid ${pid}: ${errorText(s.error)}`);
        continue;
      }
      const t = this.tracked.get(pid);
      let identity: WorkerIdentity | null = null;
      if (t && t.startTicks === s.value.startTicks && t.runId !== '') {
        identity = { runId: t.runId, ownerPid: Number(t.runId.slice(0, t.runId.indexOf('.'))), workerId: entry.worker.id, script: '' };
      } else {
        const c = this.reader.readCmdline(pid);
        if (c.ok) identity = identifyWorker(c.value);
      }
      processes.set(pid, { stat: s.value, identity, pool: entry.pool, workerId: entry.worker.id, generation: entry.worker.generation, poolState: entry.worker.state, orphan: false });
    }

    if (this.scanProcesses) {
      const pids = this.reader.listPids();
      if (!pids.ok) {
        warnings.push(errorText(pids.error));
      } else {
        const owners = new Map<number, OwnerObservation>();
        const selfNs = this.reader.readPidNamespace('self');
        if (!selfNs.ok) warnings.push(`cannot read this process's PID namespace (${errorText(selfNs.error)}): no worker outside the pools is treated as ours`);
        const spread = this.scanRecheckTicks;
        for (const pid of pids.value) {
          if (pid === this.selfPid || processes.has(pid)) continue;
          const cached = useCache ? this.scanCache.get(pid) : undefined;
          if (cached) cached.seenTick = this.tick;
          // A process known not to be a worker is looked at again only every `spread` ticks (staggered by pid).
          if (cached && cached.identity === null && pid % spread !== this.tick % spread) continue;
          let identity: WorkerIdentity | null;
          let s: ProcResult<ProcStat> | null = null;
          let pidNamespace: PidNamespaceCheck | null = null;
          if (cached && cached.identity !== null) {
            s = this.reader.readStat(pid);
            // Same process (start time) and not exited (a zombie has no argv any more, so it is no worker).
            identity = s.ok && s.value.startTicks === cached.startTicks && s.value.state !== 'Z' && s.value.state !== 'X' ? cached.identity : null;
            if (identity === null) s = null; // a different process now, or a dead one: read its argv
            else if (cached.pidNamespace !== 'unverifiable') pidNamespace = cached.pidNamespace;
          } else {
            identity = null;
          }
          if (identity === null) {
            const c = this.reader.readCmdline(pid);
            if (!c.ok) {
              // kernel threads read as empty (ok); this is a vanished process or an unreadable one
              if (useCache) this.scanCache.delete(pid);
              continue;
            }
            identity = identifyWorker(c.value);
            if (!identity) {
              if (useCache) this.scanCache.set(pid, { identity: null, startTicks: 0, seenTick: this.tick, pidNamespace: 'unverifiable' });
              continue;
            }
          }
          s ??= this.reader.readStat(pid);
          if (!s.ok) {
            if (s.error.code !== 'gone') warnings.push(`pid ${pid}: ${errorText(s.error)}`);
            if (useCache) this.scanCache.delete(pid);
            continue;
          }
          pidNamespace ??= this.reader.checkPidNamespace(pid, selfNs);
          if (useCache) this.scanCache.set(pid, { identity, startTicks: s.value.startTicks, seenTick: this.tick, pidNamespace });
          if (pidNamespace !== 'same') {
            // Its run id names a pid of another namespace (or we cannot tell): never ours, never an orphan.
            foreign++;
            continue;
          }
          let owner = owners.get(identity.ownerPid);
          if (!owner) {
            owner = this.reader.observeOwner(identity.ownerPid);
            owners.set(identity.ownerPid, owner);
          }
          const ownership = classifyOwnership(identity, s.value.startTicks, this.selfPid, owner, pidNamespace);
          if (ownership === 'foreign') {
            foreign++;
            continue;
          }
          processes.set(pid, { stat: s.value, identity, pool: null, workerId: identity.workerId, generation: 0, poolState: null, orphan: ownership === 'orphan' });
        }
        // A process forked by a worker keeps the worker's argv: while its parent lives it is reported
        // on the parent (childPids), not as a worker of its own.
        for (const [pid, f] of processes) {
          if (f.pool === null && !f.orphan && processes.has(f.stat.ppid)) processes.delete(pid);
        }
        if (useCache) for (const [pid, e] of this.scanCache) if (e.seenTick !== this.tick) this.scanCache.delete(pid);
      }
    }
    return { processes, foreign };
  }

  private toInfo(f: Found): PythonProcessInfo {
    return {
      pid: f.stat.pid,
      pool: f.pool,
      workerId: f.workerId,
      runId: f.identity?.runId ?? '',
      ownerPid: f.identity?.ownerPid ?? null,
      orphan: f.orphan,
      ppid: f.stat.ppid,
      state: f.stat.state,
      startTicks: f.stat.startTicks,
    };
  }

  private readChildren(pid: number): { childPids: number[]; zombieChildPids: number[] } {
    const c = this.reader.readChildren(pid);
    if (!c.ok || c.value.length === 0) return { childPids: [], zombieChildPids: [] };
    const zombieChildPids: number[] = [];
    for (const child of c.value) {
      const s = this.reader.readStat(child);
      if (s.ok && s.value.state === 'Z') zombieChildPids.push(child);
    }
    return { childPids: c.value, zombieChildPids };
  }

  /** True when `pid` is still the same process (start ticks), still a worker with `runId`, still in our PID namespace, and still an orphan. */
  private stillSameOrphan(pid: number, startTicks: number, runId: string): boolean {
    const s = this.reader.readStat(pid);
    if (!s.ok || s.value.startTicks !== startTicks || s.value.state === 'Z' || s.value.state === 'X') return false;
    const c = this.reader.readCmdline(pid);
    if (!c.ok) return false;
    const identity = identifyWorker(c.value);
    if (!identity || identity.runId !== runId) return false;
    const pidNamespace = this.reader.checkPidNamespace(pid, this.reader.readPidNamespace('self'));
    return classifyOwnership(identity, startTicks, this.selfPid, this.reader.observeOwner(identity.ownerPid), pidNamespace) === 'orphan';
  }

  /** Poll /proc until every process has ended (gone, zombie, or pid reused) or the deadline passes; returns the survivors. */
  private async waitUntilEnded<E extends { entry: OrphanCleanupEntry; startTicks: number }>(list: E[], timeoutMs: number): Promise<E[]> {
    const deadline = performance.now() + timeoutMs;
    let alive = list;
    for (;;) {
      alive = alive.filter((e) => {
        const s = this.reader.readStat(e.entry.pid);
        return s.ok && s.value.startTicks === e.startTicks && s.value.state !== 'Z' && s.value.state !== 'X';
      });
      if (alive.length === 0 || performance.now() >= deadline) return alive;
      await new Promise<void>((resolve) => setTimeout(resolve, Math.min(25, Math.max(1, deadline - performance.now()))));
    }
  }

  // -------------------------------------------------------------------------------------------
  // Helpers
  // -------------------------------------------------------------------------------------------

  private onTerminate(ev: WorkerTerminateEvent): void {
    if (!(ev.pid > 0)) return;
    this.terminations.delete(ev.pid);
    this.terminations.set(ev.pid, { ...ev, receivedAtMs: this.now() });
    if (this.terminations.size > MAX_TERMINATIONS) {
      const oldest = this.terminations.keys().next();
      if (!oldest.done) this.terminations.delete(oldest.value);
    }
  }

  private pruneTerminations(nowMs: number): void {
    const maxAgeMs = Math.max(60_000, this.intervalMs * 3);
    for (const [pid, ev] of this.terminations) {
      if (nowMs - ev.receivedAtMs <= maxAgeMs) break; // insertion order = arrival order
      if (!this.tracked.has(pid)) this.terminations.delete(pid);
    }
    for (const pid of this.endedByCleanup.keys()) if (!this.tracked.has(pid) && this.reader.readStat(pid).ok === false) this.endedByCleanup.delete(pid);
  }

  private bootTimeMs(nowMs: number): number {
    const up = this.reader.readUptimeS();
    if (up.ok) return nowMs - up.value * 1000;
    const s = this.prevSystem?.bootTimeS;
    return s != null ? s * 1000 : 0;
  }

  private detectPageSize(): number {
    const statm = this.reader.readText('self/statm');
    const status = this.reader.readStatus(process.pid);
    if (!statm.ok || !status.ok) return DEFAULT_PAGE_SIZE_BYTES;
    const pages = parseStatm(statm.value, 1);
    const vmRss = status.value.rssBytes;
    if (!pages || vmRss === null) return DEFAULT_PAGE_SIZE_BYTES;
    return inferPageSizeBytes(pages.rssBytes, vmRss) ?? DEFAULT_PAGE_SIZE_BYTES;
  }
}
