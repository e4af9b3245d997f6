/**
 * Integration with a real Prometheus server (Debian's `prometheus`), on loopback with a temporary
 * config and data directory: it scrapes our endpoint (with the bearer token) every second, loads
 * the alerting rules, and its HTTP API must report the pool's own operation count. Every dashboard
 * and rule query is run through its query engine.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { expectNoLeakedWorkers, isZombieOrGone } from '../helpers/processes.js';
import { freePort } from '../../src/util/free-port.js';
import { requireTool, startStack, type Stack } from './helpers.js';
import { RULES, dashboardExprs, ruleExprs } from './artifacts.js';

const TOKEN = 'prom-scrape-token-42';

interface QueryResult {
  status: string;
  error?: string;
  data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
}

describe('a real Prometheus scraping the monitoring server', () => {
  let stack: Stack;
  let dir = '';
  let prom: ChildProcess | null = null;
  let promUrl = '';
  let promLog = '';
  let expected = 0;

  async function query(q: string): Promise<QueryResult> {
    const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(q)}`);
    return (await res.json()) as QueryResult;
  }

  beforeAll(async () => {
    requireTool('prometheus');
    stack = await startStack({ resources: true, server: { token: TOKEN } });
    // Load, then stop it: the count is final before Prometheus looks.
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < 300; i++) {
      calls.push(i % 10 === 0 ? stack.pool.executeAnonymous('fail', { type: 'ValueError', message: 'x' }).catch(() => null) : stack.pool.executeAnonymous('echo', { i }));
    }
    await Promise.all(calls);
    expected = stack.pool.status().workers.reduce((a, w) => a + w.operations, 0);

    dir = mkdtempSync(join(tmpdir(), 'dspex-prom-'));
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    const target = new URL(stack.server.url).host;
    writeFileSync(
      join(dir, 'prometheus.yml'),
      [
        'global:',
        '  scrape_interval: 1s',
        '  evaluation_interval: 1s',
        'rule_files:',
        `  - ${JSON.stringify(RULES)}`,
        'scrape_configs:',
        '  - job_name: dspex',
        '    authorization:',
        `      credentials: ${JSON.stringify(TOKEN)}`,
        '    static_configs:',
        `      - targets: [${JSON.stringify(target)}]`,
        '',
      ].join('\n'),
    );
    prom = spawn(
      'prometheus',
      [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    prom.stdout!.on('data', (c: Buffer) => (promLog += c.toString()));
    prom.stderr!.on('data', (c: Buffer) => (promLog = (promLog + c.toString()).slice(-20_000)));
    await vi.waitFor(
      async () => {
        expect(prom!.exitCode, `prometheus exited:\n${promLog}`).toBeNull();
        const res = await fetch(`${promUrl}/-/ready`);
        expect(res.status).toBe(200);
      },
      { timeout: 20_000, interval: 100 },
    );
  });

  afterAll(async () => {
    if (prom && prom.exitCode === null && prom.signalCode === null) {
      prom.kill('SIGKILL');
      await new Promise((r) => prom!.once('exit', r));
    }
    await stack?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
    await expectNoLeakedWorkers();
  });

  it('reports dspex_pool_operations_total equal to the pool\'s own count', async () => {
    expect(expected).toBe(300);
    const q = `dspex_pool_operations_total{pool="${stack.pool.name}"}`;
    await vi.waitFor(
      async () => {
        const r = await query(q);
        expect(r.status).toBe('success');
        const sum = r.data!.result.reduce((a, s) => a + Number(s.value[1]), 0);
        expect(sum, `prometheus log:\n${promLog}`).toBe(expected);
      },
      { timeout: 20_000, interval: 250 },
    );
    const errors = await query(`sum(dspex_pool_operations_total{pool="${stack.pool.name}",result="error"})`);
    expect(Number(errors.data!.result[0]!.value[1])).toBe(30);
    const targets = (await (await fetch(`${promUrl}/api/v1/targets`)).json()) as { data: { activeTargets: { health: string; lastError: string }[] } };
    expect(targets.data.activeTargets).toEqual([expect.objectContaining({ health: 'up', lastError: '' })]);
  });

  it('runs every dashboard and alerting-rule query without error', async () => {
    // Two scrapes at least, so rate() has points.
    await vi.waitFor(
      async () => {
        const r = await query(`count_over_time(dspex_pool_up{pool="${stack.pool.name}"}[1m])`);
        expect(Number(r.data?.result[0]?.value[1] ?? 0)).toBeGreaterThanOrEqual(3);
      },
      { timeout: 20_000, interval: 250 },
    );
    const exprs = [...dashboardExprs().map((d) => ({ where: d.title, expr: d.expr })), ...ruleExprs().map((r) => ({ where: r.alert, expr: r.expr }))];
    for (const { where, expr } of exprs) {
      const q = expr.replaceAll('$__rate_interval', '1m').replaceAll('$pool', '.*');
      const r = await query(q);
      expect(r.status, `${where}: ${r.error ?? ''}`).toBe('success');
    }
    const tput = await query(`sum(rate(dspex_pool_operations_total{pool="${stack.pool.name}"}[1m]))`);
    expect(tput.data!.result).toHaveLength(1);
    const rss = await query(`dspex_python_rss_bytes{pool="${stack.pool.name}"}`);
    expect(rss.data!.result).toHaveLength(2);
    // The rules loaded and evaluate cleanly against our series.
    await vi.waitFor(
      async () => {
        const rules = (await (await fetch(`${promUrl}/api/v1/rules`)).json()) as { data: { groups: { rules: { name: string; health: string; lastError?: string }[] }[] } };
        const all = rules.data.groups.flatMap((g) => g.rules);
        // Every rule of the file (counted there, so adding a rule does not break this test).
        expect(all).toHaveLength((readFileSync(RULES, 'utf8').match(/^\s*- alert: /gm) ?? []).length);
        for (const r of all) expect(r.health, `${r.name}: ${r.lastError ?? ''}`).toBe('ok');
      },
      { timeout: 10_000, interval: 250 },
    );
  });

  it('stops when told to, and is gone', async () => {
    const pid = prom!.pid!;
    const exited = new Promise((r) => prom!.once('exit', r));
    prom!.kill('SIGTERM');
    await exited;
    await vi.waitFor(() => expect(isZombieOrGone(pid)).toBe(true), { timeout: 5000, interval: 50 });
  });
});
