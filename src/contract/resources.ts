/**
 * The shape of a resource sample: the Node process, the machine, and every Python process of the
 * library. Produced by the ResourceMonitor, published on `dspex:resource:sample`, consumed by the
 * metrics collector, dashboards, alerts and the Prometheus exporter.
 *
 * @module
 */

/** Event-loop delay over the last sampling interval, in microseconds. */
export interface EventLoopDelayUs {
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

/** The Node process. */
export interface NodeResources {
  pid: number;
  rssBytes: number;
  heapUsedBytes: number;
  heapTotalBytes: number;
  /** V8's heap size limit. */
  heapLimitBytes: number;
  externalBytes: number;
  arrayBuffersBytes: number;
  eventLoopDelayUs: EventLoopDelayUs;
  /** Event-loop utilization over the interval, 0..1. */
  eventLoopUtilization: number;
  /** Garbage collections during the interval and their total pause. */
  gcCount: number;
  gcPauseMs: number;
  activeHandles: number;
  activeRequests: number;
  /** CPU use over the interval, percent of one core (100 = one core busy). */
  cpuPercent: number;
  uptimeMs: number;
}

/** The machine. */
export interface SystemResources {
  cpuCount: number;
  totalMemBytes: number;
  freeMemBytes: number;
  loadAvg: [number, number, number];
  /**
   * Whole-machine CPU busy time over the interval (all cores), 0..1, from /proc/stat; null on the
   * first sample. Added field: always set by the ResourceMonitor.
   */
  cpuUtilization?: number | null;
}

/**
 * A process descended from a Python worker: started by user code (`subprocess`, `multiprocessing`,
 * `os.fork()`) or by what that started.
 */
export interface DescendantProcess {
  pid: number;
  ppid: number;
  /** Process group id: the worker's pid, unless the process left the worker's group. */
  pgid: number;
  /** Session id: the worker's pid, unless the process started a session of its own (`setsid()`). */
  sid: number;
  /** The executable name (up to 15 bytes). */
  comm: string;
  /** Process state letter (R, S, D, Z, T, ...). */
  state: string;
  rssBytes: number;
  startedAtMs: number;
}

/** A descendant whose worker has ended: nothing will end it with the worker any more. */
export interface OrphanedDescendant extends DescendantProcess {
  /** The pid its worker had. */
  workerPid: number;
  /** Its worker's pool and slot when known (the monitor saw the worker, or the environment names them), else null. */
  pool: string | null;
  workerId: number | null;
  /** Its worker's run id ('' when unknown). */
  runId: string;
  /** True when the worker's Node process is gone too (the worker was itself an orphan, or its run id names a dead process). */
  orphan: boolean;
}

/** One Python process started by this library. */
export interface PythonProcessResources {
  pid: number;
  /** The pool that owns it, or null for an orphan. */
  pool: string | null;
  workerId: number | null;
  /** The run id the process was started with. */
  runId: string;
  orphan: boolean;
  /** Process state letter from /proc (R, S, D, Z, T, ...). */
  state: string;
  /** CPU use since the previous sample, percent of one core; null on the first sample. */
  cpuPercent: number | null;
  rssBytes: number;
  vmsBytes: number;
  threads: number;
  /** Open file descriptors, or null when /proc/PID/fd cannot be read. */
  openFds: number | null;
  startedAtMs: number;
  ageMs: number;
  /** Restarts of its worker slot so far. */
  restarts: number;
  /** RSS trend over the trend window, bytes per second (least-squares slope); null until 3 samples. */
  rssSlopeBytesPerS: number | null;
  /** Cumulative CPU seconds (user + system). */
  cpuSeconds: number;
  /** Parent pid (the owning Node process for a live worker). Added field: always set by the ResourceMonitor. */
  ppid?: number;
  /**
   * Its direct children (e.g. a `fork()` or a `subprocess` in user code): those of `descendants`
   * whose parent it is (the children of its main thread, and with the process scan those of its
   * other threads too). Added field: always set by the ResourceMonitor (empty when none, or when
   * the children list cannot be read).
   */
  childPids?: number[];
  /**
   * Those children in state Z: forked and never reaped by the worker. Each holds a pid and a process
   * table slot until the worker waits for it or exits. Added field: always set by the ResourceMonitor.
   */
  zombieChildPids?: number[];
  /**
   * Every process descended from this one (children, grandchildren, ...: its process tree, its
   * session, and processes seen in either before, until they exit), by pid. Added field: always
   * set by the ResourceMonitor (empty when none).
   */
  descendants?: DescendantProcess[];
}

/** A Python process that was present in the previous sample and is gone now. */
export interface VanishedProcess {
  pid: number;
  pool: string | null;
  workerId: number | null;
  /** True when the pool did not end it itself (a crash or an outside kill). */
  crashed: boolean;
  exitCode: number | null;
  signal: string | null;
  /** The run id it was started with. Added field: always set by the ResourceMonitor. */
  runId?: string;
  /**
   * The pool's `dspex:worker:terminate` reason (`crash`, `stop`, `timeout`, ...), or null when no
   * pool reported the exit (an orphan, or a process killed outside the pool that the pool has not
   * noticed yet). Added field: always set by the ResourceMonitor.
   */
  reason?: string | null;
  /** When the process was last seen alive, ms since the epoch. Added field: always set by the ResourceMonitor. */
  lastSeenAtMs?: number;
}

/** One sample of everything. */
export interface ResourceSample {
  timestampMs: number;
  node: NodeResources;
  system: SystemResources;
  python: PythonProcessResources[];
  vanished: VanishedProcess[];
  /** Problems met while sampling (a permission error, a vanished /proc entry), as data. */
  warnings: string[];
  /** How long taking this sample took, ms (the event loop was busy for that long). Added field: always set by the ResourceMonitor. */
  sampleDurationMs?: number;
  /**
   * dspex workers of OTHER live Node processes seen on the machine, and workers in another PID
   * namespace (a container's, seen from the host) or whose namespace cannot be read: counted, never
   * reported in `python`, never signalled. Added field: always set by the ResourceMonitor.
   */
  foreignWorkers?: number;
  /**
   * Descendants of this library's workers left running after their worker ended (each also named
   * in `warnings`); their count is the length. Added field: always set by the ResourceMonitor.
   */
  orphanedDescendants?: OrphanedDescendant[];
}
