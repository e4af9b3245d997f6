/**
 * Descendants of the library's Python processes: what user code started in a worker
 * (`subprocess`, `multiprocessing`, `os.fork()`, and what those start), per worker, and the
 * descendants left running after their worker ended (orphaned descendants).
 *
 * A process is a descendant of worker W when it is found
 * - in W's process tree: the children of W's main thread and, below them, of every thread of each
 *   descendant (`/proc/PID/task/TID/children`), recursively. W's other threads are not read (a
 *   task listing and a read per thread on every tick): their children are found by session, so not
 *   when the process scan is off (`scanProcesses: false`);
 * - in W's session: the pool starts every worker as the leader of its own session and process
 *   group (setsid), so a process whose session id is W's pid descends from W even after its parent
 *   exited and it was reparented (a double fork). Session ids come from the tick's process scan;
 * - in memory: a process once seen as W's descendant (pid + start time) stays one until it exits,
 *   even after it left the session (`setsid()`, `start_new_session=True`).
 *
 * A descendant is orphaned when its worker is no longer alive. Found in memory, and — when this
 * monitor never saw the worker (it belonged to a Node process that died) — by session: a process
 * whose session leader is gone or a zombie (while the session has members the kernel keeps its id
 * allocated, so no other process can hold that pid: a live process with it is the leader) and whose
 * environment (`/proc/PID/environ`, read once per process) carries the `DSPEX_RUN_ID` of this Node
 * process or of one that is gone. One of another live Node process is left alone.
 *
 * @module
 */
import type { DescendantProcess, OrphanedDescendant } from '../contract/resources.js';
import { classifyOwnership, runIdOwner, type PidNamespaceCheck, type ProcReader, type ProcResult, type ProcStat } from './proc.js';
import type { Discovery, FoundProcess } from './process-discovery.js';

/** Descendants listed per process at most (a fork bomb must not make a tick unbounded). */
export const MAX_DESCENDANTS = 256;
/** Processes remembered as descendants at most. */
const MAX_REMEMBERED = 4096;

/** The worker a descendant belongs to. */
interface RootRef {
  pid: number;
  /** -1 when unknown (found by session after the worker was gone). */
  startTicks: number;
  pool: string | null;
  workerId: number | null;
  runId: string;
  orphan: boolean;
}

/** One tick's result. */
export interface DescendantsSample {
  /** By root pid (every process passed in has an entry, maybe empty). */
  byRoot: Map<number, DescendantProcess[]>;
  /** Those left behind by a worker that ended, by pid. */
  orphaned: OrphanedDescendant[];
}

/** Options of {@link DescendantTracker}. */
export interface DescendantTrackerOptions {
  selfPid: number;
  clockTicksPerS: number;
  pageSizeBytes: number;
}

/**
 * The processes below `root` in the process tree (the children of each thread, recursively),
 * breadth first, at most `max`; `stat` reads a pid's stat (null: gone). With `rootMainThreadOnly`
 * only the root's main thread is asked for children (one read instead of a task listing and one
 * read per thread: the caller finds the children of the root's other threads by session).
 */
export function walkTree(reader: ProcReader, root: ProcStat, max: number, stat: (pid: number) => ProcStat | null, rootMainThreadOnly = false): { stats: ProcStat[]; truncated: boolean } {
  const stats: ProcStat[] = [];
  const seen = new Set<number>([root.pid]);
  const queue: ProcStat[] = [root];
  for (let i = 0; i < queue.length; i++) {
    const p = queue[i]!;
    const kids = i === 0 && rootMainThreadOnly ? reader.readChildren(p.pid) : reader.readAllChildren(p.pid, p.threads);
    if (!kids.ok) continue;
    for (const k of kids.value) {
      if (seen.has(k)) continue;
      seen.add(k);
      const s = stat(k);
      if (s === null) continue;
      if (stats.length >= max) return { stats, truncated: true };
      stats.push(s);
      queue.push(s);
    }
  }
  return { stats, truncated: false };
}

/** The descendants of one live root in one tick, without duplicates and bounded. */
class DescendantList {
  readonly stats: ProcStat[] = [];
  /** Set when a descendant did not fit. */
  truncated = false;
  private readonly pids = new Set<number>();

  constructor(readonly root: RootRef) {}

  /** False when already listed, when it is the root itself, or when the list is full. */
  add(s: ProcStat): boolean {
    if (s.pid === this.root.pid || this.pids.has(s.pid)) return false;
    if (this.stats.length >= MAX_DESCENDANTS) {
      this.truncated = true;
      return false;
    }
    this.pids.add(s.pid);
    this.stats.push(s);
    return true;
  }
}

/** Remembers descendants across ticks; see the module documentation. */
export class DescendantTracker {
  private readonly reader: ProcReader;
  private readonly options: DescendantTrackerOptions;
  /** pid -> (its start time, its worker). */
  private readonly remembered = new Map<number, { startTicks: number; root: RootRef }>();
  /** Environment verdicts of orphan candidates, by pid: the root it names, or null (not a dspex descendant, or not ours). */
  private readonly environCache = new Map<number, { startTicks: number; root: RootRef | null }>();
  /** Processes seen as roots, by pid: what an orphaned descendant's report says of its worker. */
  private readonly roots = new Map<number, RootRef>();

