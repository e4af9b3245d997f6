/**
 * The documented examples run as written (README usage → examples/quickstart.mjs; the guide's
 * monitoring setup → examples/monitoring.mjs; its OpenTelemetry section → examples/otel.mjs), importing the built package by its name.
 */
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const run = (file: string): string => execFileSync(process.execPath, [file], { cwd: root, encoding: 'utf8', timeout: 30_000, stdio: ['ignore', 'pipe', 'pipe'] });

describe('examples', () => {
  it('quickstart: a custom module, a session, a typed timeout', () => {
    expect(existsSync(`${root}/dist/index.js`), 'run `npm run build` first').toBe(true);
    const out = run('examples/quickstart.mjs');
    expect(out).toContain('predict: {"label":"positive","score":0.1}');
    expect(out).toContain('remember: ["lang"]');
    expect(out).toContain('error: timeout operation');
  });

  it('monitoring: createMonitoring, a scrape of /metrics and /api/health', () => {
    const out = run('examples/monitoring.mjs');
    expect(out).toMatch(/ops 200, p50 \d+ µs, p99 \d+ µs, health \d+/);
    expect(out).toContain('dspex_pool_operations_total{pool="api",command="echo",result="ok"} 200');
    expect(out).toMatch(/stack (healthy|degraded): collector \w+, resources \w+, alerts running, advisor running, server running/);
  });

  it('otel: a span per call under the request span, the trace id in Python, the metrics', () => {
    const out = run('examples/otel.mjs');
    expect(out).toContain('span: dspex.execute traced_model.predict parent: GET /predict same trace: true');
    const traceId = /python saw trace id: true ([0-9a-f]{32})/.exec(out)?.[1];
    expect(traceId).toBeDefined();
    // Python's own log line (stderr, through the pool's logger) carries the span's trace id.
    expect(out).toContain(`python log: INFO trace_id=${traceId} predict 10 chars`);
    expect(out).toContain('dspex.operation.duration count: 1 unit: s');
    expect(out).toContain('instruments: dspex.operation.duration dspex.operations dspex.pool.busy dspex.pool.size dspex.queue.depth dspex.queue.wait_time');
  });
});
