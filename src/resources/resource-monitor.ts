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
 * Which Python processes: the pools' workers, this Node process's other workers, and orphans
 * (workers no live Node process owns); workers of another live Node process or of another PID
 * namespace are only counted (`foreignWorkers`). See process-discovery.ts. Each one's descendants
 * (what user code started in it), and descendants left running after their worker ended
 * (`orphanedDescendants`): see descendants.ts.
 *
 * The monitor schedules and assembles; the work is done by one module per job:
 * {@link NodeSampler} (the Node process), {@link SystemSampler} (the machine),
 * {@link ProcessDiscovery} (which processes), {@link ProcessTracker} (each process across samples,
 * and those that vanished), {@link DescendantTracker} (what they started) and
 * {@link cleanupOrphans} (ending orphans).
 *
 * Sampling is synchronous (about 2–3 ms with 64 workers; see proc.ts for why) and never throws:
 * unreadable files, permission errors and processes vanishing mid-read become `warnings` or
 * `vanished` entries.
 *
 * @module
 */
import { numberOption } from '../contract/options.js';
import { performance } from 'node:perf_hooks';
import { emitResourceEvent, subscribe, telemetryMask, type TelemetryGroup, type TelemetryMask } from '../telemetry/telemetry.js';
import { NodeSampler } from './node-sampler.js';
import { cleanupOrphans, type CleanupOrphansOptions, type CleanupOrphansResult } from './orphan-cleanup.js';
import { DescendantTracker } from './descendants.js';
import { DEFAULT_CLOCK_TICKS_PER_S, DEFAULT_PAGE_SIZE_BYTES, ProcReader, procErrorText, type ProcResult } from './proc.js';
import { ProcessDiscovery, toProcessInfo, type PythonProcessInfo, type ResourcePoolSource } from './process-discovery.js';
import { ProcessTracker, readChildren } from './process-tracker.js';
import { SystemSampler, detectPageSizeBytes, systemWithoutProc } from './system-sampler.js';
import type { PythonProcessResources, ResourceSample } from '../contract/resources.js';
import type { TickStats } from '../contract/health.js';

// ---------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// The monitor
// ---------------------------------------------------------------------------------------------

/** Samples Node, the machine and the library's Python processes; see the module documentation. */
export class ResourceMonitor {
  /** The sampling period, ms. */
  readonly intervalMs: number;
  /** The RSS slope window, ms. */
  readonly trendWindowMs: number;
  private readonly reader: ProcReader;
  private readonly pools = new Set<ResourcePoolSource>();
  private readonly nodeSampler: NodeSampler;
  private readonly systemSampler: SystemSampler;
  private readonly discovery: ProcessDiscovery;
  private readonly tracker: ProcessTracker;
  private readonly descendants: DescendantTracker;
  private readonly clockTicksPerS: number;
  private readonly pageSizeBytes: number;
  private readonly selfPid: number;
  private readonly now: () => number;
  private readonly mask: TelemetryMask;
  private readonly unref: boolean;
  private readonly signalProcess: ((pid: number, signal: NodeJS.Signals) => void) | null;

  private timer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;
  private latest: ResourceSample | null = null;
  private tick = 0;
  private samples = 0;
  private sampleErrors = 0;
  private lastSampleError: string | null = null;
  private lastSampleEndMs: number | null = null;
  private lastSampleDurationMs: number | null = null;