  constructor(reader: ProcReader, options: DescendantTrackerOptions) {
    this.reader = reader;
    this.options = options;
  }

  /** One tick: the descendants of every found process, and the orphaned ones. */
  sample(found: Iterable<FoundProcess>, scan: Discovery['scan'], bootMs: number, warnings: string[]): DescendantsSample {
    const stats = new Map<number, ProcStat | null>();
    const stat = (pid: number): ProcStat | null => {
      let s = stats.get(pid);
      if (s === undefined) {
        const r = this.reader.readStat(pid);
        s = r.ok && r.value.state !== 'X' ? r.value : null;
        stats.set(pid, s);
      }
      return s;
    };
    const live = new Map<number, RootRef>();
    for (const f of found) {
      const root: RootRef = { pid: f.stat.pid, startTicks: f.stat.startTicks, pool: f.pool, workerId: f.workerId, runId: f.identity?.runId ?? '', orphan: f.orphan };
      live.set(root.pid, root);
      this.roots.delete(root.pid); // re-inserted last: pruning goes least recently seen first
      this.roots.set(root.pid, root);
      stats.set(root.pid, f.stat); // read by the discovery just now
    }

    // Live roots: their tree and their session.
    const lists = new Map<number, DescendantList>();
    const inLive = new Set<number>();
    for (const root of live.values()) {
      const list = new DescendantList(root);
      lists.set(root.pid, list);
      // Only the root's main thread is asked (one read per root, not a task listing and a read per
      // thread): the children of its other threads are in its session, found just below.
      this.addTree(stat(root.pid)!, list, stat, true);
      for (const m of scan?.sessions.get(root.pid) ?? []) {
        const s = stat(m);
        // Same session, and not older than the root (whose pid is the session id).
        if (s !== null && s.session === root.pid && s.startTicks >= root.startTicks && list.add(s)) this.addTree(s, list, stat);
      }
      for (const s of list.stats) inLive.add(s.pid);
    }

    // Remembered descendants not found above: they left the tree and the session of a live root
    // (still listed under it), or their root ended (orphaned, with what they started since).
    const orphans = new Map<number, { stat: ProcStat; root: RootRef }>();
    const orphan = (s: ProcStat, root: RootRef): void => {
      if (inLive.has(s.pid) || orphans.has(s.pid)) return;
      orphans.set(s.pid, { stat: s, root });
      for (const d of walkTree(this.reader, s, MAX_DESCENDANTS, stat).stats) if (!inLive.has(d.pid) && !orphans.has(d.pid)) orphans.set(d.pid, { stat: d, root });
    };
    for (const [pid, r] of [...this.remembered]) {
      if (inLive.has(pid) || orphans.has(pid)) continue;
      const s = stat(pid);
      if (s === null || s.startTicks !== r.startTicks || s.state === 'Z') {
        this.remembered.delete(pid);
        continue;
      }
      const root = live.get(r.root.pid);
      const list = root && root.startTicks === r.root.startTicks ? lists.get(root.pid) : undefined;
      if (list) {
        if (list.add(s)) this.addTree(s, list, stat);
        for (const d of list.stats) inLive.add(d.pid);
      } else {
        orphan(s, r.root);
      }
    }
    if (scan) this.sessionOrphans(scan, stat, orphan);
    if (scan) for (const pid of this.environCache.keys()) if (!scan.pids.has(pid)) this.environCache.delete(pid);

    // Remember everything found, under its first root (a process may be listed under two: a fork
    // copy listed on its own is also its worker's grandchild).
    const rememberedNow = new Set<number>();
    for (const list of lists.values()) {
      if (list.truncated) warnings.push(`pid ${list.root.pid}: more than ${MAX_DESCENDANTS} descendants; the rest are not listed`);
      for (const d of list.stats) {
        if (rememberedNow.has(d.pid)) continue;
        rememberedNow.add(d.pid);
        this.remember(d, list.root);
      }
    }
    for (const { stat: d, root } of orphans.values()) if (!inLive.has(d.pid)) this.remember(d, root);
    this.pruneRoots();

    const orphaned: OrphanedDescendant[] = [];
    for (const { stat: s, root } of orphans.values()) {
      if (inLive.has(s.pid)) continue;
      orphaned.push({ ...this.describe(s, bootMs), workerPid: root.pid, pool: root.pool, workerId: root.workerId, runId: root.runId, orphan: root.orphan });
    }
    orphaned.sort((a, b) => a.pid - b.pid);
    for (const o of orphaned) {
      const where = o.pool !== null ? ` (pool "${o.pool}"${o.workerId !== null ? ` worker ${o.workerId}` : ''})` : '';
      warnings.push(`pid ${o.pid} (${o.comm}) outlived its worker pid ${o.workerPid}${where}: an orphaned descendant${o.orphan ? ' (its Node process is gone too)' : ''}`);
    }
    const byRoot = new Map<number, DescendantProcess[]>();
    for (const [pid, list] of lists) byRoot.set(pid, list.stats.map((d) => this.describe(d, bootMs)));
    return { byRoot, orphaned };
  }

