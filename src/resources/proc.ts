/**
 * Linux `/proc` parsing: pure functions over file contents, plus a thin synchronous reader that
 * takes a proc root path (tests point it at `test/fixtures/proc/`).
 *
 * The parsers do no I/O and never throw: malformed input comes back as `null`. The reader never
 * throws either: a missing file, a permission error or a process vanishing mid-read comes back as
 * a {@link ProcResult} with an `error`.
 *
 * Why synchronous reads: one sampling tick with 64 Python processes costs about 2–3 ms of
 * synchronous reads on a 2-core VM (see `npx dspex bench resources` and docs/PERFORMANCE.md),
 * well under the 10 ms budget, while the same work through the libuv thread pool takes 12–27 ms of
 * wall time and competes with the pool's own file I/O. Reads reuse one buffer and do not `fstat`.
 *
 * size: ~650 lines, of which half are TSDoc: one small pure parser per /proc file, the worker
 * recognition rule they share and the reader; splitting them would scatter one format's rules.
 *
 * @module
 */
import fs from 'node:fs';

// ---------------------------------------------------------------------------------------------
// Constants
// ---------------------------------------------------------------------------------------------

/** `sysconf(_SC_CLK_TCK)`: USER_HZ, 100 on every mainstream Linux ABI (checked with `getconf CLK_TCK`). */
export const DEFAULT_CLOCK_TICKS_PER_S = 100;

/** `sysconf(_SC_PAGESIZE)` on x86-64 (checked with `getconf PAGESIZE`); see {@link inferPageSizeBytes}. */
export const DEFAULT_PAGE_SIZE_BYTES = 4096;

/** The argv suffix that marks the worker script. */
export const WORKER_SCRIPT_SUFFIX = 'dspex_worker.py';

/** The argv prefix that carries the run id. */
export const RUN_ID_ARG_PREFIX = '--dspex-run-id=';

/** The argv prefix that carries the worker slot. */
export const WORKER_ID_ARG_PREFIX = '--dspex-worker-id=';

// ---------------------------------------------------------------------------------------------
// Pure parsers
// ---------------------------------------------------------------------------------------------

/** The fields of `/proc/PID/stat` the monitor uses. Times are in clock ticks, sizes as noted. */
export interface ProcStat {
  pid: number;
  /** The executable name (up to 15 bytes; may hold spaces and parentheses). */
  comm: string;
  /** State letter: R, S, D, Z, T, t, X, I, ... */
  state: string;
  ppid: number;
  /** Process group id (a dspex worker leads its own: the worker's pid). */
  pgrp: number;
  /** Session id (a dspex worker leads its own: the worker's pid). */
  session: number;
  /** User-mode CPU time, clock ticks. */
  utimeTicks: number;
  /** Kernel-mode CPU time, clock ticks. */
  stimeTicks: number;
  threads: number;
  /** Start time after boot, clock ticks. Together with the pid, identifies a process across pid reuse. */
  startTicks: number;
  /** Virtual memory size, bytes. */
  vsizeBytes: number;
  /** Resident set size, pages. */
  rssPages: number;
}

/**
 * Parse `/proc/PID/stat`. The comm field is enclosed in parentheses but may itself contain spaces
 * and parentheses, so the fields are split after the LAST `)`. Returns null when malformed
 * (empty, truncated, non-numeric).
 */
export function parseStat(text: string): ProcStat | null {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open <= 0 || close < open) return null;
  const pid = toInt(text.slice(0, open).trim());
  if (pid === null) return null;
  const rest = text.slice(close + 2).trim().split(' ');
  // Field n of proc(5) is rest[n - 3]; we need up to field 24 (rss).
  if (rest.length < 22) return null;
  const state = rest[0] ?? '';
  if (state.length !== 1) return null;
  const ppid = toInt(rest[1]);
  const pgrp = toInt(rest[2]);
  const session = toInt(rest[3]);
  const utime = toInt(rest[11]);
  const stime = toInt(rest[12]);
  const threads = toInt(rest[17]);
  const start = toInt(rest[19]);
  const vsize = toInt(rest[20]);
  const rss = toInt(rest[21]);
  if (ppid === null || pgrp === null || session === null || utime === null || stime === null || threads === null || start === null || vsize === null || rss === null) return null;
  return {
    pid,
    comm: text.slice(open + 1, close),
    state,
    ppid,
    pgrp,
    session,
    utimeTicks: utime,
    stimeTicks: stime,
    threads,
    startTicks: start,
    vsizeBytes: vsize,
    rssPages: rss,
  };
}

