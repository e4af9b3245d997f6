/** Bad numeric options of the monitoring classes throw a typed error naming the option (no silent clamping, no NaN later). */
import { describe, expect, it } from 'vitest';
import { MetricsCollector, ResourceMonitor } from '../../src/index.js';
import { thrownBridgeError as optionError } from '../helpers/errors.js';

describe('options of the monitoring classes', () => {
  it('ResourceMonitor', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ intervalMs: 5 }, 'intervalMs'],
      [{ intervalMs: Number.NaN }, 'intervalMs'],
      [{ trendWindowMs: 0 }, 'trendWindowMs'],
      [{ trendCapacity: 1 }, 'trendCapacity'],
      [{ eventLoopResolutionMs: '10' }, 'eventLoopResolutionMs'],
      [{ scanRecheckTicks: 0.5 }, 'scanRecheckTicks'],
      [{ clockTicksPerS: -100 }, 'clockTicksPerS'],
      [{ pageSizeBytes: 100 }, 'pageSizeBytes'],
    ];
    for (const [opts, option] of cases) {
      const err = optionError(() => new ResourceMonitor(opts));
      expect([err.code, err.details.option], JSON.stringify(opts)).toEqual(['DSPEX_INVALID_REQUEST_INVALID_OPTIONS', option]);
    }
    const ok = new ResourceMonitor({ intervalMs: 1000, unref: true });
    ok.stop();
  });

  it('MetricsCollector', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ maxPools: 0 }, 'maxPools'],
      [{ forgetAfterS: Infinity }, 'forgetAfterS'],
      [{ limits: { maxCommands: 0 } }, 'limits.maxCommands'],
      [{ limits: { maxWorkerSlots: 5000 } }, 'limits.maxWorkerSlots'],
      [{ limits: { maxErrorTypes: 1.5 } }, 'limits.maxErrorTypes'],
    ];
    for (const [opts, option] of cases) {
      const err = optionError(() => new MetricsCollector(opts));
      expect([err.code, err.details.option], JSON.stringify(opts)).toEqual(['DSPEX_INVALID_REQUEST_INVALID_OPTIONS', option]);
    }
    expect(() => new MetricsCollector({ limits: { maxCommands: 8 } })).not.toThrow();
  });
});
