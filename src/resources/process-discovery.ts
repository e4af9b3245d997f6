/**
 * Process discovery: which Python processes are the library's, who owns each, and which pool
 * lists it. One pass reads the registered pools' worker lists and, unless switched off, scans every
 * pid of the proc root for worker argv.
 *
 * Which Python processes: the workers the registered pools list (by pid), plus every process whose
 * argv marks it as a dspex worker (see {@link identifyWorker}) that belongs to this Node process or
 * to no live Node process (an orphan). Workers of another live Node process, and workers in another
 * PID namespace or whose namespace cannot be read (a container's workers seen from the host: their
 * run id names a pid of the container), are only counted (`foreign`: the sample's
 * `foreignWorkers`). Children forked by a worker are listed on the worker (`childPids`,
 * `zombieChildPids`), not as workers; one that keeps the worker's argv and outlives the worker is
 * listed on its own (pool null), and is an orphan once the owner is gone too.
 *
 * A sampling tick's scan also notes each pid's session id (read with its argv), so the
 * descendants of a worker that left its process tree can be found by session (descendants.ts).
 *
 * @module
 */
import {
  classifyOwnership,
  identifyWorker,
  procErrorText,
  type OwnerObservation,
  type PidNamespaceCheck,
  type ProcReader,
  type ProcResult,
  type ProcStat,
  type WorkerIdentity,
} from './proc.js';

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

/** A recognised Python process, without statistics (`ResourceMonitor.getPythonProcesses`). */
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

/** A process found in one discovery pass. */
export interface FoundProcess {
  stat: ProcStat;
  identity: WorkerIdentity | null;
  pool: string | null;
  workerId: number | null;
  generation: number;
  poolState: string | null;
  orphan: boolean;
}

/** The result of {@link ProcessDiscovery.discover}. */
export interface Discovery {
  /** By pid, in discovery order: the pools' workers first, then the scan's. */
  processes: Map<number, FoundProcess>;
  /** Workers seen but not ours: of another live Node process, or of another (or unverifiable) PID namespace. */
  foreign: number;
  /**
   * A sampling tick's scan only (else null): every pid listed, and the members of each session
   * (session id -> pids, session leaders left out) as last read (a pid's session is re-read with its
   * argv, so it may be up to `scanRecheckTicks` old: verify before use).
   */
  scan: { pids: ReadonlySet<number>; sessions: ReadonlyMap<number, readonly number[]> } | null;
}

/** A process the caller already follows (pid + start time; its run id, '' when none). */
export interface KnownProcess {
  readonly startTicks: number;
  readonly runId: string;
}

/** A pool's listing of one worker. */
export interface PoolEntry {
  pool: string;
  worker: ResourcePoolWorker;
}

/** Options of {@link ProcessDiscovery}. */
export interface ProcessDiscoveryOptions {
  /** The pid that counts as "this Node process" for run ids. */
  selfPid: number;
  /** Scan every pid for workers outside the pools. */
  scanProcesses: boolean;
  /** With a scan tick, re-read a pid known not to be a worker only every this many ticks (≥ 1). */
  scanRecheckTicks: number;
}

