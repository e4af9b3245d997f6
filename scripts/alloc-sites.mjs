// Where the Node heap allocation of one pool call goes (issue 18, "Hot paths"): V8's sampling heap
// profiler, with the objects later collected by minor and major GCs kept in the profile, over
// 20,000 sequential `executeInSession` echo calls after 5,000 to warm up. Prints the sampled bytes
// per call and the allocation sites (function <- caller) by bytes per call.
//
// Arms: none (nothing subscribed), noop (one no-op subscriber on the operation tracing channel:
// the cost of being traced at all), full (createMonitoring: collector, resources, alerts, advisor,
// server).
//
// Run after `npm run build`:  node scripts/alloc-sites.mjs [none|noop|full] [sites=25]
import { Session } from 'node:inspector/promises';
import { SessionPool, createMonitoring } from '../dist/index.js';
import { operationChannel } from '../dist/telemetry/telemetry.js';

const arm = process.argv[2] ?? 'full';
const top = Number(process.argv[3] ?? 25);
const N = 20_000;
const logger = { debug() {}, info() {}, warn() {}, error() {} };
const pool = new SessionPool({ name: 'alloc-sites', size: 2, logger, healthCheckIntervalMs: 0 });
await pool.start();
if (arm === 'noop') operationChannel.subscribe({ start() {}, end() {}, asyncStart() {}, asyncEnd() {}, error() {} });
const monitoring = arm === 'full' ? await createMonitoring({ pools: [pool], server: { port: 0 }, configFile: false, env: false }) : null;
const payload = { text: 'x'.repeat(80) };
for (let i = 0; i < 5000; i++) await pool.executeInSession('s1', 'echo', payload);

const session = new Session();
session.connect();
await session.post('HeapProfiler.startSampling', { samplingInterval: 256, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
for (let i = 0; i < N; i++) await pool.executeInSession('s1', 'echo', payload);
const { profile } = await session.post('HeapProfiler.stopSampling');
session.disconnect();

const sites = new Map();
let total = 0;
const name = (cf) => `${cf.functionName || '(anonymous)'} ${cf.url.split('/').slice(-2).join('/')}:${cf.lineNumber + 1}`;
const walk = (node, parent) => {
  const me = name(node.callFrame);
  total += node.selfSize;
  if (node.selfSize > 0) {
    const key = parent ? `${me}  <- ${parent}` : me;
    sites.set(key, (sites.get(key) ?? 0) + node.selfSize);
  }
  for (const child of node.children) walk(child, me);
};
walk(profile.head, '');
console.log(`${arm}: ${Math.round(total / N)} B sampled per call (${N} calls)`);
for (const [site, bytes] of [...sites].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(String(Math.round(bytes / N)).padStart(6), 'B/call', site);
await monitoring?.stop();
await pool.stop();
