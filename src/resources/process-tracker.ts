/**
 * Vanished-process tracking: the library's processes followed across samples (identity: pid +
 * start time), with what a sample needs of the previous one (CPU ticks, the RSS trend), and the
 * report of those that are gone (crashed, ended by their pool, ended by orphan cleanup). Also
 * the zombies among a worker's children ({@link readChildren}).
 *
 * A process a pool lists that disappears is reported one tick later, so the pool's
 * `dspex:worker:terminate` event (reason, exit code, signal) can arrive first. Without one it
 * crashed, unless the pool was stopping it. One that orphan cleanup signalled did not crash.
 *
 * @module
 */
import type { WorkerTerminateEvent } from '../telemetry/telemetry.js';
import { cpuPercent, type ProcReader } from './proc.js';
import type { FoundProcess } from './process-discovery.js';
import { TrendRing } from './trend.js';
import type { VanishedProcess } from '../contract/resources.js';

/** A process followed across samples (identity: pid + startTicks). */
export interface TrackedProcess {
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

/** What {@link ProcessTracker.observe} returns for one process. */
export interface ObservedProcess {
  /** The run id it was last seen with ('' when it never had one). */
  runId: string;
  /** CPU since its previous sample, percent of one core; null on its first sample. */
  cpuPercent: number | null;
  /** RSS slope over the trend window, bytes/s; null until the window holds enough points. */
  rssSlopeBytesPerS: number | null;
}

/** Options of {@link ProcessTracker}. */
export interface ProcessTrackerOptions {
  /** RSS points kept per process. */
  trendCapacity: number;
  /** Window of the RSS slope, ms. */
  trendWindowMs: number;
  /** How long a terminate event is kept for a process no longer (or never) tracked, ms. */
  terminationMaxAgeMs: number;
  /** USER_HZ. */
  clockTicksPerS: number;
  /** Wall clock, ms since the epoch. */
  now: () => number;
}

const MAX_TERMINATIONS = 4096;

/** A process's children, and those among them that have exited but not been reaped (zombies). */
export function readChildren(reader: ProcReader, pid: number): { childPids: number[]; zombieChildPids: number[] } {
  const c = reader.readChildren(pid);
  if (!c.ok || c.value.length === 0) return { childPids: [], zombieChildPids: [] };
  const zombieChildPids: number[] = [];
  for (const child of c.value) {
    const s = reader.readStat(child);
    if (s.ok && s.value.state === 'Z') zombieChildPids.push(child);
  }
  return { childPids: c.value, zombieChildPids };
}

/** Follows processes across samples and reports those that vanished; see the module documentation. */
export class ProcessTracker {
  private readonly reader: ProcReader;
  private readonly options: ProcessTrackerOptions;
  private readonly tracked = new Map<number, TrackedProcess>();
  private readonly terminations = new Map<number, WorkerTerminateEvent & { receivedAtMs: number }>();
  /** pid -> startTicks of processes cleanupOrphans signalled (their disappearance is not a crash). */
  private readonly endedByCleanup = new Map<number, number>();

  constructor(reader: ProcReader, options: ProcessTrackerOptions) {
    this.reader = reader;
    this.options = options;
  }

  /** The processes followed, by pid. */
  get processes(): ReadonlyMap<number, TrackedProcess> {
    return this.tracked;
  }

  /**
   * CPU of process `pid` (started at `startTicks`, `cpuTicks` used so far) since its last sample,
   * percent of one core; null when it has none (not followed, or the pid was reused).
   */
  cpuPercentSince(pid: number, startTicks: number, cpuTicks: number, monoMs: number): number | null {
    const t = this.tracked.get(pid);
    return t && t.startTicks === startTicks ? cpuPercent(t.prevCpuTicks, cpuTicks, monoMs - t.prevMonoMs, this.options.clockTicksPerS) : null;
  }

  /** Record one sample of a found process (`monoMs`: `performance.now()`; `nowMs`: wall clock). */
  observe(f: FoundProcess, rssBytes: number, monoMs: number, nowMs: number): ObservedProcess {
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
        trend: new TrendRing(this.options.trendCapacity),
        missingSinceTick: null,
      };
    } else {
      cpu = cpuPercent(t.prevCpuTicks, ticks, monoMs - t.prevMonoMs, this.options.clockTicksPerS);
      t.prevCpuTicks = ticks;
      t.prevMonoMs = monoMs;
      t.lastSeenAtMs = nowMs;
      t.missingSinceTick = null;
      if (f.identity) t.runId = f.identity.runId;
      t.pool = f.pool;
      t.workerId = f.workerId;
      t.lastPoolState = f.poolState;
    }
    t.trend.push(nowMs, rssBytes);
    this.tracked.set(pid, t);
    return { runId: t.runId, cpuPercent: cpu, rssSlopeBytesPerS: t.trend.slopePerS(this.options.trendWindowMs) };
  }

  /** A pool's `dspex:worker:terminate` event: how the process ended, for its vanished report. */
  noteTerminated(ev: WorkerTerminateEvent): void {
    if (!(ev.pid > 0)) return;
    this.terminations.delete(ev.pid);
    this.terminations.set(ev.pid, { ...ev, receivedAtMs: this.options.now() });
    if (this.terminations.size > MAX_TERMINATIONS) {
      const oldest = this.terminations.keys().next();
      if (!oldest.done) this.terminations.delete(oldest.value);
    }
  }

  /** Orphan cleanup signalled this process: its disappearance is not a crash. */
  noteSignalled(pid: number, startTicks: number): void {
    this.endedByCleanup.set(pid, startTicks);
  }

  /** Forget old terminate events and cleanup marks of processes that are gone and not followed. */
  prune(nowMs: number): void {
    const maxAgeMs = this.options.terminationMaxAgeMs;
    for (const [pid, ev] of this.terminations) {
      if (nowMs - ev.receivedAtMs <= maxAgeMs) break; // insertion order = arrival order
      if (!this.tracked.has(pid)) this.terminations.delete(pid);
    }
    for (const pid of this.endedByCleanup.keys()) if (!this.tracked.has(pid) && this.reader.readStat(pid).ok === false) this.endedByCleanup.delete(pid);
  }

  /** Processes tracked last time and not seen now: report them (pool-owned ones wait one tick for the pool's terminate event). */
  collectVanished(seen: ReadonlySet<number>, tick: number): VanishedProcess[] {
    const out: VanishedProcess[] = [];
    for (const [pid, t] of this.tracked) {
      if (seen.has(pid)) continue;
      const ev = this.terminations.get(pid);
      const cleaned = this.endedByCleanup.get(pid) === t.startTicks;
      if (!ev && !cleaned && t.pool !== null && t.missingSinceTick === null) {
        t.missingSinceTick = tick;
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
}
