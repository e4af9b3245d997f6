/**
 * Issue 14: "an alert while degraded". A collector over its memory cap sheds detail; the default
 * DspexMonitoringDegraded rule fires on it (an info alert: figures are coarser, nothing is lost).
 */
import { afterEach, expect, it } from 'vitest';
import { ManualClock } from '../../src/contract/clock.js';
import { MetricsCollector } from '../../src/metrics/metrics-collector.js';
import { AlertManager } from '../../src/alerts/alert-manager.js';
import { defaultAlertRules } from '../../src/alerts/default-rules.js';
import type { OperationContext } from '../../src/telemetry/telemetry.js';

const T0 = 1_700_000_040_000;
const stops: (() => unknown)[] = [];
afterEach(async () => {
  for (const s of stops.splice(0)) await s();
});

function ctx(command: string, workerId: number, durationNs: number): OperationContext {
  return { pool: 'capped', command, sessionId: null, workerId, pid: 1000 + workerId, timestampMs: T0, queueWaitNs: 1000, durationNs };
}

it('DspexMonitoringDegraded fires while the collector sheds detail under its memory cap', () => {
  const clock = new ManualClock(T0);
  const collector = new MetricsCollector({ clock, memoryCapBytes: 64 * 1024 });
  collector.start();
  stops.push(() => collector.stop());
  const rules = defaultAlertRules().filter((r) => r.name === 'DspexMonitoringDegraded');
  expect(rules).toHaveLength(1);
  const alerts = new AlertManager({ collector, rules, clock, intervalMs: 1000 });
  stops.push(() => alerts.stop());
  expect(alerts.evaluate(clock.nowMs()).filter((t) => t.to === 'firing')).toEqual([]);
  // Wide traffic (many commands and workers, well-filled sketches) until the cap bites.
  for (let s = 0; s < 30 && collector.degradation === 0; s++) {
    for (let i = 0; i < 400; i++) collector.recordOperation(ctx(`cmd${i % 40}`, i % 16, 1000 * 1.5 ** (i % 40)));
    clock.advance(1000);
    collector.tick();
  }
  expect(collector.degradation).toBeGreaterThan(0);
  const fired = alerts.evaluate(clock.nowMs()).filter((t) => t.to === 'firing');
  expect(fired.map((t) => t.rule)).toEqual(['DspexMonitoringDegraded']);
  expect(alerts.snapshotAlerts()).toContainEqual(expect.objectContaining({ name: 'DspexMonitoringDegraded', severity: 'info' }));
});