/** The pools' workers by pid; a pool whose `status()` throws is skipped with a warning. */
export function collectPoolEntries(pools: Iterable<ResourcePoolSource>, warnings: string[]): Map<number, PoolEntry> {
  const byPid = new Map<number, PoolEntry>();
  for (const pool of pools) {
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

/** A found process as {@link PythonProcessInfo} (pure). */
export function toProcessInfo(f: FoundProcess): PythonProcessInfo {
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

/**
 * Finds the library's processes. Holds the scan cache that lets a sampling tick re-read only new
 * and due pids; explicit passes (no tick) read every argv and leave the cache alone.
 */
export class ProcessDiscovery {
  private readonly reader: ProcReader;
  private readonly selfPid: number;
  private readonly scanProcesses: boolean;
  private readonly scanRecheckTicks: number;
  /**
   * Scan verdicts by pid (identity null: not a worker), so a tick re-reads only new and due pids. A
   * process's PID namespace never changes, so a worker's namespace check is kept with its identity.
   */
  private readonly scanCache = new Map<number, { identity: WorkerIdentity | null; startTicks: number; session: number; seenTick: number; pidNamespace: PidNamespaceCheck }>();

  constructor(reader: ProcReader, options: ProcessDiscoveryOptions) {
    this.reader = reader;
    this.selfPid = options.selfPid;
    this.scanProcesses = options.scanProcesses;
    this.scanRecheckTicks = options.scanRecheckTicks;
  }

  /**
   * Find the pools' workers and every other worker of this process or of nobody. `known` are the
   * processes the caller follows: a pool-listed pid still known by its start time keeps its run id
   * without re-reading its argv, and its disappearance is not worth a warning (it is reported as
   * vanished). `scanTick`, the sampling tick number, makes the scan use and refresh its cache.
   */
  discover(pools: Iterable<ResourcePoolSource>, known: ReadonlyMap<number, KnownProcess>, warnings: string[], scanTick?: number): Discovery {
    const poolEntries = collectPoolEntries(pools, warnings);
    const useCache = scanTick !== undefined;
    const tick = scanTick ?? 0;
    const processes = new Map<number, FoundProcess>();
    let foreign = 0;
    let scan: Discovery['scan'] = null;

    for (const [pid, entry] of poolEntries) {
      const s = this.reader.readStat(pid);
      if (!s.ok) {
        // Gone: reported as vanished if it was seen before; otherwise worth a note.
        if (s.error.code !== 'gone' || !known.has(pid)) warnings.push(`pool "${entry.pool}" worker ${entry.worker.id}: pid ${pid}: ${procErrorText(s.error)}`);
        continue;
      }
      const t = known.get(pid);
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
        warnings.push(procErrorText(pids.error));
      } else {
        const owners = new Map<number, OwnerObservation>();
        const selfNs = this.reader.readPidNamespace('self');
        if (!selfNs.ok) warnings.push(`cannot read this process's PID namespace (${procErrorText(selfNs.error)}): no worker outside the pools is treated as ours`);
        const spread = this.scanRecheckTicks;
        for (const pid of pids.value) {
          if (pid === this.selfPid || processes.has(pid)) continue;
          const cached = useCache ? this.scanCache.get(pid) : undefined;
          if (cached) cached.seenTick = tick;
          // A process known not to be a worker is looked at again only every `spread` ticks (staggered by pid).
          if (cached && cached.identity === null && pid % spread !== tick % spread) continue;
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
              if (useCache) {
                const st = this.reader.readStat(pid);
                this.scanCache.set(pid, { identity: null, startTicks: st.ok ? st.value.startTicks : 0, session: st.ok ? st.value.session : 0, seenTick: tick, pidNamespace: 'unverifiable' });
              }
              continue;
            }
          }
          s ??= this.reader.readStat(pid);
          if (!s.ok) {
            if (s.error.code !== 'gone') warnings.push(`pid ${pid}: ${procErrorText(s.error)}`);
            if (useCache) this.scanCache.delete(pid);
            continue;
          }
          pidNamespace ??= this.reader.checkPidNamespace(pid, selfNs);
          if (useCache) this.scanCache.set(pid, { identity, startTicks: s.value.startTicks, session: s.value.session, seenTick: tick, pidNamespace });
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
        if (useCache) {
          for (const [pid, e] of this.scanCache) if (e.seenTick !== tick) this.scanCache.delete(pid);
          const sessions = new Map<number, number[]>();
          for (const [pid, e] of this.scanCache) {
            if (e.session <= 0 || e.session === pid) continue;
            const members = sessions.get(e.session);
            if (members) members.push(pid);
            else sessions.set(e.session, [pid]);
          }
          scan = { pids: new Set(pids.value), sessions };
        }
      }
    }
    return { processes, foreign, scan };
  }
}
