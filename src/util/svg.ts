/**
 * Line charts as standalone SVG documents (pure: data in, a string out), for the soak report's
 * and the scaling benchmark's plots: axes with "nice" ticks, axis labels, a title, a legend and optional dashed reference
 * lines (a bound, the end of the warm-up). No dependency: the report must render on GitHub and in
 * any browser, and the command must produce it offline.
 *
 * @module
 */

/** One line of a chart. */
export interface ChartSeries {
  readonly name: string;
  readonly xs: readonly number[];
  /** Values; non-finite ones leave a gap. */
  readonly ys: readonly number[];
  /** CSS colour; default from a palette. */
  readonly color?: string;
}

/** A dashed reference line. */
export interface ChartMarker {
  readonly axis: 'x' | 'y';
  readonly value: number;
  readonly label: string;
}

/** What {@link lineChartSvg} draws. */
export interface LineChart {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly ChartSeries[];
  readonly markers?: readonly ChartMarker[];
  /** Pixel size; default 720×320. */
  readonly width?: number;
  readonly height?: number;
  /** Start the y axis at zero (default true: memory and latency are read against zero). Ignored on a log axis. */
  readonly yFromZero?: boolean;
  /** Logarithmic x axis (workers 1..64, payload 100 B..10 MB); values ≤ 0 leave a gap. */
  readonly xLog?: boolean;
  /** Logarithmic y axis; values ≤ 0 leave a gap. */
  readonly yLog?: boolean;
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

/** Text safe inside an XML element or attribute. */
export function xmlEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** Round ticks covering `[lo, hi]`: about `count` of them at 1, 2 or 5 × 10^k. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [0, 1];
  if (hi <= lo) hi = lo + (lo === 0 ? 1 : Math.abs(lo) * 0.1);
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].find((m) => m * mag >= raw) ?? 10) * mag;
  const start = Math.floor(lo / step) * step;
  const out: number[] = [];
  for (let v = start; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  if (out.at(-1)! < hi) out.push(Number((out.at(-1)! + step).toPrecision(12)));
  return out;
}

/**
 * Ticks of a logarithmic axis covering `[lo, hi]` (both > 0): each power of ten and, when the
 * range spans fewer than three decades, 2× and 5× of each.
 */
export function logTicks(lo: number, hi: number): number[] {
  if (!(lo > 0) || !(hi > 0) || !Number.isFinite(lo) || !Number.isFinite(hi)) return [1, 10];
  if (hi < lo) [lo, hi] = [hi, lo];
  const a = Math.floor(Math.log10(lo) + 1e-9);
  let b = Math.ceil(Math.log10(hi) - 1e-9);
  if (b === a) b = a + 1;
  const steps = b - a < 3 ? [1, 2, 5] : [1];
  const out: number[] = [];
  for (let k = a; k <= b; k++) for (const m of steps) out.push(Number((m * 10 ** k).toPrecision(12)));
  // Trim ticks beyond the first one below lo and the first one above hi.
  const first = out.findLastIndex((v) => v <= lo * (1 + 1e-9));
  const last = out.findIndex((v) => v >= hi * (1 - 1e-9));
  return out.slice(Math.max(0, first), last < 0 ? out.length : last + 1);
}

/** A tick value as the axis shows it (`1.5`, `20`, `1.2k`). */
export function tickLabel(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e6) return `${Number((v / 1e6).toPrecision(3))}M`;
  if (a >= 1e4) return `${Number((v / 1e3).toPrecision(3))}k`;
  return String(Number(v.toPrecision(3)));
}

const f = (n: number): string => n.toFixed(1);

