/**
 * The collector's clock lives in src/contract/clock.ts with the other clocks; this module keeps
 * the metrics stage's import path.
 *
 * @module
 */
export { ManualClock, systemClock, type MetricsClock } from '../contract/clock.js';
