/**
 * The metrics reference of docs/MONITORING_GUIDE.md is generated from the code, between markers;
 * this test fails when it drifts. Regenerate: `DSPEX_UPDATE_DOCS=1 npx vitest run test/docs/metrics-reference.test.ts`.
 *
 * - `prometheus-families`: every family of `FAMILIES` (src/exporters/prometheus.ts) with its type,
 *   its unit (the Prometheus naming convention: the base unit is the name's suffix), the labels
 *   `buildFamilies` really writes (read from its output for an input that exercises every family)
 *   and its help text; plus the `dspex_user_<name>` families of Python code.
 * - `collector-fields`: every field of the collector's `WindowSummary`, `PoolGauges` and
 *   `PoolTotals` (read from src/contract/metrics.ts with the TypeScript parser: name, type, TSDoc),
 *   with its unit and its Prometheus counterpart. The counterparts are written here; each names
 *   only real families, and each one-to-one counterpart (a family, maybe with one label) is checked
 *   against what `buildFamilies` exports for a value set in the field.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { buildFamilies, FAMILIES, FAMILY_NAMES, USER_FAMILY_PREFIX, type MetricFamily, type PoolExport, type PrometheusInput } from '../../src/exporters/prometheus.js';
import type { PoolGauges, PoolTotals } from '../../src/contract/metrics.js';
import { histogram, pyProc, resourceSample, status, totals } from '../exporters/fixtures.js';

const GUIDE = fileURLToPath(new URL('../../docs/MONITORING_GUIDE.md', import.meta.url));
const CONTRACT = fileURLToPath(new URL('../../src/contract/metrics.ts', import.meta.url));

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** The unit of a family, from its name's suffix (Prometheus: base units, `_total` for counts). Pure. */
export function familyUnit(name: string): string {
  if (name.endsWith('_seconds') || name.endsWith('_seconds_total')) return 'seconds';
  if (name.endsWith('_bytes')) return 'bytes';
  if (name.endsWith('_ratio')) return 'ratio 0..1';
  if (name.endsWith('_cores')) return 'cores';
  if (name.endsWith('_up')) return '0 or 1';
  return 'count';
}

/** A PrometheusInput in which every family of FAMILIES gets samples (so its labels can be read). */
export function everyFamilyInput(): PrometheusInput {
  const h = histogram([1, 2, 3], 0.01);
  const pool = (name: string, withStatus: boolean): PoolExport => ({
    name,
    status: withStatus ? status(name, ['idle', 'busy'], { spares: { target: 1, ready: 1, starting: 0, workers: [] } }) : null,
    gauges: withStatus ? null : { size: 2, busy: 1, idle: 1, starting: 0, queueDepth: 0, utilization: 0.5, spares: 0 },
    totals: totals({ operations: 6, errors: 1, workerRecycles: { max_calls: 1 } }),
    errorTotals: [{ category: 'python', type: 'ValueError', count: 1 }],
    commandTotals: [{ command: 'm.predict', operations: 6, errors: 1 }],
    operationHistograms: [{ command: 'm.predict', histogram: h }],
    queueWaitHistogram: h,
    pythonHistograms: [{ command: 'm.predict', histogram: h }],
    bridgeHistograms: [{ command: 'm.predict', histogram: h }],
    userMetrics: [],
    workers: [{ workerId: 0, operations: 6, errors: 1 }],
  });
  return {
    pools: [pool('a', true), pool('b', false)],
    resources: resourceSample([pyProc({ pool: 'a', workerId: 0 }), pyProc({ pid: 2001, pool: null, workerId: null, orphan: true })]),
    alerts: [{ name: 'DspexHighErrorRate', severity: 'warning', pool: 'a', message: 'm', sinceMs: 1 }],
  };
}

/** Labels whose values are a fixed set written by the exporter: the table lists the values. */
const CLOSED_LABELS = new Set(['result', 'state', 'stat', 'alertstate']);

/** Label names (and values of the closed ones) per family, from what buildFamilies writes. Pure. */
export function labelsOf(families: readonly MetricFamily[]): Map<string, Map<string, Set<string>>> {
  const out = new Map<string, Map<string, Set<string>>>();
  for (const f of families) {
    const labels = out.get(f.name) ?? new Map<string, Set<string>>();
    out.set(f.name, labels);
    for (const s of f.samples) {
      for (const [name, value] of s.labels) {
        if (name === 'le') continue;
        const values = labels.get(name) ?? new Set<string>();
        labels.set(name, values);
        values.add(value);
      }
    }
  }
  return out;
}

