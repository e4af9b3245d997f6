/**
 * The Prometheus renderer as pure functions over plain objects, judged by promtool where the
 * format matters.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  FAMILIES,
  FAMILY_NAMES,
  buildFamilies,
  collectPrometheusInput,
  escapeHelp,
  escapeLabelValue,
  formatValue,
  renderExposition,
  renderPrometheus,
  resolvePools,
  type CollectorQueries,
  type PoolExport,
  type PrometheusInput,
} from '../../src/exporters/index.js';
import { fakeCollector, histogram, pyProc, resourceSample, status, totals } from './fixtures.js';
import { declaredFamilies, requireTool, run, sampleValue } from './helpers.js';

beforeAll(() => requireTool('promtool'));

function poolExport(over: Partial<PoolExport> & { name: string }): PoolExport {
  return { status: null, gauges: null, totals: null, errorTotals: [], commandTotals: [], operationHistograms: [], queueWaitHistogram: null, workers: [], ...over };
}

/** Undo escapeLabelValue (the reading side of the text format). */
function unescapeLabel(s: string): string {
  return s.replace(/\\(\\|"|n)/g, (_m, c: string) => (c === 'n' ? '\n' : c));
}

describe('text format primitives', () => {
  it('escapes backslash, double quote and line feed in label values, nothing else', () => {
    expect(escapeLabelValue('plain-name_1.2')).toBe('plain-name_1.2');
    expect(escapeLabelValue('a\\b')).toBe('a\\\\b');
    expect(escapeLabelValue('say "hi"')).toBe('say \\"hi\\"');
    expect(escapeLabelValue('two\nlines')).toBe('two\\nlines');
    expect(escapeLabelValue('tab\tand\rcr and é')).toBe('tab\tand\rcr and é');
  });

  it('round-trips any string through escape and the reader\'s unescape', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (s) => unescapeLabel(escapeLabelValue(s)) === s));
  });

  it('escapes backslash and line feed in HELP (a double quote stays)', () => {
    expect(escapeHelp('a\\b\n"c"')).toBe('a\\\\b\\n"c"');
  });

  it('writes the special values as +Inf, -Inf and NaN', () => {
    expect(formatValue(Infinity)).toBe('+Inf');
    expect(formatValue(-Infinity)).toBe('-Inf');
    expect(formatValue(Number.NaN)).toBe('NaN');
    expect(formatValue(0.25)).toBe('0.25');
    expect(formatValue(12)).toBe('12');
  });

  it('renders HELP and TYPE before the samples, labels in order, and ends with a line feed', () => {
    const text = renderExposition([{ name: 'x_total', help: 'An x.', type: 'counter', samples: [{ name: 'x_total', labels: [['b', '1'], ['a', 'q"']], value: 3 }] }]);
    expect(text).toBe('# HELP x_total An x.\n# TYPE x_total counter\nx_total{b="1",a="q\\""} 3\n');
  });
});