/** `/proc/PID/statm`, converted to bytes. */
export interface ProcStatm {
  vmsBytes: number;
  rssBytes: number;
  sharedBytes: number;
}

/** Parse `/proc/PID/statm` (sizes in pages) into bytes. Returns null when malformed. */
export function parseStatm(text: string, pageSizeBytes: number = DEFAULT_PAGE_SIZE_BYTES): ProcStatm | null {
  const parts = text.trim().split(/\s+/);
  if (parts.length < 3) return null;
  const size = toInt(parts[0]);
  const resident = toInt(parts[1]);
  const shared = toInt(parts[2]);
  if (size === null || resident === null || shared === null) return null;
  return { vmsBytes: size * pageSizeBytes, rssBytes: resident * pageSizeBytes, sharedBytes: shared * pageSizeBytes };
}

/** Memory figures of `/proc/PID/status` (bytes; null when the line is absent, as for a zombie). */
export interface ProcStatus {
  name: string | null;
  state: string | null;
  rssBytes: number | null;
  /** Peak resident set size (VmHWM). */
  peakRssBytes: number | null;
  swapBytes: number | null;
  threads: number | null;
  /**
   * `NSpid`: the pid in each PID namespace the process belongs to, from the namespace of this procfs
   * mount down to the process's own (one entry when they are the same). Null when the line is absent
   * (kernels before 4.1) or malformed.
   */
  nsPids: number[] | null;
}

/** Parse `/proc/PID/status`. Never null: absent lines are null fields (a zombie has no Vm* lines). */
export function parseStatus(text: string): ProcStatus {
  const out: ProcStatus = { name: null, state: null, rssBytes: null, peakRssBytes: null, swapBytes: null, threads: null, nsPids: null };
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const key = line.slice(0, colon);
    const value = line.slice(colon + 1).trim();
    switch (key) {
      case 'Name':
        out.name = value;
        break;
      case 'State':
        out.state = value.charAt(0) || null;
        break;
      case 'VmRSS':
        out.rssBytes = parseKb(value);
        break;
      case 'VmHWM':
        out.peakRssBytes = parseKb(value);
        break;
      case 'VmSwap':
        out.swapBytes = parseKb(value);
        break;
      case 'Threads':
        out.threads = toInt(value);
        break;
      case 'NSpid':
        out.nsPids = parseNsPids(value);
        break;
    }
  }
  return out;
}

/** Parse `/proc/PID/cmdline`: NUL-separated arguments with a trailing NUL. Empty for zombies and kernel threads. */
export function parseCmdline(text: string): string[] {
  if (text.length === 0) return [];
  const parts = text.split('\0');
  if (parts[parts.length - 1] === '') parts.pop();
  return parts;
}

/** Parse `/proc/PID/task/TID/children`: space-separated pids. */
export function parseChildren(text: string): number[] {
  const out: number[] = [];
  for (const p of text.trim().split(/\s+/)) {
    const n = toInt(p);
    if (n !== null) out.push(n);
  }
  return out;
}

/**
 * Parse `/proc/PID/environ` (NUL-separated `NAME=value` entries, the environment the process was
 * exec'd with): the variables whose name starts with `prefix`. Later duplicates win, as in libc.
 */
export function parseEnviron(text: string, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const entry of text.split('\0')) {
    if (!entry.startsWith(prefix)) continue;
    const eq = entry.indexOf('=');
    if (eq > 0) out.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  return out;
}

