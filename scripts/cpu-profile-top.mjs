// The functions with the most self time in a .cpuprofile (node --cpu-prof), and the same by file.
// Usage: node scripts/cpu-profile-top.mjs FILE.cpuprofile [rows=30]
import { readFileSync } from 'node:fs';

const p = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const rowsWanted = Number(process.argv[3] ?? 30);
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const short = (url) => url.replace(/.*\/(dist|node_modules)\//, '$1/');
const self = new Map();
const byFile = new Map();
for (const id of p.samples) {
  const f = byId.get(id).callFrame;
  const k = `${f.functionName || '(anonymous)'} ${short(f.url)}:${f.lineNumber + 1}`;
  self.set(k, (self.get(k) ?? 0) + 1);
  const file = short(f.url) || f.functionName;
  byFile.set(file, (byFile.get(file) ?? 0) + 1);
}
const total = p.samples.length;
const print = (m) => {
  for (const [k, c] of [...m].sort((a, b) => b[1] - a[1]).slice(0, rowsWanted)) console.log(`${((100 * c) / total).toFixed(1).padStart(5)}%  ${k}`);
};
console.log(`${total} samples over ${((p.endTime - p.startTime) / 1e6).toFixed(1)} s; self time by function:`);
print(self);
console.log('\nself time by file:');
print(byFile);