  /** Add the tree below `s` to `list` (bounded). */
  private addTree(s: ProcStat, list: DescendantList, stat: (pid: number) => ProcStat | null, rootMainThreadOnly = false): void {
    const t = walkTree(this.reader, s, MAX_DESCENDANTS - list.stats.length, stat, rootMainThreadOnly);
    for (const d of t.stats) list.add(d);
    if (t.truncated) list.truncated = true;
  }

  /**
   * Members of sessions whose leader is gone and that are not accounted for yet: orphaned when
   * their environment names a run of this Node process or of one that is gone.
   */
  private sessionOrphans(scan: NonNullable<Discovery['scan']>, stat: (pid: number) => ProcStat | null, orphan: (s: ProcStat, root: RootRef) => void): void {
    let selfNs: ProcResult<string> | null = null;
    for (const [sid, members] of scan.sessions) {
      // A live leader: not orphans (a live root's members were listed above). A zombie leader has
      // ended: it holds its pid only until its new parent (init) reaps it.
      const leader = scan.pids.has(sid) ? stat(sid) : null;
      if (leader !== null && leader.state !== 'Z') continue;
      for (const pid of members) {
        const s = stat(pid);
        if (s === null || s.session !== sid || s.state === 'Z') continue;
        let root: RootRef | null;
        const cached = this.environCache.get(pid);
        if (cached && cached.startTicks === s.startTicks) root = cached.root;
        else {
          selfNs ??= this.reader.readPidNamespace('self');
          root = this.rootFromEnviron(s, sid, this.reader.checkPidNamespace(pid, selfNs));
          this.environCache.set(pid, { startTicks: s.startTicks, root });
        }
        if (root) orphan(s, root);
      }
    }
  }

  /**
   * The worker `s` descends from, according to its environment (the pool sets `DSPEX_RUN_ID` and
   * `DSPEX_POOL` in every worker's, and the worker adds `DSPEX_WORKER_ID` for what it starts), when
   * that run is this Node process's or a dead one's; what this monitor saw of the session's leader
   * fills in the rest. Null for anything else, and for a process whose PID namespace is not ours.
   */
  private rootFromEnviron(s: ProcStat, sid: number, pidNamespace: PidNamespaceCheck): RootRef | null {
    const env = this.reader.readEnviron(s.pid, 'DSPEX_');
    if (!env.ok) return null;
    const runId = env.value.get('DSPEX_RUN_ID') ?? '';
    const ownerPid = runIdOwner(runId);
    if (ownerPid === null) return null;
    const identity = { runId, ownerPid, workerId: null, script: '' };
    const ownership = classifyOwnership(identity, s.startTicks, this.options.selfPid, this.reader.observeOwner(ownerPid), pidNamespace);
    if (ownership === 'foreign') return null;
    const seen = this.roots.get(sid);
    if (seen && seen.runId === runId && seen.startTicks <= s.startTicks) return { ...seen, orphan: seen.orphan || ownership === 'orphan' };
    const slot = env.value.get('DSPEX_WORKER_ID');
    const workerId = slot !== undefined && /^[0-9]{1,9}$/.test(slot) ? Number(slot) : null;
    return { pid: sid, startTicks: -1, pool: env.value.get('DSPEX_POOL') ?? null, workerId, runId, orphan: ownership === 'orphan' };
  }

  private remember(s: ProcStat, root: RootRef): void {
    this.remembered.delete(s.pid);
    this.remembered.set(s.pid, { startTicks: s.startTicks, root });
    if (this.remembered.size > MAX_REMEMBERED) {
      const oldest = this.remembered.keys().next();
      if (!oldest.done) this.remembered.delete(oldest.value);
    }
  }

  /** Past MAX_REMEMBERED roots, forget the least recently seen that no remembered descendant refers to. */
  private pruneRoots(): void {
    if (this.roots.size <= MAX_REMEMBERED) return;
    const referenced = new Set<number>();
    for (const r of this.remembered.values()) referenced.add(r.root.pid);
    for (const pid of this.roots.keys()) {
      if (this.roots.size <= MAX_REMEMBERED / 2) break;
      if (!referenced.has(pid)) this.roots.delete(pid);
    }
  }

  private describe(s: ProcStat, bootMs: number): DescendantProcess {
    return {
      pid: s.pid,
      ppid: s.ppid,
      pgid: s.pgrp,
      sid: s.session,
      comm: s.comm,
      state: s.state,
      rssBytes: s.rssPages * this.options.pageSizeBytes,
      startedAtMs: bootMs + (s.startTicks * 1000) / this.options.clockTicksPerS,
    };
  }
}