/** System-wide figures of `/proc/stat`. */
export interface SystemStat {
  /** Sum of all jiffies of the aggregate `cpu` line (every state). */
  totalTicks: number;
  /** Idle + iowait jiffies of the aggregate `cpu` line. */
  idleTicks: number;
  /** Boot time, seconds since the epoch (`btime`). */
  bootTimeS: number | null;
}

/** Parse `/proc/stat` (the aggregate `cpu` line and `btime`). Returns null without a `cpu` line. */
export function parseSystemStat(text: string): SystemStat | null {
  let total: number | null = null;
  let idle = 0;
  let btime: number | null = null;
  for (const line of text.split('\n')) {
    if (line.startsWith('cpu ')) {
      const f = line.slice(4).trim().split(/\s+/).map((x) => toInt(x) ?? 0);
      // user nice system idle iowait irq softirq steal guest guest_nice; guest* are already in user/nice.
      total = 0;
      for (let i = 0; i < Math.min(f.length, 8); i++) total += f[i] ?? 0;
      idle = (f[3] ?? 0) + (f[4] ?? 0);
    } else if (line.startsWith('btime ')) {
      btime = toInt(line.slice(6).trim());
    }
  }
  if (total === null) return null;
  return { totalTicks: total, idleTicks: idle, bootTimeS: btime };
}

/** Parse `/proc/uptime`: seconds since boot (the first number). Returns null when malformed. */
export function parseUptimeS(text: string): number | null {
  const first = text.trim().split(/\s+/)[0] ?? '';
  if (!/^\d+(\.\d+)?$/.test(first)) return null;
  return Number(first);
}

/** What a worker's argv says about it. */
export interface WorkerIdentity {
  /** The run id: `<ownerPid>.<random>`. */
  runId: string;
  /** The Node process that started it (the run id's part before the dot). */
  ownerPid: number;
  /** The slot from `--dspex-worker-id=`, or null when absent or not a number. */
  workerId: number | null;
  /** The argument that names the worker script. */
  script: string;
}

const RUN_ID_RE = /^([1-9][0-9]{0,9})\.([0-9A-Za-z_-]{1,64})$/;
const INTERPRETER_RE = /^(python|pypy)[0-9A-Za-z._-]*$/;
/** Python options that take their value as the next argument (`-X dev`, `-W error`). */
const OPTIONS_WITH_VALUE = new Set(['-X', '-W']);

/**
 * Recognise a dspex worker by its argv (pure). A process is a worker iff
 * - argv[0] is a Python interpreter (basename `python*` or `pypy*`),
 * - the script it runs (the first argument that is not an interpreter option) ends in
 *   `/dspex_worker.py` (or is `dspex_worker.py`), and
 * - a script argument after it is `--dspex-run-id=<ownerPid>.<random>`.
 *
 * Anything else returns null: nothing else is ever mistaken for a worker. In particular not the
 * launchers that exist for a few milliseconds while a worker starts (a pyenv shim runs as
 * `bash /root/.pyenv/shims/python3 .../dspex_worker.py --dspex-run-id=...` and forks subshells
 * with that same argv before it execs Python), nor a shell line or an editor that merely mentions
 * the script.
 */
export function identifyWorker(argv: readonly string[]): WorkerIdentity | null {
  const exe = argv[0];
  if (exe === undefined || !INTERPRETER_RE.test(exe.slice(exe.lastIndexOf('/') + 1))) return null;
  let scriptIdx = -1;
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (a.startsWith('-')) {
      if (a === '-c' || a === '-m' || a === '-') return null; // no script file
      if (OPTIONS_WITH_VALUE.has(a)) i++;
      continue;
    }
    scriptIdx = i;
    break;
  }
  if (scriptIdx < 0) return null;
  const script = argv[scriptIdx] ?? '';
  if (!(script === WORKER_SCRIPT_SUFFIX || script.endsWith('/' + WORKER_SCRIPT_SUFFIX))) return null;
  let runId: string | null = null;
  let workerId: number | null = null;
  for (let i = scriptIdx + 1; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (runId === null && a.startsWith(RUN_ID_ARG_PREFIX)) runId = a.slice(RUN_ID_ARG_PREFIX.length);
    else if (workerId === null && a.startsWith(WORKER_ID_ARG_PREFIX)) workerId = toInt(a.slice(WORKER_ID_ARG_PREFIX.length));
  }
  if (runId === null) return null;
  const ownerPid = runIdOwner(runId);
  if (ownerPid === null) return null;
  return { runId, ownerPid, workerId, script };
}

