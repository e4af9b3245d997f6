// @ts-check
/**
 * Number and time formatting of the web dashboard. Pure functions, no DOM: the page imports them
 * and test/dashboard/web-pure.test.ts runs them under Node.
 *
 * @module
 */

/**
 * A duration in microseconds, with a unit chosen for it: `850 µs`, `12.3 ms`, `1.50 s`.
 * @param {number} us
 * @returns {string}
 */
export function formatUs(us) {
  if (!Number.isFinite(us)) return '–';
  if (us < 1000) return `${Math.round(us)} µs`;
  if (us < 1e6) return `${trim(us / 1000)} ms`;
  return `${(us / 1e6).toFixed(2)} s`;
}

/**
 * Three significant digits at most, without trailing zeros past the point: 12.3, 123, 1.05.
 * @param {number} v
 * @returns {string}
 */
export function trim(v) {
  if (!Number.isFinite(v)) return '–';
  const a = Math.abs(v);
  if (a >= 100) return String(Math.round(v));
  if (a >= 10) return v.toFixed(1).replace(/\.0$/, '');
  return v.toFixed(2).replace(/\.?0+$/, '');
}

/**
 * A rate per second: `0`, `12.3`, `1,234`.
 * @param {number} v
 * @returns {string}
 */
export function formatRate(v) {
  if (!Number.isFinite(v)) return '–';
  if (v >= 1000) return Math.round(v).toLocaleString('en-US');
  return trim(v);
}

/**
 * A ratio 0..1 as a percentage: `0%`, `0.25%`, `12.5%`, `100%`.
 * @param {number} r
 * @returns {string}
 */
export function formatPercent(r) {
  if (!Number.isFinite(r)) return '–';
  const p = r * 100;
  if (p === 0) return '0%';
  if (p < 0.01) return '<0.01%';
  return `${trim(p)}%`;
}

/**
 * Bytes in binary units: `512 B`, `1.5 KiB`, `230 MiB`, `2.1 GiB`.
 * @param {number} b
 * @returns {string}
 */
export function formatBytes(b) {
  if (!Number.isFinite(b)) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = b;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${Math.round(v)} B` : `${trim(v)} ${units[i]}`;
}

/**
 * An age in milliseconds, coarse: `45 s`, `3 min`, `2 h 5 min`, `3 d`.
 * @param {number} ms
 * @returns {string}
 */
export function formatAge(ms) {
  if (!Number.isFinite(ms) || ms < 0) return '–';
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return m % 60 === 0 ? `${h} h` : `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d`;
}

/**
 * A wall-clock time of day, local, `HH:MM:SS`.
 * @param {number} ms
 * @returns {string}
 */
export function formatClock(ms) {
  const d = new Date(ms);
  const two = (/** @type {number} */ n) => String(n).padStart(2, '0');
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}
