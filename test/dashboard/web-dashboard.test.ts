/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * The web dashboard in a real browser (Debian's Chromium driven by playwright-core) against a real
 * pool under load: the page fills from /api/range, follows /api/events, shows the figures the API
 * reports, switches windows, sorts the worker table, sees a killed worker replaced, reconnects
 * after the server restarts, and asks for the bearer token (wrong, then right). Screenshots, light
 * and dark, 1280×800 and 400 px wide, go to test-results/web-dashboard/ for a person to look at.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionPool } from '../../src/index.js';
import { MonitoringServer, type MonitoringServerOptions } from '../../src/exporters/index.js';
import { MetricsCollector } from '../../src/metrics/index.js';
import { ResourceMonitor } from '../../src/resources/index.js';
import { LoadGenerator } from '../../src/demo/load.js';
import type { MonitoringSnapshot, SnapshotAlert, SnapshotRecommendation } from '../../src/contract/snapshot.js';
import type { TuningRecord } from '../../src/contract/advice.js';
import type { MetricsRange } from '../../src/contract/metrics.js';
import { startPool, stopAll } from '../helpers/pools.js';
import { expectNoLeakedWorkers } from '../helpers/processes.js';

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = fileURLToPath(new URL('../../test-results/web-dashboard/', import.meta.url));
const TOKEN = 'web-test-token-7f3a';

// What the alerting and advisor stages will put in the snapshot: the page renders what it gets.
const alerts: SnapshotAlert[] = [
  { name: 'high_error_rate', severity: 'warning', pool: null, message: 'error rate 5.1% over 1m (threshold 2%)', sinceMs: Date.now() - 95_000 },
];
const recommendations: SnapshotRecommendation[] = [
  {
    title: 'Grow pool from 3 to 4 workers',
    detail: 'Workers were busy 92% of the last 5 minutes and calls waited in the queue.',
    score: 0.72,
    kind: 'grow_pool',
    priority: 72,
    evidence: { window: '5m', coveredS: 300, figures: { utilization: 0.92, queueWaitP99Us: 41_000 }, math: ['L = λ·W = 120/s × 0.027 s = 3.2 calls in the system', 'workers ≈ L ÷ 0.8 = 4'] },
    action: { kind: 'resize', size: 4 },
  },
];

// What an auto-tuner's history looks like in the snapshot (createMonitoring fills it from its tuners).
const tuning: TuningRecord[] = [
  {
    id: 2, pool: 'p', parameter: 'size', from: 4, to: 6, recommendationId: 'grow_pool:p', reason: 'Grow pool', appliedAtMs: Date.now() - 70_000, status: 'rolled_back',
    baseline: { latencyP99Us: 9000, errorRate: 0, throughputPerS: 200, ops: 12_000 }, observed: { latencyP99Us: 15_000, errorRate: 0, throughputPerS: 190, ops: 11_000 }, concludedAtMs: Date.now() - 10_000, outcome: 'p99 +67% (9 ms → 15 ms)',
  },
  {
    id: 1, pool: 'p', parameter: 'size', from: 3, to: 4, recommendationId: 'grow_pool:p', reason: 'Grow pool', appliedAtMs: Date.now() - 400_000, status: 'kept',
    baseline: { latencyP99Us: 20_000, errorRate: 0, throughputPerS: 150, ops: 9000 }, observed: { latencyP99Us: 9000, errorRate: 0, throughputPerS: 200, ops: 12_000 }, concludedAtMs: Date.now() - 340_000, outcome: null,
  },
];

