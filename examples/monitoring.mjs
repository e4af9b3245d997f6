// Monitoring in your own service, in one call: metrics, resources, alerts and a Prometheus
// endpoint on loopback, configured from defaults, ./dspex.config.json or DSPEX_CONFIG, DSPEX_*
// variables and the options given here. `npm run build && node examples/monitoring.mjs`
import { SessionPool, createMonitoring } from 'dspex';

const pool = new SessionPool({ name: 'api', size: 2 });
await pool.start();
const monitoring = await createMonitoring({ pools: [pool], server: { port: 0 } }); // 127.0.0.1, a free port

await Promise.all(Array.from({ length: 200 }, (_, i) => pool.executeAnonymous('echo', { i })));
await new Promise((r) => setTimeout(r, 1100)); // let the current second rotate into the windows

const summary = monitoring.collector.getPerformanceSummary('api').windows['1m'];
console.log(`ops ${summary.ops}, p50 ${summary.latencyUs.p50.toFixed(0)} µs, p99 ${summary.latencyUs.p99.toFixed(0)} µs, health ${summary.healthScore}`);
const text = await (await fetch(`${monitoring.url}/metrics`)).text();
console.log(text.split('\n').find((l) => l.startsWith('dspex_pool_operations_total')));
const health = await (await fetch(`${monitoring.url}/api/health`)).json();
console.log(`stack ${health.status}: ${health.components.map((c) => `${c.name} ${c.state}`).join(', ')}`);

await monitoring.stop(); // every timer, socket and subscription it made
await pool.stop();
