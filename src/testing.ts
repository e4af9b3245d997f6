/**
 * `dspex/testing`: what tests of code that uses dspex need — a manual clock for the collector's
 * windows, sample monitoring snapshots for dashboards and consumers, and leak checks for Python
 * workers.
 *
 * @module
 */
export { ManualClock, type MetricsClock } from './contract/clock.js';
export { sampleSnapshot, emptySnapshot, type SampleOptions } from './dashboard/sample.js';
export { workerPids, waitForNoWorkers, type WaitForNoWorkersOptions } from './testing/leaks.js';