/** The owner pid of a run id (`<ownerPid>.<random>`), or null when it is not one (pure). */
export function runIdOwner(runId: string): number | null {
  const m = RUN_ID_RE.exec(runId);
  return m ? Number(m[1]) : null;
}

/** What is known about a worker's owner process, as read from /proc. */
export type OwnerObservation =
  /** `/proc/OWNER/stat` was read. */
  | { kind: 'present'; stat: ProcStat }
  /** No such process. */
  | { kind: 'absent' }
  /** It exists but could not be read (permissions): assume alive. */
  | { kind: 'unreadable' };

/**
 * Whether a process shares this process's PID namespace, as far as `/proc` can prove it:
 * - `same`: its `ns/pid` link equals `/proc/self/ns/pid`, and its `NSpid` (when the kernel reports
 *   it) is exactly its pid in this procfs. Only then do the pids in its run id, the pids in this
 *   procfs and the pids `kill()` takes all mean the same processes.
 * - `other`: the links differ (a process in a container, or in the host seen from a container).
 *   The owner pid in its run id names a process of ITS namespace; looked up here it is absent or
 *   some unrelated process.
 * - `unverifiable`: a link or its status could not be read (another user's process without
 *   ptrace access, a process exiting), a link is not `pid:[N]`, or `NSpid` disagrees (more than one
 *   level: this procfs belongs to an ancestor namespace, so its pids are not ours).
 */
export type PidNamespaceCheck = 'same' | 'other' | 'unverifiable';

const PID_NS_LINK_RE = /^pid:\[[0-9]+\]$/;

/**
 * Compare a process's PID namespace with this process's (pure; see {@link PidNamespaceCheck}).
 * `selfNs` and `processNs` are the `ns/pid` links of `self` and of `pid`; `status` is the process's
 * parsed `/proc/PID/status` (for `NSpid`).
 */
export function comparePidNamespace(pid: number, selfNs: ProcResult<string>, processNs: ProcResult<string>, status: ProcResult<ProcStatus>): PidNamespaceCheck {
  if (!selfNs.ok || !processNs.ok || !PID_NS_LINK_RE.test(selfNs.value) || !PID_NS_LINK_RE.test(processNs.value)) return 'unverifiable';
  if (selfNs.value !== processNs.value) return 'other';
  if (!status.ok) return 'unverifiable';
  const nsPids = status.value.nsPids;
  if (nsPids !== null && (nsPids.length !== 1 || nsPids[0] !== pid)) return 'unverifiable';
  return 'same';
}

/** Whose a recognised worker is. */
export type Ownership = 'self' | 'foreign' | 'orphan';

/**
 * Decide whether a recognised worker belongs to this Node process (`self`), to another live Node
 * process or to another PID namespace (`foreign`: never reported as an orphan, never signalled),
 * or to nobody (`orphan`).
 *
 * A worker whose PID namespace is not proven to be ours (`pidNamespace` other than `same`) is
 * `foreign` whatever its run id says: the owner pid in the run id is a pid of the worker's own
 * namespace, so looking it up in this one proves nothing. Otherwise: orphan iff the owner is gone,
 * is a zombie, or its pid was reused (the process now holding the pid started after the worker
 * did). When in doubt (unreadable owner, equal start ticks) the answer is `foreign`: the
 * conservative side for a function whose answer may lead to a kill.
 */
export function classifyOwnership(identity: WorkerIdentity, workerStartTicks: number, selfPid: number, owner: OwnerObservation, pidNamespace: PidNamespaceCheck): Ownership {
  if (pidNamespace !== 'same') return 'foreign';
  if (identity.ownerPid === selfPid) return 'self';
  if (owner.kind === 'absent') return 'orphan';
  if (owner.kind === 'unreadable') return 'foreign';
  if (owner.stat.state === 'Z' || owner.stat.state === 'X') return 'orphan';
  if (owner.stat.startTicks > workerStartTicks) return 'orphan';
  return 'foreign';
}