/** The family table, one row per family in exposition order, then the user families. Pure. */
export function familyTable(): string {
  const labels = labelsOf(buildFamilies(everyFamilyInput()));
  const rows = FAMILY_NAMES.map((name) => {
    const l = labels.get(name);
    const shown = l === undefined || l.size === 0 ? '—' : [...l].map(([n, v]) => (CLOSED_LABELS.has(n) ? `\`${n}\` (${[...v].map((x) => `\`${x}\``).join(', ')})` : `\`${n}\``)).join(', ');
    return `| \`${name}\` | ${FAMILIES[name].type} | ${familyUnit(name)} | ${shown} | ${cell(FAMILIES[name].help)} |`;
  });
  rows.push(`| \`${USER_FAMILY_PREFIX}<name>\` | counter, gauge or histogram | as recorded | \`pool\`, then the metric's own labels | Recorded by Python code through \`import dspex\` (see "Inside Python"). |`);
  return ['| family | type | unit | labels | meaning |', '|---|---|---|---|---|', ...rows, ''].join('\n');
}

/** One field of a contract interface: name, type as written, TSDoc text. */
export interface ContractField {
  name: string;
  type: string;
  doc: string;
  optional: boolean;
}

/** The fields of the named interfaces of a TypeScript source, in declaration order (TypeScript's parser). Pure. */
export function interfaceFields(source: string, names: readonly string[]): Map<string, ContractField[]> {
  const file = ts.createSourceFile('metrics.ts', source, ts.ScriptTarget.ES2022, true);
  const out = new Map<string, ContractField[]>();
  file.forEachChild((node) => {
    if (!ts.isInterfaceDeclaration(node) || !names.includes(node.name.text)) return;
    const fields: ContractField[] = [];
    for (const m of node.members) {
      if (!ts.isPropertySignature(m) || !ts.isIdentifier(m.name)) continue;
      const docs = ts.getJSDocCommentsAndTags(m).filter(ts.isJSDoc);
      const doc = docs.map((d) => (typeof d.comment === 'string' ? d.comment : (d.comment ?? []).map((c) => c.text).join(''))).join(' ');
      fields.push({ name: m.name.text, type: m.type?.getText(file) ?? '', doc: doc.replace(/\s+/g, ' ').trim(), optional: m.questionToken !== undefined });
    }
    out.set(node.name.text, fields);
  });
  return out;
}

/** Where each table of the collector fields comes from: the interface and the query that returns it. */
const COLLECTOR_PARTS = [
  { iface: 'WindowSummary', query: '`getPerformanceSummary(pool).windows[w]`, `getWindowSummary(pool, w)`; `/api/snapshot`: `pools[i].summary.windows[w]`' },
  { iface: 'PoolGauges', query: '`getCurrentMetrics(pool).gauges`, sampled once a second; `/api/snapshot`: `pools[i].current.gauges`' },
  { iface: 'PoolTotals', query: '`getTotals(pool)`, `getCurrentMetrics(pool).totals`: lifetime counters; `/api/snapshot`: `pools[i].current.totals`' },
] as const;

/**
 * The Prometheus counterpart of each field (`[5m]` stands for the window). A counterpart that is
 * one family in backticks, maybe with one `label="value"`, is the same figure and is checked
 * against the exporter's output; an expression is how to get the figure in PromQL.
 */
