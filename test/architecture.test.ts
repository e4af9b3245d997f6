/**
 * The pipeline is the architecture: each folder of src/ is one stage and imports only from the
 * stages below it (and from contract/, the leaf of shared types). This test reads every import in
 * src/ and fails on an import cycle (between files) or an import that goes up a stage, so the
 * layout in docs/MONITORING_GUIDE.md ("Architecture") cannot silently rot.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../src', import.meta.url));

/**
 * What each stage may import (besides itself). Top-level files (the entry points index.ts,
 * prometheus.ts, testing.ts) may import anything.
 */
const ALLOWED: Record<string, readonly string[]> = {
  contract: [],
  util: [],
  telemetry: ['contract'],
  pool: ['contract', 'telemetry'],
  metrics: ['contract', 'telemetry'],
  resources: ['contract', 'telemetry'],
  exporters: ['contract', 'telemetry', 'metrics', 'resources'],
  dashboard: ['contract', 'util'],
  testing: ['contract', 'metrics', 'resources', 'dashboard', 'util'],
  advisor: ['contract', 'telemetry'],
  // alerts/channels uses the pool's default logger (a bounded stderr pino).
  alerts: ['contract', 'telemetry', 'pool'],
  config: ['contract', 'telemetry', 'pool', 'metrics', 'resources', 'exporters', 'dashboard', 'advisor', 'alerts'],
  demo: ['contract', 'util', 'pool'],
  otel: ['contract', 'telemetry'],
  fleet: ['contract', 'util', 'telemetry', 'pool', 'metrics', 'exporters'],
  bench: ['contract', 'util', 'telemetry', 'pool', 'metrics', 'resources', 'exporters', 'dashboard', 'config', 'demo', 'otel', 'advisor', 'fleet', 'alerts'],
  soak: ['contract', 'util', 'telemetry', 'pool', 'metrics', 'resources', 'exporters', 'config', 'demo', 'alerts'],
  cli: ['contract', 'util', 'telemetry', 'pool', 'metrics', 'resources', 'exporters', 'dashboard', 'config', 'demo', 'bench', 'advisor', 'fleet', 'alerts', 'soak'],
};

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (name.endsWith('.ts')) out.push(path);
  }
  return out;
}

/** Relative imports of a file (static `import … from`, `export … from`, and `import('…')`), as absolute .ts paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)'(\.{1,2}\/[^']+)'/g)].map((m) => m[1] as string);
  return specs.map((s) => resolve(dirname(file), s.replace(/\.js$/, '.ts')));
}

const stageOf = (file: string): string | null => {
  const rel = relative(SRC, file);
  return rel.includes('/') ? (rel.split('/')[0] as string) : null;
};

const files = sourceFiles(SRC);
const graph = new Map(files.map((f) => [f, importsOf(f)]));

describe('architecture', () => {
  it('every relative import resolves to a file in src/', () => {
    const missing = [...graph].flatMap(([f, deps]) => deps.filter((d) => !graph.has(d)).map((d) => `${relative(SRC, f)} → ${relative(SRC, d)}`));
    expect(missing).toEqual([]);
  });

  it('every folder of src/ is a known stage', () => {
    const stages = new Set(files.map(stageOf).filter((s): s is string => s !== null));
    expect([...stages].filter((s) => !(s in ALLOWED))).toEqual([]);
  });

  it('no stage imports from a stage above it', () => {
    const violations: string[] = [];
    for (const [file, deps] of graph) {
      const from = stageOf(file);
      if (from === null) continue;
      for (const dep of deps) {
        const to = stageOf(dep);
        if (to === null || to === from) continue;
        if (!(ALLOWED[from] ?? []).includes(to)) violations.push(`${relative(SRC, file)} → ${relative(SRC, dep)}`);
      }
    }
    expect(violations).toEqual([]);
  });

  it('contract/ imports nothing of ours', () => {
    const bad = [...graph].filter(([f, deps]) => stageOf(f) === 'contract' && deps.some((d) => stageOf(d) !== 'contract'));
    expect(bad.map(([f]) => relative(SRC, f))).toEqual([]);
  });

  it('there is no import cycle between files', () => {
    // Tarjan's strongly connected components; any component with more than one file is a cycle.
    let index = 0;
    const idx = new Map<string, number>();
    const low = new Map<string, number>();
    const onStack = new Set<string>();
    const stack: string[] = [];
    const cycles: string[][] = [];
    const visit = (v: string): void => {
      idx.set(v, index);
      low.set(v, index);
      index++;
      stack.push(v);
      onStack.add(v);
      for (const w of graph.get(v) ?? []) {
        if (!graph.has(w)) continue;
        if (!idx.has(w)) {
          visit(w);
          low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
        } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) as number, idx.get(w) as number));
      }
      if (low.get(v) === idx.get(v)) {
        const component: string[] = [];
        let w: string;
        do {
          w = stack.pop() as string;
          onStack.delete(w);
          component.push(relative(SRC, w));
        } while (w !== v);
        if (component.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(component.sort());
      }
    };
    for (const f of files) if (!idx.has(f)) visit(f);
    expect(cycles).toEqual([]);
  });

  it('no file in src/ exceeds 600 lines unless it says why (a "size:" note in its header)', () => {
    const long = files
      .map((f) => ({ f, text: readFileSync(f, 'utf8') }))
      .filter(({ text }) => text.split('\n').length > 600 && !/^\s*\*\s*size:/m.test(text.slice(0, 3000)))
      .map(({ f, text }) => `${relative(SRC, f)} (${text.split('\n').length} lines)`);
    expect(long).toEqual([]);
  });
});
