/**
 * The rules a service starts with, thresholds configurable. With the default thresholds, names,
 * severities, `for` and thresholds are those of prometheus/dspex-alerts.yml for every rule whose
 * signal /metrics exports (the crash loop: 0.6 crashes/min over 5m here, `increase(...[5m]) >= 3`
 * there); the yml's header lists the rules only one side has, and why
 * (test/alerts/prometheus-consistency.test.ts checks both). Each rule's runbook links its section
 * of docs/OPERATIONS_PLAYBOOK.md (anchor: the rule's name in lower case).
 *
 * @module
 */
import type { AlertRule } from './rule-types.js';

/** Thresholds of {@link defaultAlertRules}. */
export interface DefaultAlertThresholds {
  /** Error rate (5m) of `DspexHighErrorRate` (warning), 0..1. Default 0.05 (as in dspex-alerts.yml). */
  errorRate: number;
  /** Error rate (5m) of `DspexVeryHighErrorRate` (critical). Default 0.25. */
  errorRateCritical: number;
  /** p99 latency (5m) target, µs. Default 1 s (as in dspex-alerts.yml). */
  latencyP99Us: number;
  /** Queue fill ratio (depth / maxQueue). Default 0.8. */
  queueFillRatio: number;
  /** Crashes per minute over 5 minutes for the crash loop. Default 0.6 (3 crashes in 5 minutes). */
  crashesPerMin: number;
  /** Node heap used / limit. Default 0.9. */
  heapUsedRatio: number;
  /** Event-loop delay p99, ms. Default 200. */
  eventLoopDelayP99Ms: number;
  /** Node RSS growth, bytes per second over 15 minutes. Default 64 KiB/s (≈ 225 MiB an hour). */
  nodeRssGrowthBytesPerS: number;
  /** RSS of one Python worker, bytes. Default 1 GiB. */
  pythonRssBytes: number;
  /** RSS slope of one Python worker (leak suspect), bytes per second. Default 64 KiB/s (the advisor's). */
  pythonRssSlopeBytesPerS: number;
  /** Open file descriptors of one worker. Default 1000. */
  openFds: number;
}

/** The defaults of {@link DefaultAlertThresholds}. */
export const DEFAULT_ALERT_THRESHOLDS: Readonly<DefaultAlertThresholds> = Object.freeze({
  errorRate: 0.05,
  errorRateCritical: 0.25,
  latencyP99Us: 1_000_000,
  queueFillRatio: 0.8,
  crashesPerMin: 0.6,
  heapUsedRatio: 0.9,
  eventLoopDelayP99Ms: 200,
  nodeRssGrowthBytesPerS: 64 * 1024,
  pythonRssBytes: 1024 ** 3,
  pythonRssSlopeBytesPerS: 64 * 1024,
  openFds: 1000,
});

/** Options of {@link defaultAlertRules}. */
export interface DefaultAlertRulesOptions {
  thresholds?: Partial<DefaultAlertThresholds>;
  /** Only this pool's series (default every pool). */
  pool?: string;
  /** Where the playbook lives (default `docs/OPERATIONS_PLAYBOOK.md`). */
  playbook?: string;
  /** Labels added to every rule (e.g. `{ team: 'ml' }`). */
  labels?: Record<string, string>;
}

const MIN = 60_000;

