/**
 * Real tools as the judge: promtool checks a real scrape and the alerting rules (and runs the
 * rules' unit tests); the Grafana dashboard is valid and every query names a family a real scrape
 * declares.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { FAMILIES } from '../../src/exporters/index.js';
import { expectNoLeakedWorkers } from '../helpers/processes.js';
import { DASHBOARD, RULES, RULE_TESTS, dashboardExprs, familiesInExpr, ruleExprs, type Panel } from './artifacts.js';
import { declaredFamilies, request, requireTool, run, startStack, sumSamples, type Stack } from './helpers.js';

describe('promtool and Grafana against a real scrape', () => {
  let stack: Stack;
  let scrape = '';

  beforeAll(async () => {
    requireTool('promtool');
    stack = await startStack({
      resources: true,
      server: { alerts: () => [{ name: 'HighErrorRate', severity: 'warning', pool: 'x', message: 'm "quoted"\nline', sinceMs: 1 }] },
    });
    const { pool } = stack;
    await Promise.allSettled([
      ...Array.from({ length: 30 }, (_, i) => pool.executeAnonymous('echo', { i })),
      pool.executeAnonymous('fail', { type: 'Weird"Name', message: 'x' }),
      pool.executeAnonymous('sleep', { ms: 20 }),
      pool.executeAnonymous('crash', {}),
    ]);
    // A planned restart, so the recycle family has a sample too.
    await vi.waitFor(() => expect(pool.status().workers.some((w) => w.state === 'idle')).toBe(true));
    await pool.recycleWorker(pool.status().workers.find((w) => w.state === 'idle')!.id, { reason: 'manual' });
    // Wait for the crashed slot's replacement and a resource sample that lists both workers.
    await vi.waitFor(async () => {
      scrape = (await request(stack.server.url, '/metrics')).body;
      expect(sumSamples(scrape, 'dspex_pool_worker_recycles_total')).toBe(1);
      expect(sumSamples(scrape, 'dspex_pool_worker_restarts_total')).toBeGreaterThanOrEqual(1);
      expect(scrape.match(/^dspex_python_rss_bytes\{/gm)?.length).toBe(2);
    }, { timeout: 15_000, interval: 100 });
  });

  afterAll(async () => {
    await stack?.stop();
    await expectNoLeakedWorkers();
  });

  it('promtool check metrics accepts a real scrape, with no lint findings', async () => {
    expect(scrape).toContain('type="Weird\\"Name"');
    const r = await run('promtool', ['check', 'metrics'], scrape);
    expect(r.stdout + r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('the scrape declares every family dspex knows, with the documented type', () => {
    const declared = declaredFamilies(scrape);
    for (const [name, { type }] of Object.entries(FAMILIES)) expect(declared.get(name), name).toBe(type);
  });

  it('promtool check rules accepts the alerting rules, and their unit tests pass', async () => {
    const check = await run('promtool', ['check', 'rules', RULES]);
    expect(check.stdout + check.stderr).toContain('SUCCESS: 17 rules found');
    expect(check.code).toBe(0);
    const tests = await run('promtool', ['test', 'rules', RULE_TESTS]);
    expect(tests.stdout + tests.stderr).toContain('SUCCESS');
    expect(tests.code).toBe(0);
  });

  it('every alerting rule and dashboard query names families the scrape declares', () => {
    const declared = declaredFamilies(scrape);
    const exprs = [...ruleExprs().map((r) => ({ where: `rule ${r.alert}`, expr: r.expr })), ...dashboardExprs().map((p) => ({ where: `panel ${p.title}`, expr: p.expr }))];
    expect(ruleExprs()).toHaveLength(17);
    for (const { where, expr } of exprs) {
      const names = familiesInExpr(expr);
      // DspexExporterDown watches Prometheus's own `up` series of the scrape job.
      if (where !== 'rule DspexExporterDown') expect(names.length, `${where} queries no dspex family`).toBeGreaterThan(0);
      for (const n of names) expect(declared.has(n), `${where}: ${n}`).toBe(true);
    }
  });
});

describe('grafana/dspex-pool-dashboard.json', () => {
  const dash = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
    panels: Panel[];
    templating: { list: { name: string; type: string; query: unknown; datasource?: { uid: string } }[] };
    __inputs: { name: string; pluginId: string }[];
    uid: string;
    title: string;
  };

  it('uses a datasource variable everywhere, never a hard-coded datasource', () => {
    expect(dash.__inputs).toEqual([expect.objectContaining({ name: 'DS_PROMETHEUS', pluginId: 'prometheus' })]);
    const ds = dash.templating.list.find((v) => v.name === 'DS_PROMETHEUS');
    expect(ds).toMatchObject({ type: 'datasource', query: 'prometheus' });
    for (const p of dash.panels.filter((x) => x.type !== 'row')) {
      expect(p.datasource, p.title).toEqual({ type: 'prometheus', uid: '${DS_PROMETHEUS}' });
      for (const t of p.targets ?? []) expect(t.datasource?.uid, p.title).toBe('${DS_PROMETHEUS}');
    }
    expect(dash.templating.list.find((v) => v.name === 'pool')?.datasource?.uid).toBe('${DS_PROMETHEUS}');
  });

  it('has the panels the issue names, with unique ids', () => {
    const titles = dash.panels.map((p) => p.title);
    for (const t of ['Throughput', 'Latency p50 / p99', 'Error rate', 'Utilization', 'Queue depth', 'Workers by state', 'Python RSS per worker']) {
      expect(titles, t).toContain(t);
    }
    const ids = dash.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(dash.uid).toBe('dspex-pool');
  });
});
