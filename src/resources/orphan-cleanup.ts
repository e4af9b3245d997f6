/**
 * Orphan cleanup: ending the library's workers that no live Node process owns. SIGTERM, then
 * SIGKILL to those still alive after the grace period. Only processes classified as orphans are
 * touched, and each one's identity (pid, start time, run id, PID namespace) and ownership are
 * checked again right before every signal ({@link isSameOrphan}), so a pid reused in between is
 * never signalled. Workers of this process, of another live Node process, or of another PID
 * namespace (or one that cannot be read) are never signalled.
 *
 * @module
 */
import { performance } from 'node:perf_hooks';
import { classifyOwnership, identifyWorker, type ProcReader } from './proc.js';
import { toProcessInfo, type FoundProcess, type PythonProcessInfo } from './process-discovery.js';

/** Options of `ResourceMonitor.cleanupOrphans`. */
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

/** The result of `ResourceMonitor.cleanupOrphans`. */
export interface CleanupOrphansResult {
  orphans: OrphanCleanupEntry[];
  durationMs: number;
}

/** What {@link cleanupOrphans} acts with. */
export interface OrphanCleanupContext {
  reader: ProcReader;
  /** The pid that counts as "this Node process" for run ids. */
  selfPid: number;
  /** One discovery pass, read now: the candidates (only those found as orphans are considered). */
  discover(): Iterable<FoundProcess>;
  /** Sends a signal; null when there is no real /proc to act on (nothing is signalled). */
  signalProcess: ((pid: number, signal: NodeJS.Signals) => void) | null;
  /** Called after each signal sent, so the process's disappearance is not taken for a crash. */
  onSignalled(pid: number, startTicks: number): void;
}

/** An orphan being cleaned up: its entry in the result, and its start time (with the pid, its identity). */
interface Candidate {
  entry: OrphanCleanupEntry;
  startTicks: number;
}

/** True when `pid` is still the same process (start ticks), still a worker with `runId`, still in our PID namespace, and still an orphan. */
export function isSameOrphan(reader: ProcReader, selfPid: number, pid: number, startTicks: number, runId: string): boolean {
  const s = reader.readStat(pid);
  if (!s.ok || s.value.startTicks !== startTicks || s.value.state === 'Z' || s.value.state === 'X') return false;
  const c = reader.readCmdline(pid);
  if (!c.ok) return false;
  const identity = identifyWorker(c.value);
  if (!identity || identity.runId !== runId) return false;
  const pidNamespace = reader.checkPidNamespace(pid, reader.readPidNamespace('self'));
  return classifyOwnership(identity, startTicks, selfPid, reader.observeOwner(identity.ownerPid), pidNamespace) === 'orphan';
}

/** Poll /proc until every process has ended (gone, zombie, or pid reused) or the deadline passes; returns the survivors. */
export async function waitUntilEnded<E extends Candidate>(reader: ProcReader, list: E[], timeoutMs: number): Promise<E[]> {
  const deadline = performance.now() + timeoutMs;
  let alive = list;
  for (;;) {
    alive = alive.filter((e) => {
      const s = reader.readStat(e.entry.pid);
      return s.ok && s.value.startTicks === e.startTicks && s.value.state !== 'Z' && s.value.state !== 'X';
    });
    if (alive.length === 0 || performance.now() >= deadline) return alive;
    await new Promise<void>((resolve) => setTimeout(resolve, Math.min(25, Math.max(1, deadline - performance.now()))));
  }
}

/** End the orphans `ctx.discover()` finds (see the module documentation); the duration includes the discovery. */
export async function cleanupOrphans(ctx: OrphanCleanupContext, options: CleanupOrphansOptions = {}): Promise<CleanupOrphansResult> {
  const t0 = performance.now();
  const graceMs = Math.max(0, options.graceMs ?? 5000);
  const entries: Candidate[] = [];
  for (const f of ctx.discover()) {
    if (!f.orphan || !f.identity) continue;
    if (options.only && !options.only(toProcessInfo(f))) continue;
    entries.push({ entry: { pid: f.stat.pid, runId: f.identity.runId, ownerPid: f.identity.ownerPid, action: 'skipped', signals: [], error: null }, startTicks: f.stat.startTicks });
  }
  const signal = ctx.signalProcess;
  if (options.dryRun || !signal) {
    for (const e of entries) e.entry.error = options.dryRun ? 'dry run' : `not a real /proc (${ctx.reader.root}): no signal sent`;
    return { orphans: entries.map((e) => e.entry), durationMs: performance.now() - t0 };
  }

  const send = (e: Candidate, sig: NodeJS.Signals): boolean => {
    if (!isSameOrphan(ctx.reader, ctx.selfPid, e.entry.pid, e.startTicks, e.entry.runId)) {
      if (e.entry.signals.length === 0) e.entry.action = 'vanished';
      return false;
    }
    try {
      signal(e.entry.pid, sig);
      e.entry.signals.push(sig);
      ctx.onSignalled(e.entry.pid, e.startTicks);
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
  const survivors = await waitUntilEnded(ctx.reader, termed, graceMs);
  for (const e of termed) if (!survivors.includes(e)) e.entry.action = 'terminated';
  const killed = survivors.filter((e) => send(e, 'SIGKILL'));
  const unkillable = await waitUntilEnded(ctx.reader, killed, Math.max(0, options.killTimeoutMs ?? 2000));
  for (const e of killed) e.entry.action = unkillable.includes(e) ? 'survived' : 'killed';
  return { orphans: entries.map((e) => e.entry), durationMs: performance.now() - t0 };
}
