// The monitoring server's CPU with 10 web dashboards open (issue 15: "the page costs the server
// little"). One Node process runs a pool under load, the collector, the resource monitor and the
// server; Chromium (Debian's, via playwright-core) opens PAGES dashboards. The Node process's CPU
// (process.cpuUsage) is measured over SECONDS with no page open, then with the pages open, in the
// same run; the difference is what the pages cost the server.
//
// Run after `npm run build`:  node scripts/dashboard-cpu.mjs [pages=10] [seconds=20]
import { chromium } from 'playwright-core';
import { MetricsCollector, MonitoringServer, ResourceMonitor, SessionPool } from '../dist/index.js';
import { LoadGenerator } from '../dist/demo/load.js';

const PAGES = Number(process.argv[2] ?? 10);
const SECONDS = Number(process.argv[3] ?? 20);

const collector = new MetricsCollector();
collector.start();
const pool = new SessionPool({ name: 'cpu-bench', size: 2 });
await pool.start();
collector.trackPool(pool);
const resources = new ResourceMonitor({ pools: [pool], intervalMs: 1000 });
resources.start();
const load = new LoadGenerator(pool, { opsPerS: 100, maxInFlight: 16, errorRatio: 0.02, crashRatio: 0 });
load.start();
const server = new MonitoringServer({ collector, pools: [pool], resources, port: 0 });
await server.start();

/** CPU of this process over `s` seconds, percent of one core. */
async function cpuPercent(s) {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, s * 1000));
  const c = process.cpuUsage(c0);
  const wallUs = Number(process.hrtime.bigint() - t0) / 1000;
  return (100 * (c.user + c.system)) / wallUs;
}

await new Promise((r) => setTimeout(r, 3000)); // warm up
const baseline = await cpuPercent(SECONDS);

// launch() runs Chromium on a fresh temporary profile. One context per page: a browser profile
// keeps at most 6 HTTP/1.1 connections per host, and each open dashboard holds one (its stream),
// so 10 tabs of one profile would leave 4 waiting (see docs/MONITORING_GUIDE.md, Web dashboard).
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const pages = [];
for (let i = 0; i < PAGES; i++) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(`${server.url}/dashboard`);
  await page.waitForSelector('#conn[data-state="live"]');
  pages.push(page);
}
await new Promise((r) => setTimeout(r, 3000));
const sse = server.sseClientCount;
const withPages = await cpuPercent(SECONDS);

await browser.close();
load.stop();
await server.stop();
resources.stop();
collector.stop();
await pool.stop();
const out = { pages: PAGES, sseClients: sse, seconds: SECONDS, serverCpuPercentNoPages: +baseline.toFixed(2), serverCpuPercentWithPages: +withPages.toFixed(2), costPercentOfOneCore: +(withPages - baseline).toFixed(2) };
console.log(JSON.stringify(out));
