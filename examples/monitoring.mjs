// Monitoring in your own service: metrics, resources and a Prometheus endpoint on loopback.
// `npm run build && node examples/monitoring.mjs`
import { SessionPool, MetricsCollector, ResourceMonitor, MonitoringServer } from 'dspex';

const collector = new MetricsCollector();
collector.start(); // subscribes to the dspex:* channels
const pool = new SessionPool({ name: 'api', size: 2 });
collector.trackPool(pool); // gauges: size, busy, idle, queue
await pool.start();
const resources = new ResourceMonitor({ pools: [pool], intervalMs: 1000 });
resources.start();
const server = new MonitoringServer({ collector, pools: [pool], resources, port: 0 }); // 127.0.0.1, a free port
await server.start();

await Promise.all(Array.from({ length: 200 }, (_, i) => pool.executeAnonymous('echo', { i })));
await new Promise((r) => setTimeout(r, 1100)); // let the current second rotate into the windows

const summary = collector.getPerformanceSummary('api').windows['1m'];
console.log(`ops ${summary.ops}, p50 ${summary.latencyUs.p50.toFixed(0)} µs, p99 ${summary.latencyUs.p99.toFixed(0)} µs, health ${summary.healthScore}`);
const text = await (await fetch(`${server.url}/metrics`)).text();
console.log(text.split('\n').find((l) => l.startsWith('dspex_pool_operations_total')));

await server.stop();
await pool.stop();
resources.stop();
collector.stop();
