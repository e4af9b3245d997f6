/**
 * Where a call's time goes (issue 19), for the header (pure): the mean queue wait, bridge and
 * Python shares of the window's calls, `q 40µs | bridge 310µs | py 50ms (99% py)`.
 *
 * @module
 */
import type { WindowSummary } from '../contract/metrics.js';
import { painter } from './ansi.js';
import { formatUs } from './format.js';

/** The means of the split over a window, µs; `pythonShare` is Python's part of the three, 0..1. */
export interface TimingSplit {
  queueWaitUs: number;
  bridgeUs: number;
  pythonUs: number;
  pythonShare: number;
  /** Operations whose reply carried a timing. */
  timedOps: number;
}

/** The split of a window, or null when no call of it carried a timing (or the producer predates it). */
export function timingSplit(w: WindowSummary): TimingSplit | null {
  const py = w.pythonUs;
  const br = w.bridgeUs;
  if (py === undefined || br === undefined || py.count === 0) return null;
  const total = w.queueWaitUs.mean + br.mean + py.mean;
  return { queueWaitUs: w.queueWaitUs.mean, bridgeUs: br.mean, pythonUs: py.mean, pythonShare: total > 0 ? py.mean / total : 0, timedOps: py.count };
}

/** The split as one header fact; `''` when there is none. */
export function formatTimingSplit(w: WindowSummary | null, color: boolean): string {
  const s = w === null ? null : timingSplit(w);
  if (s === null) return '';
  const paint = painter(color);
  const sep = paint('gray', ' | ');
  return `${paint('gray', 'q')} ${formatUs(s.queueWaitUs)}${sep}${paint('gray', 'bridge')} ${formatUs(s.bridgeUs)}${sep}${paint('gray', 'py')} ${paint('bold', formatUs(s.pythonUs))} ${paint('gray', `(${Math.round(s.pythonShare * 100)}% py)`)}`;
}