describe('buildFamilies', () => {
  const nasty = 'Err"or\\with\nnewline';
  const input: PrometheusInput = {
    pools: [
      poolExport({
        name: 'models',
        status: status('models', ['busy', 'idle', 'idle', 'starting', 'stopping'], { spares: { target: 2, ready: 1, starting: 1, workers: [] } }),
        totals: totals({ operations: 12, errors: 3, checkouts: 11, queueRejections: 1, workerCrashes: 2, workerRestarts: 2, healthCheckFailures: 1 }),
        errorTotals: [
          { category: 'python', type: nasty, count: 2 },
          { category: 'timeout', type: 'operation', count: 1 },
        ],
        commandTotals: [
          { command: 'predict', operations: 10, errors: 2 },
          { command: 'cmd "quoted"', operations: 2, errors: 1 },
        ],
        operationHistograms: [
          { command: 'predict', histogram: histogram([0, 0, 0, 4, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1], 75.5) },
          { command: 'cmd "quoted"', histogram: histogram([2], 0.0001) },
        ],
        queueWaitHistogram: histogram([11], 0.0005),
        workers: [
          { workerId: 0, operations: 7, errors: 1 },
          { workerId: 1, operations: 5, errors: 2 },
        ],
      }),
      poolExport({ name: 'gauges-only', gauges: { size: 4, busy: 3, idle: 1, starting: 0, queueDepth: 2, utilization: 0.75, spares: 2 } }),
    ],
    resources: resourceSample([
      pyProc({ pid: 10, pool: 'models', workerId: 0, rssBytes: 111, startedAtMs: 1000 }),
      // A replacement of slot 0 that started later: it wins, no duplicate series.
      pyProc({ pid: 11, pool: 'models', workerId: 0, rssBytes: 222, startedAtMs: 2000, openFds: null }),
      pyProc({ pid: 12, pool: 'models', workerId: 1, rssBytes: 333 }),
      pyProc({ pid: 13, pool: null, workerId: null, orphan: true }),
    ]),
    alerts: [
      { name: 'HighErrorRate', severity: 'critical', pool: 'models', message: 'm', sinceMs: 1 },
      { name: 'HighErrorRate', severity: 'critical', pool: 'models', message: 'again', sinceMs: 2 },
      { name: 'NodeMemory', severity: 'warning', pool: null, message: 'm', sinceMs: 1 },
    ],
  };
  const text = renderPrometheus(input);

  it('splits operations by command and result, with escaped label values', () => {
    expect(sampleValue(text, 'dspex_pool_operations_total{pool="models",command="predict",result="ok"}')).toBe(8);
    expect(sampleValue(text, 'dspex_pool_operations_total{pool="models",command="predict",result="error"}')).toBe(2);
    expect(sampleValue(text, 'dspex_pool_operations_total{pool="models",command="cmd \\"quoted\\"",result="ok"}')).toBe(1);
    expect(sampleValue(text, 'dspex_pool_errors_total{pool="models",category="python",type="Err\\"or\\\\with\\nnewline"}')).toBe(2);
    expect(text.split('\n').every((l) => !l.includes('\r'))).toBe(true);
  });

  it('writes histograms as cumulative le buckets, +Inf = _count, and _sum', () => {
    const p = 'dspex_pool_operation_duration_seconds';
    const l = 'pool="models",command="predict"';
    expect(sampleValue(text, `${p}_bucket{${l},le="0.0005"}`)).toBe(0);
    expect(sampleValue(text, `${p}_bucket{${l},le="0.001"}`)).toBe(4);
    expect(sampleValue(text, `${p}_bucket{${l},le="0.0025"}`)).toBe(8);
    expect(sampleValue(text, `${p}_bucket{${l},le="60"}`)).toBe(9);
    expect(sampleValue(text, `${p}_bucket{${l},le="+Inf"}`)).toBe(10);
    expect(sampleValue(text, `${p}_count{${l}}`)).toBe(10);
    expect(sampleValue(text, `${p}_sum{${l}}`)).toBe(75.5);
    expect(sampleValue(text, 'dspex_pool_queue_wait_seconds_count{pool="models"}')).toBe(11);
  });

  it('counts workers by state from the status, and falls back to the collector gauges without one', () => {
    for (const [state, n] of [['busy', 1], ['idle', 2], ['starting', 1], ['stopping', 1]] as const) {
      expect(sampleValue(text, `dspex_pool_workers{pool="models",state="${state}"}`)).toBe(n);
    }
    expect(sampleValue(text, 'dspex_pool_utilization_ratio{pool="models"}')).toBe(0.2);
    expect(sampleValue(text, 'dspex_pool_queue_depth{pool="models"}')).toBe(3);
    expect(sampleValue(text, 'dspex_pool_up{pool="models"}')).toBe(1);
    expect(sampleValue(text, 'dspex_worker_generation{pool="models",worker_id="4"}')).toBe(4);
    expect(sampleValue(text, 'dspex_pool_workers{pool="gauges-only",state="busy"}')).toBe(3);
    expect(sampleValue(text, 'dspex_pool_utilization_ratio{pool="gauges-only"}')).toBe(0.75);
    expect(sampleValue(text, 'dspex_pool_up{pool="gauges-only"}')).toBeUndefined();
  });

  it('exports the ready spares from the status, or from the collector gauges without one; nothing from producers without spares', () => {
    expect(sampleValue(text, 'dspex_pool_spares{pool="models"}')).toBe(1);
    expect(sampleValue(text, 'dspex_pool_spares{pool="gauges-only"}')).toBe(2);
    expect(declaredFamilies(text).get('dspex_pool_spares')).toBe('gauge');
    const older = renderPrometheus({
      pools: [poolExport({ name: 'a', status: status('a', ['idle']) }), poolExport({ name: 'b', gauges: { size: 1, busy: 0, idle: 1, starting: 0, queueDepth: 0, utilization: 0 } })],
      resources: null,
      alerts: [],
    });
    expect(older).toContain('dspex_pool_size{pool="a"} 1');
    expect(older).not.toContain('dspex_pool_spares');
  });

  it('keeps one process per worker slot (the newest), counts orphans, converts units', () => {
    expect(sampleValue(text, 'dspex_python_rss_bytes{pool="models",worker_id="0"}')).toBe(222);
    expect(sampleValue(text, 'dspex_python_rss_bytes{pool="models",worker_id="1"}')).toBe(333);
    expect(text.match(/^dspex_python_rss_bytes\{/gm)).toHaveLength(2);
    expect(sampleValue(text, 'dspex_python_open_fds{pool="models",worker_id="0"}')).toBeUndefined();
    expect(sampleValue(text, 'dspex_python_orphan_processes')).toBe(1);
    expect(sampleValue(text, 'dspex_node_event_loop_delay_seconds{stat="p99"}')).toBe(0.02);
    expect(sampleValue(text, 'dspex_node_cpu_usage_cores')).toBe(1.5);
    expect(sampleValue(text, 'dspex_node_gc_pause_seconds')).toBe(0.003);
  });

  it('exports each active alert once', () => {
    expect(sampleValue(text, 'dspex_alerts{alertname="HighErrorRate",alertstate="firing",severity="critical",pool="models"}')).toBe(1);
    expect(text.match(/^dspex_alerts\{/gm)).toHaveLength(2);
  });

  it('declares HELP and TYPE once per family, only for known families, before their samples', () => {
    const declared = declaredFamilies(text);
    for (const [name, type] of declared) expect(FAMILIES[name as keyof typeof FAMILIES]?.type).toBe(type);
    expect(text.match(/^# HELP /gm)).toHaveLength(declared.size);
    let current = '';
    for (const line of text.split('\n')) {
      if (line.startsWith('# TYPE ')) current = line.split(' ')[2]!;
      else if (line !== '' && !line.startsWith('#')) expect(line.startsWith(current)).toBe(true);
    }
  });

  it('is accepted by promtool check metrics (escaping included), with no lint findings', async () => {
    const r = await run('promtool', ['check', 'metrics'], text);
    expect(r.stderr + r.stdout).toBe('');
    expect(r.code).toBe(0);
  });

  it('leaves empty families out and renders an empty input as an empty body', () => {
    expect(buildFamilies({ pools: [], resources: null, alerts: [] })).toEqual([]);
    expect(renderPrometheus({ pools: [], resources: null, alerts: [] })).toBe('');
    expect(FAMILY_NAMES.length).toBe(Object.keys(FAMILIES).length);
  });
});

describe('reading the sources', () => {
  const data = {
    a: {
      totals: totals({ operations: 5, errors: 1 }),
      commands: [{ command: 'echo', operations: 5, errors: 1, histogram: histogram([5], 0.0002) }],
      errors: [{ category: 'python' as const, type: 'ValueError', count: 1 }],
      queueWait: histogram([5], 0),
    },
  };

  it('queries each figure once per pool and command, per worker of the status', () => {
    const c = fakeCollector(data);
    const input = collectPrometheusInput({ collector: c, pools: [{ name: 'a', status: () => status('a', ['idle', 'busy']) }] });
    expect(input.pools).toHaveLength(1);
    expect(c.calls.get('getTotals')).toBe(1);
    expect(c.calls.get('getLatencyHistogram')).toBe(4); // echo (operation, python, bridge) + queue wait
    expect(c.calls.get('getWorkerMetrics')).toBe(2);
    expect(input.pools[0]!.workers.map((w) => w.operations)).toEqual([100, 101]);
  });

  it('does not query the collector for a listed pool it does not know', () => {
    const c = fakeCollector(data);
    const input = collectPrometheusInput({ collector: c, pools: [{ name: 'new', status: () => status('new', ['starting']) }] });
    expect(input.pools.map((p) => p.name)).toEqual(['a', 'new']);
    expect(c.calls.get('getTotals')).toBe(1);
    expect(renderPrometheus(input)).toContain('dspex_pool_workers{pool="new",state="starting"} 1');
  });

  it('survives sources that throw: the failing parts are left out', () => {
    const boom = (): never => {
      throw new Error('boom');
    };
    const c: CollectorQueries = { ...fakeCollector(data), getTotals: boom, getLatencyHistogram: boom, getErrorTotals: boom };
    const text = renderPrometheus(
      collectPrometheusInput({
        collector: c,
        pools: [{ name: 'a', status: boom }],
        resources: { getResources: boom },
        alerts: boom,
      }),
    );
    expect(text).toContain('dspex_pool_operations_total{pool="a",command="echo",result="ok"} 4');
    expect(text).not.toContain('dspex_pool_checkouts_total');
    expect(text).not.toContain('dspex_node_');
    const allThrow = { pools: boom } as unknown as CollectorQueries;
    expect(renderPrometheus(collectPrometheusInput({ collector: allThrow, pools: boom }))).toBe('');
  });

  it('resolves two pools of one name (a stopped one and its successor) to the running one', () => {
    const c = fakeCollector({});
    const old = { name: 'x', status: () => status('x', [], { lifecycle: 'stopped', queueDepth: 0 }) };
    const cur = { name: 'x', status: () => status('x', ['idle'], { lifecycle: 'running' }) };
    for (const pools of [[old, cur], [cur, old]]) {
      const r = resolvePools({ collector: c, pools });
      expect(r).toHaveLength(1);
      expect(r[0]!.status?.lifecycle).toBe('running');
    }
    const text = renderPrometheus(collectPrometheusInput({ collector: c, pools: () => [old, cur] }));
    expect(text.match(/^dspex_pool_up\{/gm)).toHaveLength(1);
  });
});