/**
 * CPU use between two readings, percent of one core (100 = one core busy). Null when the interval
 * is not positive or the counter went backwards (a different process).
 */
export function cpuPercent(prevTicks: number, curTicks: number, elapsedMs: number, clockTicksPerS: number = DEFAULT_CLOCK_TICKS_PER_S): number | null {
  if (!(elapsedMs > 0) || curTicks < prevTicks) return null;
  return ((curTicks - prevTicks) / clockTicksPerS / (elapsedMs / 1000)) * 100;
}

/**
 * Infer the page size from one process's `statm` resident pages and `status` VmRSS (pure). Returns
 * the nearest common Linux page size (4, 16 or 64 KiB), or null when the figures are unusable.
 */
export function inferPageSizeBytes(rssPages: number, vmRssBytes: number): number | null {
  if (!(rssPages > 0) || !(vmRssBytes > 0)) return null;
  const ratio = vmRssBytes / rssPages;
  let best: number | null = null;
  for (const size of [4096, 16384, 65536]) if (best === null || Math.abs(Math.log(ratio / size)) < Math.abs(Math.log(ratio / best))) best = size;
  return best;
}

function toInt(s: string | undefined): number | null {
  if (s === undefined || s.length === 0) return null;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return null;
  }
  return Number(s);
}

function parseNsPids(value: string): number[] | null {
  const out: number[] = [];
  for (const p of value.split(/\s+/)) {
    const n = toInt(p);
    if (n === null) return null;
    out.push(n);
  }
  return out.length > 0 ? out : null;
}

function parseKb(value: string): number | null {
  const m = /^(\d+)\s*kB$/.exec(value);
  return m ? Number(m[1]) * 1024 : null;
}

// ---------------------------------------------------------------------------------------------
// The reader (thin, synchronous, never throws)
// ---------------------------------------------------------------------------------------------

/** Why a read failed. `gone`: the process vanished (ENOENT/ESRCH, or an empty read mid-exit). */
export type ProcErrorCode = 'gone' | 'permission' | 'parse' | 'io';

/** A failed read, as data. */
export interface ProcError {
  code: ProcErrorCode;
  /** The errno code when there was one (ENOENT, EACCES, ...). */
  errno: string | null;
  path: string;
  message: string;
}

/** The outcome of one read. */
export type ProcResult<T> = { ok: true; value: T } | { ok: false; error: ProcError };

/** Options of {@link ProcReader}. */
export interface ProcReaderOptions {
  /** Count fds with one `stat()` of `/proc/PID/fd` (Linux ≥ 6.2 reports the count as the size). Default: detected. */
  fdCountFromStat?: boolean;
  /** Cap on bytes read from one file (cmdline can be huge; the worker arguments come first). Default 64 KiB. */
  maxReadBytes?: number;
}

/**
 * Reads `/proc`-shaped trees synchronously with one reused buffer. Every method returns a
 * {@link ProcResult}; nothing throws. Construct one per proc root.
 */
export class ProcReader {
  /** The proc root, e.g. `/proc` or a fixture directory. */
  readonly root: string;
  /** Whether fd counts come from `stat()` sizes (fast path) instead of directory listings. */
  readonly fdCountFromStat: boolean;
  private buf: Buffer;
  private readonly maxReadBytes: number;

  constructor(root = '/proc', options: ProcReaderOptions = {}) {
    this.root = root.endsWith('/') ? root.slice(0, -1) : root;
    this.maxReadBytes = options.maxReadBytes ?? 65536;
    this.buf = Buffer.allocUnsafe(Math.min(16384, this.maxReadBytes));
    this.fdCountFromStat = options.fdCountFromStat ?? detectFdCountFromStat(this.root);
  }