const COUNTERPART: Record<string, string> = {
  'WindowSummary.window': '—',
  'WindowSummary.coveredS': '—',
  'WindowSummary.ops': '`sum(increase(dspex_pool_operations_total[5m]))`',
  'WindowSummary.errors': '`sum(increase(dspex_pool_operations_total{result="error"}[5m]))`',
  'WindowSummary.throughputPerS': '`sum(rate(dspex_pool_operations_total[5m]))`',
  'WindowSummary.errorRate': 'errors ÷ ops of the two lines above',
  'WindowSummary.latencyUs': '`histogram_quantile(0.99, sum by (le) (rate(dspex_pool_operation_duration_seconds_bucket[5m])))` (seconds; buckets step 1-2.5-5, so coarser than the sketch)',
  'WindowSummary.queueWaitUs': '`dspex_pool_queue_wait_seconds` (histogram), likewise',
  'WindowSummary.pythonUs': '`dspex_pool_python_duration_seconds` (histogram), likewise',
  'WindowSummary.bridgeUs': '`dspex_pool_bridge_overhead_seconds` (histogram), likewise',
  'WindowSummary.utilization': '`avg_over_time(dspex_pool_utilization_ratio[5m])` (sampled per scrape, not per second)',
  'WindowSummary.queueDepthAvg': '`avg_over_time(dspex_pool_queue_depth[5m])` (likewise)',
  'WindowSummary.healthScore': '— (not exported: the snapshot, the dashboards and the `pool.healthScore` alert signal)',
  'WindowSummary.workerCrashes': '`increase(dspex_pool_worker_crashes_total[5m])`',
  'PoolGauges.size': '`dspex_pool_size`',
  'PoolGauges.busy': '`dspex_pool_workers{state="busy"}`',
  'PoolGauges.idle': '`dspex_pool_workers{state="idle"}`',
  'PoolGauges.starting': '`dspex_pool_workers{state="starting"}`',
  'PoolGauges.queueDepth': '`dspex_pool_queue_depth`',
  'PoolGauges.utilization': '`dspex_pool_utilization_ratio`',
  'PoolGauges.spares': '`dspex_pool_spares`',
  'PoolTotals.operations': '`sum(dspex_pool_operations_total)` (by `command`, `result`)',
  'PoolTotals.errors': '`sum(dspex_pool_operations_total{result="error"})`',
  'PoolTotals.checkouts': '`dspex_pool_checkouts_total`',
  'PoolTotals.queueRejections': '`dspex_pool_queue_rejections_total`',
  'PoolTotals.workerCrashes': '`dspex_pool_worker_crashes_total`',
  'PoolTotals.workerRestarts': '`dspex_pool_worker_restarts_total`',
  'PoolTotals.healthCheckFailures': '`dspex_pool_health_check_failures_total`',
  'PoolTotals.sessionMoves': '`dspex_session_moves_total`',
  'PoolTotals.workerRecycles': '`dspex_pool_worker_recycles_total` (by `reason`)',
};

/** The unit of a collector field, from its type, its name's suffix (our naming rule) and its TSDoc. Pure. */
export function fieldUnit(f: ContractField): string {
  if (f.type === 'LatencySummaryUs') return 'µs (count, min, mean, p50, p90, p95, p99, p999, max)';
  if (f.type === 'WindowName') return '`1m`, `5m` or `15m`';
  if (f.name.endsWith('PerS')) return 'per second';
  if (f.name.endsWith('S') && f.type === 'number') return 'seconds';
  if (f.type.startsWith('Record<string')) return 'count by reason';
  if (f.doc.includes('0..100')) return 'score 0..100';
  if (f.doc.includes('0..1')) return 'ratio 0..1';
  return 'count';
}

const contractFields = (): Map<string, ContractField[]> => interfaceFields(readFileSync(CONTRACT, 'utf8'), COLLECTOR_PARTS.map((p) => p.iface));

/** The collector-field tables, one per interface, in declaration order. Pure apart from reading the contract. */
export function collectorTable(): string {
  const fields = contractFields();
  const out: string[] = [];
  for (const part of COLLECTOR_PARTS) {
    out.push(`**\`${part.iface}\`**: ${part.query}`, '', '| field | unit | meaning | Prometheus |', '|---|---|---|---|');
    for (const f of fields.get(part.iface) ?? []) {
      const doc = f.doc === '' ? '—' : cell(f.doc);
      out.push(`| \`${f.name}\` | ${fieldUnit(f)} | ${doc} | ${cell(COUNTERPART[`${part.iface}.${f.name}`] ?? '?')} |`);
    }
    out.push('');
  }
  return out.join('\n');
}

function between(text: string, marker: string): string | null {
  const m = new RegExp(`<!-- ${marker}:start -->\\n([\\s\\S]*?)<!-- ${marker}:end -->`).exec(text);
  return m ? m[1]! : null;
}

const tables = { 'prometheus-families': familyTable, 'collector-fields': collectorTable };

if (process.env['DSPEX_UPDATE_DOCS'] === '1') {
  let text = readFileSync(GUIDE, 'utf8');
  for (const [marker, make] of Object.entries(tables)) text = text.replace(new RegExp(`(<!-- ${marker}:start -->\\n)[\\s\\S]*?(<!-- ${marker}:end -->)`), (_m, a: string, b: string) => `${a}${make()}${b}`);
  writeFileSync(GUIDE, text);
}

/** The value buildFamilies exports for `family{label="value"}` of pool `pool`. */
function exported(families: readonly MetricFamily[], pool: string, family: string, label?: readonly [string, string]): number | undefined {
  const f = families.find((x) => x.name === family);
  const s = f?.samples.find((x) => x.labels.some(([n, v]) => n === 'pool' && v === pool) && (label === undefined || x.labels.some(([n, v]) => n === label[0] && v === label[1])));
  return s?.value;
}