/** The chart as a complete SVG document (with an XML declaration). */
export function lineChartSvg(c: LineChart): string {
  const W = c.width ?? 720;
  const H = c.height ?? 320;
  const left = 70;
  const right = 20;
  const top = 40;
  const bottom = 70;
  const pw = W - left - right;
  const ph = H - top - bottom;
  // On a log axis a value ≤ 0 has no place: it is left out of the range and drawn as a gap.
  const okX = (v: number): boolean => Number.isFinite(v) && (c.xLog !== true || v > 0);
  const okY = (v: number): boolean => Number.isFinite(v) && (c.yLog !== true || v > 0);
  const allX = c.series.flatMap((s) => s.xs.filter(okX));
  const allY = c.series.flatMap((s) => s.ys.filter(okY));
  for (const m of c.markers ?? []) if (m.axis === 'x' ? okX(m.value) : okY(m.value)) (m.axis === 'x' ? allX : allY).push(m.value);
  const xMin = allX.length ? Math.min(...allX) : c.xLog === true ? 1 : 0;
  const xMax = allX.length ? Math.max(...allX) : c.xLog === true ? 10 : 1;
  const yMin = allY.length ? Math.min(...allY) : c.yLog === true ? 1 : 0;
  const yLo = c.yLog === true || c.yFromZero === false ? yMin : Math.min(0, ...allY);
  const yHi = allY.length ? Math.max(...allY) : c.yLog === true ? 10 : 1;
  const xt = c.xLog === true ? logTicks(xMin, xMax) : niceTicks(xMin, xMax, 6);
  const yt = c.yLog === true ? logTicks(yLo, yHi) : niceTicks(yLo, yHi, 5);
  const tx = c.xLog === true ? Math.log10 : (v: number): number => v;
  const ty = c.yLog === true ? Math.log10 : (v: number): number => v;
  const x0 = tx(xt[0]!);
  const x1 = tx(xt.at(-1)!);
  const y0 = ty(yt[0]!);
  const y1 = ty(yt.at(-1)!);
  const px = (x: number): number => left + ((tx(x) - x0) / (x1 - x0 || 1)) * pw;
  const py = (y: number): number => top + ph - ((ty(y) - y0) / (y1 - y0 || 1)) * ph;

  const out: string[] = [];
  out.push('<?xml version="1.0" encoding="UTF-8"?>');
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${xmlEscape(c.title)}</text>`);
  // Grid and ticks.
  for (const v of yt) {
    const y = f(py(v));
    out.push(`<line x1="${left}" y1="${y}" x2="${left + pw}" y2="${y}" stroke="#e0e0e0"/>`);
    out.push(`<text x="${left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${xmlEscape(tickLabel(v))}</text>`);
  }
  for (const v of xt) {
    const x = f(px(v));
    out.push(`<line x1="${x}" y1="${top}" x2="${x}" y2="${top + ph}" stroke="#f0f0f0"/>`);
    out.push(`<text x="${x}" y="${top + ph + 16}" text-anchor="middle">${xmlEscape(tickLabel(v))}</text>`);
  }
  // Axes and their labels.
  out.push(`<line x1="${left}" y1="${top + ph}" x2="${left + pw}" y2="${top + ph}" stroke="#000"/>`);
  out.push(`<line x1="${left}" y1="${top}" x2="${left}" y2="${top + ph}" stroke="#000"/>`);
  out.push(`<text class="x-label" x="${left + pw / 2}" y="${top + ph + 34}" text-anchor="middle">${xmlEscape(c.xLabel)}</text>`);
  out.push(`<text class="y-label" x="16" y="${top + ph / 2}" text-anchor="middle" transform="rotate(-90 16 ${top + ph / 2})">${xmlEscape(c.yLabel)}</text>`);
  // Reference lines.
  for (const m of c.markers ?? []) {
    if (!(m.axis === 'x' ? okX(m.value) : okY(m.value))) continue;
    if (m.axis === 'x') {
      const x = f(px(m.value));
      out.push(`<line x1="${x}" y1="${top}" x2="${x}" y2="${top + ph}" stroke="#888" stroke-dasharray="4 3"/>`);
      out.push(`<text x="${x}" y="${top - 4}" text-anchor="middle" fill="#555" font-size="11">${xmlEscape(m.label)}</text>`);
    } else {
      const y = f(py(m.value));
      out.push(`<line x1="${left}" y1="${y}" x2="${left + pw}" y2="${y}" stroke="#c00" stroke-dasharray="6 3"/>`);
      out.push(`<text x="${left + pw - 4}" y="${f(py(m.value) - 4)}" text-anchor="end" fill="#c00" font-size="11">${xmlEscape(m.label)}</text>`);
    }
  }
  // Lines (a gap at each non-finite value).
  c.series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length]!;
    let d = '';
    let pen = false;
    const n = Math.min(s.xs.length, s.ys.length);
    for (let k = 0; k < n; k++) {
      const x = s.xs[k]!;
      const y = s.ys[k]!;
      if (!okX(x) || !okY(y)) {
        pen = false;
        continue;
      }
      d += `${pen ? 'L' : 'M'}${f(px(x))} ${f(py(y))}`;
      pen = true;
    }
    if (d !== '') out.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="1.8"><title>${xmlEscape(s.name)}</title></path>`);
  });
  // Legend, one row under the x label.
  let lx = left;
  const ly = H - 12;
  c.series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length]!;
    out.push(`<line x1="${lx}" y1="${ly - 4}" x2="${lx + 18}" y2="${ly - 4}" stroke="${color}" stroke-width="3"/>`);
    out.push(`<text x="${lx + 22}" y="${ly}">${xmlEscape(s.name)}</text>`);
    lx += 32 + s.name.length * 7;
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