/** The default rule set (a new array of plain rule objects each call). */
export function defaultAlertRules(options: DefaultAlertRulesOptions = {}): AlertRule[] {
  const t = { ...DEFAULT_ALERT_THRESHOLDS, ...options.thresholds };
  const playbook = options.playbook ?? 'docs/OPERATIONS_PLAYBOOK.md';
  const pct = (r: number) => `${Math.round(r * 1000) / 10}%`;
  const rule = (r: AlertRule & { summary: string; description: string }): AlertRule => {
    const { summary, description, ...rest } = r;
    return {
      ...rest,
      ...(options.pool === undefined ? {} : { pool: options.pool }),
      labels: { ...options.labels, ...rest.labels },
      annotations: { summary, description, runbook: `${playbook}#${rest.name.toLowerCase()}` },
    };
  };
  return [
    rule({
      name: 'DspexHighErrorRate', kind: 'threshold', signal: 'pool.errorRate', window: '5m', op: '>', value: t.errorRate, forMs: 2 * MIN, severity: 'warning',
      summary: 'dspex pool {{pool}}: {{value}} of operations fail',
      description: `More than ${pct(t.errorRate)} of the operations of pool {{pool}} failed over 5 minutes. Check getErrorRates(pool) by category and type, and the Python tracebacks in the log.`,
    }),
    rule({
      name: 'DspexVeryHighErrorRate', kind: 'threshold', signal: 'pool.errorRate', window: '5m', op: '>', value: t.errorRateCritical, forMs: 2 * MIN, severity: 'critical',
      summary: 'dspex pool {{pool}}: {{value}} of operations fail',
      description: `More than ${pct(t.errorRateCritical)} of the operations of pool {{pool}} failed over 5 minutes. Check a recent deploy, the Python tracebacks and the downstream services the handlers call.`,
    }),
    rule({
      name: 'DspexHighP99Latency', kind: 'threshold', signal: 'pool.latencyP99Us', window: '5m', op: '>', value: t.latencyP99Us, forMs: 5 * MIN, severity: 'warning',
      summary: 'dspex pool {{pool}}: p99 latency {{value}} µs',
      description: `The 99th percentile of operation latency (queue wait included) of pool {{pool}} has been above ${t.latencyP99Us} µs for 5 minutes. Compare pool.queueWaitP99Us (too few workers) with the Python time per command (slow handlers).`,
    }),
    rule({
      name: 'DspexQueueSaturation', kind: 'threshold', signal: 'pool.queueFillRatio', op: '>', value: t.queueFillRatio, forMs: 1 * MIN, severity: 'critical',
      summary: 'dspex pool {{pool}}: queue {{value}} full',
      description: `Calls waiting for a worker of pool {{pool}} have filled more than ${pct(t.queueFillRatio)} of maxQueue for 1 minute; beyond it calls are refused (overloaded/queue_full). Add workers (resize) or shed load.`,
    }),
    rule({
      name: 'DspexWorkerCrashLoop', kind: 'threshold', signal: 'pool.workerCrashesPerMin', window: '5m', op: '>=', value: t.crashesPerMin, forMs: 0, severity: 'critical',
      summary: 'dspex pool {{pool}}: {{value}} worker crashes per minute',
      description: `Python workers of pool {{pool}} keep crashing and being replaced (≥ ${t.crashesPerMin}/min over 5 minutes: by default 3 crashes in 5 minutes, as in dspex-alerts.yml). Check the Python stderr in the log, the exit codes / signals (an OOM kill is SIGKILL) and python.rssBytes.`,
    }),
    rule({
      name: 'DspexWorkerCrashed', kind: 'threshold', signal: 'pool.workerCrashesPerMin', window: '1m', op: '>', value: 0, forMs: 0, severity: 'warning',
      summary: 'dspex pool {{pool}}: a worker process crashed',
      description: 'A Python worker of pool {{pool}} ended on its own within the last minute and was replaced. One crash is survivable; check its exit code or signal and its stderr.',
    }),
    rule({
      name: 'DspexPoolDown', kind: 'threshold', signal: 'pool.up', op: '<', value: 1, forMs: 1 * MIN, severity: 'critical',
      summary: 'dspex pool {{pool}} is not running',
      description: 'Pool {{pool}} has not been in the running state for 1 minute (starting, stopping or stopped). Check why start() failed or who stopped it.',
    }),
    rule({
      name: 'DspexPoolBelowMinSize', kind: 'threshold', signal: 'pool.workersBelowMinSize', op: '>', value: 0, forMs: 2 * MIN, severity: 'warning',
      summary: 'dspex pool {{pool}}: {{value}} workers short of its minimum size',
      description: 'Fewer workers of pool {{pool}} have been serving (idle or busy) than minSize for 2 minutes: replacements fail to start or keep crashing. Check the start errors in the log.',
    }),
    rule({
      name: 'DspexNodeHeapNearLimit', kind: 'threshold', signal: 'node.heapUsedRatio', op: '>', value: t.heapUsedRatio, forMs: 5 * MIN, severity: 'warning',
      summary: 'Node heap {{value}} of its limit',
      description: `The V8 heap has used more than ${pct(t.heapUsedRatio)} of its limit for 5 minutes; the process will slow down in GC, then abort. Take a heap snapshot (start node with --heapsnapshot-signal=SIGUSR2, then kill -USR2 PID) or raise --max-old-space-size.`,
    }),
    rule({
      name: 'DspexEventLoopDelayHigh', kind: 'threshold', signal: 'node.eventLoopDelayP99Ms', op: '>', value: t.eventLoopDelayP99Ms, forMs: 1 * MIN, severity: 'warning',
      summary: 'Node event-loop delay p99 {{value}} ms',
      description: `The event loop's p99 delay has been above ${t.eventLoopDelayP99Ms} ms for 1 minute: every call's latency includes it. Profile with node --cpu-prof; look for synchronous work (JSON of large results, sync fs).`,
    }),
    rule({
      name: 'DspexNodeRssGrowing', kind: 'rate', mode: 'perSecond', signal: 'node.rssBytes', op: '>', value: t.nodeRssGrowthBytesPerS, overMs: 15 * MIN, forMs: 15 * MIN, severity: 'warning',
      summary: 'Node RSS growing {{value}} bytes/s',
      description: `The Node process's resident memory has grown faster than ${t.nodeRssGrowthBytesPerS} bytes/s over 15 minutes, for 15 minutes. Compare heapUsed (a JS leak) with external / arrayBuffers (buffers held).`,
    }),
    rule({
      name: 'DspexPythonWorkerRssHigh', kind: 'threshold', signal: 'python.rssBytes', op: '>', value: t.pythonRssBytes, forMs: 5 * MIN, severity: 'warning',
      summary: 'dspex pool {{pool}} worker {{workerId}}: RSS {{value}} bytes',
      description: `Python worker {{workerId}} (pid {{pid}}) of pool {{pool}} has held more than ${t.pythonRssBytes} bytes resident for 5 minutes. Set maxWorkerRssBytes to recycle it, or recycleWorker() now.`,
    }),
    rule({
      name: 'DspexPythonRssLeakSuspect', kind: 'threshold', signal: 'python.rssSlopeBytesPerS', op: '>', value: t.pythonRssSlopeBytesPerS, forMs: 10 * MIN, severity: 'warning',
      summary: 'dspex pool {{pool}} worker {{workerId}}: RSS growing {{value}} bytes/s',
      description: `The RSS of Python worker {{workerId}} (pid {{pid}}) of pool {{pool}} has grown faster than ${t.pythonRssSlopeBytesPerS} bytes/s for 10 minutes: a leak suspect. Check caches kept across calls (sessions, module globals); maxCallsPerWorker / maxWorkerRssBytes recycle it.`,
    }),
    rule({
      name: 'DspexZombieProcess', kind: 'threshold', signal: 'python.zombies', op: '>', value: 0, forMs: 1 * MIN, severity: 'warning',
      summary: 'dspex pool {{pool}} worker {{workerId}}: {{value}} zombie children',
      description: 'Worker {{workerId}} (pid {{pid}}) of pool {{pool}} forked children that exited and were never reaped (state Z) for 1 minute. The handler should wait() for its subprocesses; recycling the worker reaps them.',
    }),
    rule({
      name: 'DspexOrphanProcess', kind: 'threshold', signal: 'python.orphans', op: '>', value: 0, forMs: 1 * MIN, severity: 'warning',
      summary: '{{value}} dspex processes left without their owner',
      description: "Python processes of this library, or their descendants, kept running after their worker or Node process ended, for 1 minute. See the resource sample's orphanedDescendants and warnings; cleanupOrphans() ends them.",
    }),
    rule({
      name: 'DspexPythonFdsHigh', kind: 'threshold', signal: 'python.openFds', op: '>', value: t.openFds, forMs: 5 * MIN, severity: 'warning',
      summary: 'dspex pool {{pool}} worker {{workerId}}: {{value}} open file descriptors',
      description: `Worker {{workerId}} (pid {{pid}}) of pool {{pool}} has held more than ${t.openFds} file descriptors for 5 minutes: files or sockets opened per call and never closed. ls -l /proc/{{pid}}/fd shows what they are.`,
    }),
    rule({
      name: 'DspexMonitoringDegraded', kind: 'threshold', signal: 'monitoring.degradationLevel', op: '>=', value: 1, forMs: 0, severity: 'info',
      summary: 'dspex monitoring shed detail (level {{value}})',
      description: 'The metrics collector reached memoryCapBytes and sheds detail (1 per-worker, 2 per-command, 3 untracked pools). Alerts on pool-level signals still work; raise the cap or lower metrics.maxCommands.',
    }),
  ];
}