  /** Read a file under the root as UTF-8 (`rel` like `123/stat`): open, one read (more only for a file larger than the buffer), close. */
  readText(rel: string): ProcResult<string> {
    const path = `${this.root}/${rel}`;
    let fd = -1;
    try {
      fd = fs.openSync(path, 'r');
      let n = 0;
      for (;;) {
        if (n === this.buf.length) {
          if (this.buf.length >= this.maxReadBytes) break;
          const bigger = Buffer.allocUnsafe(Math.min(this.buf.length * 2, this.maxReadBytes));
          this.buf.copy(bigger, 0, 0, n);
          this.buf = bigger;
        }
        const want = this.buf.length - n;
        const r = fs.readSync(fd, this.buf, n, want, null);
        n += r;
        // A short read is the end: procfs files (seq_file, cmdline) and regular files fill the buffer
        // when they can, so this saves the extra read() that would return 0.
        if (r < want) break;
      }
      return { ok: true, value: this.buf.toString('utf8', 0, n) };
    } catch (err) {
      return { ok: false, error: toProcError(err, path) };
    } finally {
      if (fd >= 0) {
        try {
          fs.closeSync(fd);
        } catch {
          // closing a /proc file cannot meaningfully fail; nothing to do
        }
      }
    }
  }

  /** Read a symbolic link under the root (`rel` like `123/ns/pid`). A missing or unreadable link comes back as an error result. */
  readLink(rel: string): ProcResult<string> {
    const path = `${this.root}/${rel}`;
    try {
      return { ok: true, value: fs.readlinkSync(path) };
    } catch (err) {
      return { ok: false, error: toProcError(err, path) };
    }
  }

  /** The `ns/pid` link of a process (`pid:[4026531836]`), or of `self`: the reading process. */
  readPidNamespace(pid: number | 'self'): ProcResult<string> {
    return this.readLink(`${pid}/ns/pid`);
  }

  /** Compare the PID namespace of `pid` with `selfNs` (this process's, from `readPidNamespace('self')`); see {@link comparePidNamespace}. */
  checkPidNamespace(pid: number, selfNs: ProcResult<string>): PidNamespaceCheck {
    const ns = this.readPidNamespace(pid);
    // The status (for NSpid) only matters when the links agree.
    if (!ns.ok || !selfNs.ok || ns.value !== selfNs.value) return comparePidNamespace(pid, selfNs, ns, { ok: true, value: parseStatus('') });
    return comparePidNamespace(pid, selfNs, ns, this.readStatus(pid));
  }

  /** Numeric entries of the root: every visible pid. */
  listPids(): ProcResult<number[]> {
    try {
      const out: number[] = [];
      for (const name of fs.readdirSync(this.root)) {
        const c = name.charCodeAt(0);
        if (c < 49 || c > 57) continue;
        const n = Number(name);
        if (Number.isInteger(n)) out.push(n);
      }
      return { ok: true, value: out };
    } catch (err) {
      return { ok: false, error: toProcError(err, this.root) };
    }
  }

  /** `/proc/PID/stat`, parsed. An empty or truncated file (a process exiting mid-read) is `gone`. */
  readStat(pid: number): ProcResult<ProcStat> {
    const r = this.readText(`${pid}/stat`);
    if (!r.ok) return r;
    const stat = parseStat(r.value);
    if (stat) return { ok: true, value: stat };
    const path = `${this.root}/${pid}/stat`;
    if (r.value.length === 0) return { ok: false, error: { code: 'gone', errno: null, path, message: `${path}: empty read (the process is exiting)` } };
    return { ok: false, error: { code: 'parse', errno: null, path, message: `${path}: malformed stat line` } };
  }

  /** `/proc/PID/cmdline`, split. */
  readCmdline(pid: number): ProcResult<string[]> {
    const r = this.readText(`${pid}/cmdline`);
    return r.ok ? { ok: true, value: parseCmdline(r.value) } : r;
  }

  /** `/proc/PID/status`, parsed. */
  readStatus(pid: number): ProcResult<ProcStatus> {
    const r = this.readText(`${pid}/status`);
    return r.ok ? { ok: true, value: parseStatus(r.value) } : r;
  }

