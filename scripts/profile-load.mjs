// Load to profile the pool's hot path (issue 18, "Hot paths"): a pool of 2 workers, 8 callers of
// `echo` (80-byte payload) for MS milliseconds after 500 ms of warm-up, with the full
// createMonitoring stack (ARM=full) or nothing subscribed (ARM=none). Prints throughput, Node CPU
// per call (user / system) and the CPU of each Node thread (main thread first; the others are
// V8's and libuv's helpers), from /proc/self/task.
//
// Run after `npm run build`:
//   node --cpu-prof --cpu-prof-name=full.cpuprofile scripts/profile-load.mjs full 4000
//   node scripts/cpu-profile-top.mjs full.cpuprofile 30
import { readdirSync, readFileSync } from 'node:fs';
import { SessionPool, createMonitoring } from '../dist/index.js';

const arm = process.argv[2] ?? 'full';
const ms = Number(process.argv[3] ?? 4000);
const logger = { debug() {}, info() {}, warn() {}, error() {} };
const pool = new SessionPool({ name: 'profile-load', size: 2, logger, healthCheckIntervalMs: 0 });
await pool.start();
const monitoring = arm === 'full' ? await createMonitoring({ pools: [pool], server: { port: 0 }, configFile: false, env: false }) : null;
const payload = { text: 'x'.repeat(80) };
const run = async (d) => {
  let n = 0;
  const end = performance.now() + d;
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (performance.now() < end) {
      await pool.executeAnonymous('echo', payload);
      n++;
    }
  }));
  return n;
};
await run(500);
const c0 = process.cpuUsage();
const n = await run(ms);
const c = process.cpuUsage(c0);
console.log(`${arm}: ${Math.round(n / (ms / 1000))} ops/s, Node CPU per call ${(c.user / n).toFixed(1)} µs user + ${(c.system / n).toFixed(1)} µs system`);
const threads = [];
for (const t of readdirSync('/proc/self/task')) {
  try {
    const s = readFileSync(`/proc/self/task/${t}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    threads.push({ tid: Number(t), cpuMs: (Number(f[11]) + Number(f[12])) * 10 });
  } catch {
    // the thread ended
  }
}
threads.sort((a, b) => (a.tid === process.pid ? -1 : b.tid === process.pid ? 1 : b.cpuMs - a.cpuMs));
console.log('thread CPU ms since start (main first):', threads.filter((t) => t.cpuMs > 0).map((t) => t.cpuMs).join(', '));
await monitoring?.stop();
await pool.stop();
