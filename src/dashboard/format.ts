/**
 * Number formatting for the dashboard (pure): compact, unit-suffixed, fixed small widths.
 *
 * @module
 */

/** A compact count or rate: `0`, `12`, `12.5`, `1.2k`, `34k`, `1.2M`. */
export function formatCompact(value: number): string {
  if (!Number.isFinite(value)) return '—';
  const abs = Math.abs(value);
  const sign = value < 0 ? '-' : '';
  if (abs >= 1e9) return sign + trim(abs / 1e9) + 'G';
  if (abs >= 1e6) return sign + trim(abs / 1e6) + 'M';
  if (abs >= 1e3) return sign + trim(abs / 1e3) + 'k';
  if (abs === 0) return '0';
  if (abs >= 100) return sign + abs.toFixed(0);
  if (abs >= 10) return sign + stripZero(abs.toFixed(1));
  if (abs >= 0.01) return sign + stripZero(abs.toFixed(2));
  return sign + abs.toPrecision(1);
}

function trim(v: number): string {
  return v >= 100 ? v.toFixed(0) : v >= 10 ? stripZero(v.toFixed(1)) : stripZero(v.toFixed(1));
}

function stripZero(s: string): string {
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}

/** A duration given in microseconds: `850µs`, `1.2ms`, `35ms`, `1.5s`, `12s`, `2.0m`. */
export function formatUs(us: number): string {
  if (!Number.isFinite(us) || us < 0) return '—';
  if (us < 1) return us === 0 ? '0µs' : '<1µs';
  if (us < 1000) return `${Math.round(us)}µs`;
  const ms = us / 1000;
  if (ms < 10) return `${stripZero(ms.toFixed(1))}ms`;
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${stripZero(s.toFixed(s < 10 ? 2 : 1))}s`;
  return `${stripZero((s / 60).toFixed(1))}m`;
}

/** Bytes in binary units: `512B`, `12KiB` shown as `12K`, `1.5M`, `2.1G`. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '—';
  const units = ['B', 'K', 'M', 'G', 'T'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  if (u === 0) return `${Math.round(v)}B`;
  return `${v >= 100 ? v.toFixed(0) : stripZero(v.toFixed(1))}${units[u] ?? ''}`;
}

/** A ratio 0..1 as a percentage: `0%`, `<0.01%`, `0.42%`, `1.2%`, `45%`. */
export function formatPercent(ratio: number): string {
  if (!Number.isFinite(ratio)) return '—';
  const p = ratio * 100;
  if (p === 0) return '0%';
  if (Math.abs(p) < 0.01) return p > 0 ? '<0.01%' : '>-0.01%';
  if (Math.abs(p) < 1) return `${stripZero(p.toFixed(2))}%`;
  if (Math.abs(p) < 10) return `${stripZero(p.toFixed(1))}%`;
  return `${Math.round(p)}%`;
}

/** An uptime: `45s`, `12m03s`, `3h07m`, `2d04h`. */
export function formatUptime(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d${String(h % 24).padStart(2, '0')}h`;
}

/** A relative time before now, for chart axes: `now`, `-30s`, `-2m30s`, `-5m`, `-1h`. */
export function formatAgo(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s <= 0) return 'now';
  if (s < 60) return `-${s}s`;
  const m = Math.floor(s / 60);
  const rs = s % 60;
  if (m < 60) return rs === 0 ? `-${m}m` : `-${m}m${String(rs).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  const rm = m % 60;
  return rm === 0 ? `-${h}h` : `-${h}h${String(rm).padStart(2, '0')}m`;
}

/** The wall clock of a timestamp, local time: `14:03:22`. */
export function formatClock(timestampMs: number): string {
  const d = new Date(timestampMs);
  if (Number.isNaN(d.getTime())) return '--:--:--';
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** The smallest of 1, 2, 2.5, 5 × 10^k at or above `value` (at least `floor`), for chart scales. */
export function niceCeil(value: number, floor: number): number {
  const v = Math.max(value, floor);
  if (!Number.isFinite(v) || v <= 0) return floor > 0 ? floor : 1;
  const exp = Math.pow(10, Math.floor(Math.log10(v)));
  const f = v / exp;
  const nf = f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10;
  return nf * exp;
}

/** The few fields of a tuning step its one-line form reads (a `TuningRecord` fits). */
export interface TuningStepLike {
  pool: string;
  parameter: string;
  from: number;
  to: number;
  status: 'validating' | 'kept' | 'rolled_back' | 'reverted' | 'failed';
  appliedAtMs: number;
  concludedAtMs: number | null;
  outcome: string | null;
}

/**
 * One auto-tuner step as a line: `pool: size 2 → 4 kept (-2m)`, `… rolled back (-30s): p99 …`
 * (the why last: a narrow panel cuts it, not the when). Its time is when it concluded, or when it
 * was applied while it validates. Pure.
 */
export function formatTuningStep(r: TuningStepLike, nowMs: number): string {
  const how = r.status === 'rolled_back' ? 'rolled back' : r.status === 'reverted' ? 'reverted by hand' : r.status;
  const why = (r.status === 'rolled_back' || r.status === 'failed') && r.outcome ? `: ${r.outcome}` : '';
  return `${r.pool}: ${r.parameter} ${r.from} → ${r.to} ${how} (${formatAgo(nowMs - (r.concludedAtMs ?? r.appliedAtMs))})${why}`;
}