  /** Children of the process's main thread (`/proc/PID/task/PID/children`). */
  readChildren(pid: number): ProcResult<number[]> {
    const r = this.readText(`${pid}/task/${pid}/children`);
    return r.ok ? { ok: true, value: parseChildren(r.value) } : r;
  }

  /**
   * Children of every thread of the process (`/proc/PID/task/TID/children`): a child forked from a
   * thread other than the main one is listed only under that thread. `threads` (from its stat)
   * saves the task listing for a single-threaded process.
   */
  readAllChildren(pid: number, threads = 0): ProcResult<number[]> {
    if (threads === 1) return this.readChildren(pid);
    let tids: string[];
    try {
      tids = fs.readdirSync(`${this.root}/${pid}/task`);
    } catch (err) {
      return { ok: false, error: toProcError(err, `${this.root}/${pid}/task`) };
    }
    const out: number[] = [];
    for (const tid of tids) {
      const r = this.readText(`${pid}/task/${tid}/children`);
      // A thread that ended meanwhile has no children to report.
      if (r.ok) for (const c of parseChildren(r.value)) if (!out.includes(c)) out.push(c);
    }
    return { ok: true, value: out };
  }

  /** The variables of `/proc/PID/environ` whose name starts with `prefix` (needs the same access as ptrace). */
  readEnviron(pid: number, prefix = ''): ProcResult<Map<string, string>> {
    const r = this.readText(`${pid}/environ`);
    return r.ok ? { ok: true, value: parseEnviron(r.value, prefix) } : r;
  }

  /** Open file descriptors of the process. */
  countFds(pid: number): ProcResult<number> {
    const path = `${this.root}/${pid}/fd`;
    try {
      if (this.fdCountFromStat) {
        const size = fs.statSync(path).size;
        if (size > 0) return { ok: true, value: size };
      }
      return { ok: true, value: fs.readdirSync(path).length };
    } catch (err) {
      return { ok: false, error: toProcError(err, path) };
    }
  }

  /** `/proc/stat`, parsed. */
  readSystemStat(): ProcResult<SystemStat> {
    const r = this.readText('stat');
    if (!r.ok) return r;
    const s = parseSystemStat(r.value);
    return s ? { ok: true, value: s } : { ok: false, error: { code: 'parse', errno: null, path: `${this.root}/stat`, message: 'no cpu line in /proc/stat' } };
  }

  /** `/proc/uptime`: seconds since boot. */
  readUptimeS(): ProcResult<number> {
    const r = this.readText('uptime');
    if (!r.ok) return r;
    const s = parseUptimeS(r.value);
    return s !== null ? { ok: true, value: s } : { ok: false, error: { code: 'parse', errno: null, path: `${this.root}/uptime`, message: 'malformed /proc/uptime' } };
  }

  /** Observe a would-be owner process for {@link classifyOwnership}. */
  observeOwner(pid: number): OwnerObservation {
    const r = this.readStat(pid);
    if (r.ok) return { kind: 'present', stat: r.value };
    return r.error.code === 'gone' ? { kind: 'absent' } : { kind: 'unreadable' };
  }
}

/** Map a thrown fs error to a {@link ProcError}. */
export function toProcError(err: unknown, path: string): ProcError {
  const errno = typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : null;
  const message = err instanceof Error ? err.message : String(err);
  let code: ProcErrorCode = 'io';
  if (errno === 'ENOENT' || errno === 'ESRCH') code = 'gone';
  else if (errno === 'EACCES' || errno === 'EPERM') code = 'permission';
  return { code, errno, path, message };
}

/** The warning text for a failed read: a permission error names the file (pure). */
export function procErrorText(e: ProcError): string {
  return e.code === 'permission' ? `permission denied reading ${e.path}` : e.message;
}

/** True when `stat(ROOT/self/fd).size` is the fd count (Linux ≥ 6.2). Only ever true for a real procfs. */
function detectFdCountFromStat(root: string): boolean {
  try {
    if (fs.statfsSync(root).type !== 0x9fa0 /* PROC_SUPER_MAGIC */) return false;
    return fs.statSync(`${root}/self/fd`).size > 0;
  } catch {
    return false;
  }
}