describe('the metrics reference of docs/MONITORING_GUIDE.md', () => {
  const guide = readFileSync(GUIDE, 'utf8');

  it('the input exercises every family, so every row shows the labels really written', () => {
    const written = new Set(buildFamilies(everyFamilyInput()).map((f) => f.name));
    expect(FAMILY_NAMES.filter((n) => !written.has(n))).toEqual([]);
    const labels = labelsOf(buildFamilies(everyFamilyInput()));
    expect([...labels.get('dspex_pool_operations_total')!.keys()]).toEqual(['pool', 'command', 'result']);
    expect([...labels.get('dspex_node_rss_bytes')!.keys()]).toEqual([]);
  });

  it('the family table is the one generated from FAMILIES and the exporter', () => {
    const t = familyTable();
    expect(t.split('\n').length).toBe(FAMILY_NAMES.length + 4);
    expect(t).toContain('| `dspex_pool_queue_wait_seconds` | histogram | seconds | `pool` |');
    expect(between(guide, 'prometheus-families'), 'markers prometheus-families:start/end').toBe(t);
  });

  it('reads every field of the contract, with its TSDoc, and every field has a counterpart (both ways)', () => {
    const fields = contractFields();
    expect(interfaceFields('/** A. */\ninterface X {\n  /** the a. */\n  a: number;\n  b?: string;\n}\n', ['X']).get('X')).toEqual([
      { name: 'a', type: 'number', doc: 'the a.', optional: false },
      { name: 'b', type: 'string', doc: '', optional: true },
    ]);
    const keys = COLLECTOR_PARTS.flatMap((p) => (fields.get(p.iface) ?? []).map((f) => `${p.iface}.${f.name}`));
    expect(keys.length).toBeGreaterThanOrEqual(30);
    expect(keys.sort()).toEqual(Object.keys(COUNTERPART).sort());
    const undocumented = COLLECTOR_PARTS.flatMap((p) => (fields.get(p.iface) ?? []).filter((f) => f.doc === '').map((f) => `${p.iface}.${f.name}`));
    expect(undocumented, 'fields without TSDoc in src/contract/metrics.ts').toEqual([]);
  });

  it('every counterpart names real families; the one-to-one ones export the field itself', () => {
    for (const [key, text] of Object.entries(COUNTERPART)) {
      for (const m of text.matchAll(/dspex_\w+/g)) expect(FAMILY_NAMES, `${key}: ${m[0]}`).toContain(m[0].replace(/_(bucket|sum|count)$/, ''));
    }
    // Distinct values in every field, through the collector-gauges path (no status) of the exporter.
    const t: PoolTotals = { operations: 1, errors: 2, checkouts: 3, queueRejections: 4, workerCrashes: 5, workerRestarts: 6, healthCheckFailures: 7, sessionMoves: 8, workerRecycles: { manual: 9 } };
    const g: Required<PoolGauges> = { size: 11, busy: 12, idle: 13, starting: 14, queueDepth: 15, utilization: 0.16, spares: 17 };
    const input: PrometheusInput = { pools: [{ ...everyFamilyInput().pools[1]!, name: 'x', totals: t, gauges: g }], resources: null, alerts: [] };
    const families = buildFamilies(input);
    let checked = 0;
    for (const [key, text] of Object.entries(COUNTERPART)) {
      const m = /^`(dspex_\w+)(?:\{(\w+)="(\w+)"\})?`$/.exec(text);
      if (!m) continue;
      const [iface, field] = key.split('.') as ['PoolGauges' | 'PoolTotals', string];
      const value = (iface === 'PoolGauges' ? g : t)[field as keyof typeof g & keyof typeof t];
      expect(exported(families, 'x', m[1]!, m[2] === undefined ? undefined : [m[2], m[3]!]), key).toBe(value);
      checked++;
    }
    expect(checked).toBeGreaterThanOrEqual(12);
    expect(exported(families, 'x', 'dspex_pool_worker_recycles_total', ['reason', 'manual'])).toBe(9);
  });

  it('the collector-field tables are the ones generated from the contract', () => {
    const t = collectorTable();
    expect(t).toContain('| `throughputPerS` | per second |');
    expect(t).toContain('| `errorRate` | ratio 0..1 |');
    expect(between(guide, 'collector-fields'), 'markers collector-fields:start/end').toBe(t);
  });
});