describe('web dashboard in Chromium', () => {
  let pool: SessionPool;
  let collector: MetricsCollector;
  let resources: ResourceMonitor;
  let load: LoadGenerator;
  let server: MonitoringServer;
  let context: BrowserContext;
  let profile: string;
  const problems: string[] = [];
  let sources: MonitoringServerOptions;

  beforeAll(async () => {
    collector = new MetricsCollector();
    collector.start();
    pool = await startPool({ size: 3 });
    collector.trackPool(pool);
    resources = new ResourceMonitor({ pools: [pool], intervalMs: 500, scanProcesses: false });
    resources.start();
    load = new LoadGenerator(pool, { opsPerS: 120, maxInFlight: 16, errorRatio: 0.05, crashRatio: 0, slowRatio: 0.05 });
    load.start();
    sources = { collector, pools: [pool], resources, alerts: () => alerts, recommendations: () => recommendations, tuning: () => tuning, port: 0 };
    server = new MonitoringServer(sources);
    await server.start();
    profile = mkdtempSync(join(tmpdir(), 'dspex-chromium-'));
    mkdirSync(SHOTS, { recursive: true });
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 800 },
      // Without the background-networking switches Chromium's own connections are refused here.
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    context.on('console', (m) => {
      // Failed loads are expected here (401 before the token, refused connections while the server
      // restarts); anything else logged as an error, and any CSP report, is a defect.
      if ((m.type() === 'error' && !/^Failed to load resource/.test(m.text())) || /Content Security Policy/i.test(m.text())) problems.push(`console: ${m.text()}`);
    });
  }, 30_000);

  afterAll(async () => {
    load?.stop();
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    await server?.stop();
    resources?.stop();
    collector?.stop();
    await stopAll();
    await expectNoLeakedWorkers();
  }, 30_000);

  async function openPage(url: string): Promise<Page> {
    const page = await context.newPage();
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    await page.goto(url);
    return page;
  }

  const snapshotMs = (page: Page): Promise<number> => page.evaluate(() => Number(document.documentElement.dataset.snapshotMs ?? 0));

  /** Wait until the page shows a snapshot taken after `ms`. */
  async function waitForTickAfter(page: Page, ms: number): Promise<void> {
    await page.waitForFunction((t) => Number(document.documentElement.dataset.snapshotMs ?? 0) > t, ms, { timeout: 10_000 });
  }

  async function api<T>(path: string, token?: string): Promise<T> {
    const res = await fetch(`${server.url}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    expect(res.status, path).toBe(200);
    return (await res.json()) as T;
  }

  it('shows live charts, the worker table and the panels; switches window; sorts; sees a killed worker; reconnects', async () => {
    const page = await openPage(`${server.url}/`);
    expect(new URL(page.url()).pathname).toBe('/dashboard');
    await page.waitForSelector('#conn[data-state="live"]');
    // History from /api/range, then live points: wait for a few seconds of data with operations.
    await page.waitForFunction(() => Number(document.getElementById('c-throughput')?.dataset.points) >= 10 && document.querySelectorAll('#workers tbody tr[data-slot]').length === 3, null, { timeout: 15_000 });
    // Wait for the first errors to show in the error chart's header (5% of calls fail).
    await page.waitForFunction(() => /python/.test(document.getElementById('h-errors')?.textContent ?? ''), null, { timeout: 10_000 });

    // Every chart drew a canvas; the panels carry what the snapshot carries.
    for (const id of ['c-throughput', 'c-latency', 'c-errors', 'c-util', 'c-hist']) expect(await page.locator(`#${id} canvas`).count(), id).toBeGreaterThan(0);
    await expect.poll(() => page.locator('#alerts li').first().textContent()).toContain('high_error_rate');
    expect(await page.locator('#recs li').first().textContent()).toMatch(/Grow pool from 3 to 4 workers.*score 0\.72.*L = λ·W = 120\/s.*utilization: 0\.92.*window 5m, 300 s covered/s);
    expect(await page.locator('#gauges [role="meter"]').count()).toBeGreaterThanOrEqual(6);
    // The auto-tuner's steps under the recommendations, newest first; a rollback is marked.
    expect(await page.locator('#tuning').isVisible()).toBe(true);
    expect(await page.locator('#tuning li').allTextContents()).toEqual([
      expect.stringMatching(/^size 4 → 6 rolled back · pool p · \d+ s ago.*p99 \+67% \(9 ms → 15 ms\) · for grow_pool:p$/),
      expect.stringMatching(/^size 3 → 4 kept · pool p · 5 min ago.*for grow_pool:p$/),
    ]);
    expect(await page.locator('#tuning li').first().getAttribute('class')).toBe('sev-warning');

    // Screenshots: light and dark, wide and narrow (full page, so every panel is on them).
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      for (const [w, h] of [[1280, 800], [400, 800]] as const) {
        await page.setViewportSize({ width: w, height: h });
        await waitForTickAfter(page, await snapshotMs(page));
        await page.waitForTimeout(150); // one resize of the charts
        await page.screenshot({ path: join(SHOTS, `dashboard-${scheme}-${w}.png`), fullPage: true });
      }
    }
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.emulateMedia({ colorScheme: 'light' });

    // The figures are the API's: the chart's newest second equals /api/range for that second.
    await page.click('#pause');
    expect(await page.getAttribute('#pause', 'aria-pressed')).toBe('true');
    await page.waitForSelector('#conn[data-state="paused"]');
    const last = JSON.parse((await page.getAttribute('#c-throughput', 'data-last')) ?? '[]') as number[];
    const lat = JSON.parse((await page.getAttribute('#c-latency', 'data-last')) ?? '[]') as (number | null)[];
    const util = JSON.parse((await page.getAttribute('#c-util', 'data-last')) ?? '[]') as number[];
    const [t, throughput] = last as [number, number];
    const range = await api<MetricsRange>(`/api/range?pool=${encodeURIComponent(pool.name)}&from=${t * 1000}&to=${t * 1000 + 1000}`);
    const point = range.points.find((p) => p.timestampMs === t * 1000)!;
    expect(point).toBeDefined();
    expect(throughput).toBe(point.throughputPerS);
    expect(lat.slice(1)).toEqual([point.latencyP50Us, point.latencyP90Us, point.latencyP99Us].map((v) => (point.ops > 0 ? v : null)));
    expect(util.slice(1)).toEqual([point.utilization, point.queueDepth]);
    await page.click('#pause');
    await page.waitForSelector('#conn[data-state="live"]');

    // The worker table shows the status's lifetime counts once the load stops (they no longer move).
    load.stop();
    await new Promise((r) => setTimeout(r, 300)); // the calls in flight finish (sleeps are <= 250 ms)
    const quiet = Date.now();
    await waitForTickAfter(page, quiet + 100);
    const snap = await api<MonitoringSnapshot>('/api/snapshot?window=1m');
    const workers = snap.pools.find((p) => p.name === pool.name)!.status!.workers;
    await waitForTickAfter(page, snap.timestampMs);
    const rows = await page.$$eval('#workers tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    expect(rows.map((r) => [r[0], r[2], r[3], r[4], r[8]])).toEqual(workers.map((w) => [String(w.id), String(w.pid), w.operations.toLocaleString('en-US'), w.errors.toLocaleString('en-US'), String(w.generation)]));
    expect(await page.locator('[data-figure="pool"] .v').textContent()).toBe(`${pool.name} (running)`);
    load.start();

    // Window switch: history for 5 minutes is asked for and the stream reopened with the window.
    const [rangeReq, eventsReq] = await Promise.all([
      page.waitForRequest((r) => r.url().includes('/api/range')),
      page.waitForRequest((r) => r.url().includes('/api/events?window=5m')),
      page.click('label:has(input[value="5m"])'),
    ]);
    const q = new URL(rangeReq.url()).searchParams;
    expect(Number(q.get('to')) - Number(q.get('from'))).toBe(300_000);
    expect(eventsReq.url()).toContain('points=5');
    await page.waitForFunction(() => document.documentElement.dataset.window === '5m' && /over 5m/.test(document.getElementById('h-throughput')?.textContent ?? ''));

    // Sorting: by PID ascending, then descending (aria-sort follows).
    const pids = async (): Promise<number[]> => (await page.$$eval('#workers tbody tr', (trs) => trs.map((tr) => Number(tr.getAttribute('data-pid')))));
    await page.click('#workers th[data-key="pid"] button');
    expect(await page.getAttribute('#workers th[data-key="pid"]', 'aria-sort')).toBe('ascending');
    let seen = await pids();
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    await page.focus('#workers th[data-key="pid"] button');
    await page.keyboard.press('Enter'); // keyboard reachable
    expect(await page.getAttribute('#workers th[data-key="pid"]', 'aria-sort')).toBe('descending');
    seen = await pids();
    expect(seen).toEqual([...seen].sort((a, b) => b - a));

    // Kill a worker: its slot shows a new pid and one more restart.
    const victim = pool.status().workers[1]!;
    process.kill(victim.pid, 'SIGKILL');
    await page.waitForFunction(
      ([slot, pid, gen]) => {
        const tr = document.querySelector(`#workers tr[data-slot="${slot}"]`);
        const cells = tr ? [...tr.querySelectorAll('td')].map((td) => td.textContent) : [];
        return tr !== null && tr.getAttribute('data-pid') !== String(pid) && Number(tr.getAttribute('data-pid')) > 0 && Number(cells[8]) === gen + 1;
      },
      [victim.id, victim.pid, victim.generation] as const,
      { timeout: 15_000 },
    );

    // Stop the server: the page says since when it is disconnected; restart it: the page is live again.
    const port = server.port;
    await server.stop();
    await page.waitForSelector('#conn[data-state="disconnected"]', { timeout: 10_000 });
    expect(await page.textContent('#conn')).toMatch(/^disconnected since \d\d:\d\d:\d\d/);
    server = new MonitoringServer({ ...sources, port });
    await server.start();
    const back = Date.now();
    await page.waitForSelector('#conn[data-state="live"]', { timeout: 10_000 });
    await waitForTickAfter(page, back);
    expect(await page.locator('#workers tbody tr[data-slot]').count()).toBe(3);
    await page.close();

    expect(problems).toEqual([]);
  }, 60_000);

  it('asks for the token once, refuses a wrong one, keeps the right one in sessionStorage only', async () => {
    const guarded = new MonitoringServer({ ...sources, token: TOKEN });
    await guarded.start();
    try {
      const page = await openPage(`${guarded.url}/dashboard`);
      await page.waitForSelector('#auth:not([hidden])');
      expect(await page.isHidden('#main')).toBe(true);
      await page.fill('#auth-token', 'not-the-token');
      await page.press('#auth-token', 'Enter');
      await page.waitForFunction(() => /refused/.test(document.getElementById('auth-msg')?.textContent ?? ''));
      expect(await page.isVisible('#auth')).toBe(true);
      await page.fill('#auth-token', TOKEN);
      await page.click('#auth button[type="submit"]');
      await page.waitForSelector('#conn[data-state="live"]');
      await page.waitForFunction(() => document.querySelectorAll('#workers tbody tr[data-slot]').length === 3);
      expect(await page.evaluate(() => sessionStorage.getItem('dspex.dashboard.token'))).toBe(TOKEN);
      expect(page.url()).not.toContain(TOKEN);
      // A reload in the same tab needs no new entry.
      await page.reload();
      await page.waitForSelector('#conn[data-state="live"]');
      expect(await page.isHidden('#auth')).toBe(true);
      await page.close();
    } finally {
      await guarded.stop();
    }
    expect(problems).toEqual([]);
  }, 30_000);
});