  constructor(options: ResourceMonitorOptions = {}) {
    const where = 'ResourceMonitor';
    this.intervalMs = numberOption(where, 'intervalMs', options.intervalMs, 5000, { min: 10, max: 24 * 3_600_000 });
    this.trendWindowMs = numberOption(where, 'trendWindowMs', options.trendWindowMs, 300_000, { min: 1, max: 7 * 24 * 3_600_000 });
    const trendCapacity = numberOption(where, 'trendCapacity', options.trendCapacity, Math.min(4096, Math.max(8, Math.ceil(this.trendWindowMs / this.intervalMs) * 2 + 4)), { min: 2, max: 1 << 20 });
    const root = options.procRoot ?? '/proc';
    this.reader = new ProcReader(root);
    const realProc = this.reader.root === '/proc';
    for (const p of options.pools ?? []) this.pools.add(p);
    this.nodeSampler = new NodeSampler({ eventLoopResolutionMs: numberOption(where, 'eventLoopResolutionMs', options.eventLoopResolutionMs, 10, { min: 1, max: 60_000 }), unref: options.unref ?? true });
    this.systemSampler = new SystemSampler(this.reader);
    this.clockTicksPerS = numberOption(where, 'clockTicksPerS', options.clockTicksPerS, DEFAULT_CLOCK_TICKS_PER_S, { min: 1, max: 1_000_000 });
    this.pageSizeBytes =
      options.pageSizeBytes === undefined
        ? realProc
          ? detectPageSizeBytes(this.reader)
          : DEFAULT_PAGE_SIZE_BYTES
        : numberOption(where, 'pageSizeBytes', options.pageSizeBytes, DEFAULT_PAGE_SIZE_BYTES, { min: 512, max: 1 << 30 });
    this.selfPid = options.selfPid ?? process.pid;
    this.now = options.now ?? Date.now;
    this.discovery = new ProcessDiscovery(this.reader, {
      selfPid: this.selfPid,
      scanProcesses: options.scanProcesses ?? true,
      scanRecheckTicks: numberOption(where, 'scanRecheckTicks', options.scanRecheckTicks, 6, { min: 1, max: 1_000_000 }),
    });
    this.tracker = new ProcessTracker(this.reader, {
      trendCapacity,
      trendWindowMs: this.trendWindowMs,
      terminationMaxAgeMs: Math.max(60_000, this.intervalMs * 3),
      clockTicksPerS: this.clockTicksPerS,
      now: this.now,
    });
    this.descendants = new DescendantTracker(this.reader, { selfPid: this.selfPid, clockTicksPerS: this.clockTicksPerS, pageSizeBytes: this.pageSizeBytes });
    this.mask = telemetryMask(options.telemetry?.disabled ?? []);
    this.unref = options.unref ?? true;
    this.signalProcess = options.signalProcess ?? (realProc ? (pid, sig) => process.kill(pid, sig) : null);
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
    this.unsubscribe = subscribe('dspex:worker:terminate', (ev) => this.tracker.noteTerminated(ev));
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
      this.sampleErrors++;
      this.lastSampleError = err instanceof Error ? err.message : String(err);
      sample = this.fallbackSample(t0, `sampling failed: ${this.lastSampleError}`);
    }
    this.latest = sample;
    this.samples++;
    this.lastSampleDurationMs = performance.now() - t0;
    this.lastSampleEndMs = this.now();
    emitResourceEvent(this.mask, sample);
    return sample;
  }

  /** The sampling timer's work (for the self-check of `createMonitoring`; see {@link TickStats}). */
  tickStats(): TickStats {
    return {
      running: this.timer !== null,
      intervalMs: this.intervalMs,
      lastTickEndMs: this.lastSampleEndMs,
      lastTickDurationMs: this.lastSampleDurationMs,
      ticks: this.samples,
      errors: this.sampleErrors,
      lastError: this.lastSampleError,
    };
  }

  /**
   * The library's Python processes right now: the pools' workers, this process's other workers, and
   * orphans (workers no live Node process owns). Reads /proc; does not touch the sampling state.
   */
  getPythonProcesses(): PythonProcessInfo[] {
    const found = this.discovery.discover(this.pools, this.tracker.processes, []);
    return [...found.processes.values()].map(toProcessInfo);
  }

  /** Statistics of one process, read now. A missing process or unreadable file comes back as an error result. */
  collectProcessStats(pid: number): ProcResult<ProcessStats> {
    const s = this.reader.readStat(pid);
    if (!s.ok) return s;
    const stat = s.value;
    const status = this.reader.readStatus(pid);
    const fds = this.reader.countFds(pid);
    const { childPids, zombieChildPids } = readChildren(this.reader, pid);
    const nowMs = this.now();
    const bootMs = this.systemSampler.bootTimeMs(nowMs);
    const ticks = stat.utimeTicks + stat.stimeTicks;
    const cpu = this.tracker.cpuPercentSince(pid, stat.startTicks, ticks, performance.now());
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
  cleanupOrphans(options: CleanupOrphansOptions = {}): Promise<CleanupOrphansResult> {
    return cleanupOrphans(
      {
        reader: this.reader,
        selfPid: this.selfPid,
        discover: () => this.discovery.discover(this.pools, this.tracker.processes, []).processes.values(),
        signalProcess: this.signalProcess,
        onSignalled: (pid, startTicks) => this.tracker.noteSignalled(pid, startTicks),
      },
      options,
    );
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
    const system = this.systemSampler.sample(warnings);
    const bootMs = this.systemSampler.bootTimeMs(nowMs);
    this.tracker.prune(nowMs);

    const found = this.discovery.discover(this.pools, this.tracker.processes, warnings, this.tick);
    const family = this.descendants.sample(found.processes.values(), found.scan, bootMs, warnings);

    const python: PythonProcessResources[] = [];
    const seen = new Set<number>();
    for (const f of found.processes.values()) {
      const stat = f.stat;
      const pid = stat.pid;
      const rssBytes = stat.rssPages * this.pageSizeBytes;
      const observed = this.tracker.observe(f, rssBytes, monoMs, nowMs);
      seen.add(pid);

      let openFds: number | null = null;
      const fds = this.reader.countFds(pid);
      if (fds.ok) openFds = fds.value;
      else if (fds.error.code !== 'gone') warnings.push(`pid ${pid}: ${procErrorText(fds.error)}`);
      const descendants = family.byRoot.get(pid) ?? [];
      const childPids: number[] = [];
      const zombieChildPids: number[] = [];
      for (const d of descendants) {
        if (d.ppid !== pid) continue;
        childPids.push(d.pid);
        if (d.state === 'Z') zombieChildPids.push(d.pid);
      }
      const startedAtMs = bootMs + (stat.startTicks * 1000) / this.clockTicksPerS;

      python.push({
        pid,
        pool: f.pool,
        workerId: f.workerId,
        runId: observed.runId,
        orphan: f.orphan,
        state: stat.state,
        cpuPercent: observed.cpuPercent,
        rssBytes,
        vmsBytes: stat.vsizeBytes,
        threads: stat.threads,
        openFds,
        startedAtMs,
        ageMs: Math.max(0, nowMs - startedAtMs),
        restarts: f.generation,
        rssSlopeBytesPerS: observed.rssSlopeBytesPerS,
        cpuSeconds: (stat.utimeTicks + stat.stimeTicks) / this.clockTicksPerS,
        ppid: stat.ppid,
        childPids,
        zombieChildPids,
        descendants,
      });
    }

    const vanished = this.tracker.collectVanished(seen, this.tick);
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
      orphanedDescendants: family.orphaned,
    };
  }

  private fallbackSample(t0: number, warning: string): ResourceSample {
    const prev = this.latest;
    return {
      timestampMs: this.now(),
      node: prev?.node ?? this.nodeSampler.sample(),
      system: prev?.system ?? systemWithoutProc(),
      python: [],
      vanished: [],
      warnings: [warning],
      sampleDurationMs: performance.now() - t0,
      foreignWorkers: 0,
      orphanedDescendants: [],
    };
  }
}
