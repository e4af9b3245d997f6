// @ts-check
/**
 * The web dashboard page (served as /dashboard/app.js by the monitoring server). Read-only: it
 * only GETs `/api/snapshot`, `/api/range` and one `/api/events` stream, and nothing it sends can
 * change a pool.
 *
 * Data flow: on load and on every pool / window switch or reconnect, one snapshot (the pool list
 * and the current picture) and `/api/range` (the window's history, so the charts are full at
 * once); then one event stream (`points=5`: each event carries only the newest seconds of each
 * series, merged into the history by second). Rendering is throttled to once a second at most and
 * skipped while paused (data keeps being merged, so resuming shows no gap). The history is
 * bounded by the window (series.js), so an open page does not grow.
 *
 * The token, when the server wants one, is asked for once, kept in sessionStorage (this tab only)
 * and sent as an `Authorization` header: never in a URL.
 *
 * @module
 */
import { formatAge, formatBytes, formatClock, formatPercent, formatRate, formatUs, trim } from './format.js';
import { categoriesSeen, emptyHistory, ERROR_CATEGORIES, headline, histogramBars, mergePoints, sortRows, WINDOW_SECONDS, workerRows } from './series.js';
import { AuthRequired, readEventStream } from './sse.js';

/** @typedef {import('./series.js').WindowName} WindowName */

const TOKEN_KEY = 'dspex.dashboard.token';
const RENDER_EVERY_MS = 1000;
const STALL_MS = 5000;
const MAX_BACKOFF_MS = 3000;
const EVENT_POINTS = 5;

/** @type {any} */
const uPlotLib = /** @type {any} */ (globalThis).uPlot;

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));

const state = {
  /** @type {string | null} */
  token: sessionStorage.getItem(TOKEN_KEY),
  /** @type {WindowName} */
  window: '1m',
  /** @type {string | null} */
  pool: null,
  history: emptyHistory(),
  /** @type {any} */
  snapshot: null,
  paused: false,
  /** @type {{ key: keyof import('./series.js').WorkerRow, dir: 'ascending' | 'descending' }} */
  sort: { key: 'id', dir: 'ascending' },
  /** @type {number | null} */
  disconnectedSinceMs: null,
  live: false,
  lastEventMs: 0,
  lastRenderMs: 0,
  /** @type {ReturnType<typeof setTimeout> | null} */
  renderTimer: null,
  /** @type {AbortController | null} */
  abort: null,
  /** Bumped by every restart: a connection loop of an older generation stops. */
  generation: 0,
  /** @type {string[]} */
  poolNames: [],
};

// ---- the network --------------------------------------------------------------------------

/**
 * GET a JSON route with the token.
 * @param {string} path
 * @param {AbortSignal} signal
 * @returns {Promise<any>}
 */
async function getJson(path, signal) {
  /** @type {Record<string, string>} */
  const headers = { accept: 'application/json' };
  if (state.token !== null) headers.authorization = `Bearer ${state.token}`;
  const res = await fetch(path, { headers, signal, cache: 'no-store', credentials: 'omit', redirect: 'error' });
  if (res.status === 401) throw new AuthRequired();
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
  return res.json();
}

/** Stop the current connection and start over (pool, window or token changed). */
function restart() {
  state.generation++;
  state.abort?.abort();
  state.history = emptyHistory();
  void connect(state.generation);
}

/**
 * The connection loop of one generation: snapshot, history, then the event stream; on any failure
 * mark the page disconnected and retry with a short backoff, until a newer generation starts.
 * @param {number} gen
 */
async function connect(gen) {
  let backoffMs = 1000;
  while (gen === state.generation) {
    const ctrl = new AbortController();
    state.abort = ctrl;
    try {
      const snap = await getJson(`/api/snapshot?window=${state.window}&points=0`, ctrl.signal);
      if (gen !== state.generation) return;
      acceptSnapshot(snap, false);
      if (state.pool !== null) {
        const to = Date.now();
        const from = to - WINDOW_SECONDS[state.window] * 1000;
        const range = await getJson(`/api/range?pool=${encodeURIComponent(state.pool)}&from=${from}&to=${to}`, ctrl.signal);
        if (gen !== state.generation) return;
        state.history = emptyHistory();
        mergePoints(state.history, Array.isArray(range.points) ? range.points : [], WINDOW_SECONDS[state.window]);
      }
      markLive();
      render(true);
      await readEventStream(`/api/events?window=${state.window}&points=${EVENT_POINTS}`, {
        token: state.token,
        signal: ctrl.signal,
        onEvent: (e) => {
          if (gen !== state.generation || e.event !== 'snapshot') return;
          backoffMs = 1000;
          try {
            acceptSnapshot(JSON.parse(e.data), true);
          } catch {
            return; // a malformed event: skip it, the next one comes in a second
          }
          markLive();
          scheduleRender();
        },
      });
      throw new Error('the server ended the stream');
    } catch (err) {
      if (gen !== state.generation) return;
      if (err instanceof AuthRequired) {
        askForToken(state.token !== null);
        return;
      }
      markDisconnected();
      await new Promise((r) => setTimeout(r, backoffMs));
      backoffMs = Math.min(MAX_BACKOFF_MS, backoffMs * 2);
    }
  }
}

/**
 * Take a snapshot in: keep it, follow the pool list, merge the selected pool's newest points.
 * @param {any} snap
 * @param {boolean} merge
 */
function acceptSnapshot(snap, merge) {
  if (snap === null || typeof snap !== 'object' || !Array.isArray(snap.pools)) throw new Error('not a snapshot');
  state.snapshot = snap;
  state.lastEventMs = Date.now();
  /** @type {string[]} */
  const names = snap.pools.map((/** @type {any} */ p) => String(p.name));
  if (names.join('\n') !== state.poolNames.join('\n')) {
    state.poolNames = names;
    const select = /** @type {HTMLSelectElement} */ ($('pool'));
    select.replaceChildren(...names.map((n) => el('option', { value: n }, n)));
    if (state.pool === null || !names.includes(state.pool)) {
      const changed = state.pool !== null;
      state.pool = names[0] ?? null;
      if (changed && merge) {
        // The selected pool went away: load the new one's history.
        queueMicrotask(restart);
        return;
      }
    }
    select.value = state.pool ?? '';
  }
  const pool = selectedPool();
  if (merge && pool !== null) mergePoints(state.history, pool.series ?? [], WINDOW_SECONDS[state.window]);
  document.documentElement.dataset.snapshotMs = String(snap.timestampMs);
  document.documentElement.dataset.window = state.window;
}

function selectedPool() {
  const snap = state.snapshot;
  if (snap === null) return null;
  return snap.pools.find((/** @type {any} */ p) => p.name === state.pool) ?? null;
}

function markLive() {
  state.live = true;
  state.disconnectedSinceMs = null;
  showStatus();
}

function markDisconnected() {
  state.live = false;
  state.disconnectedSinceMs ??= Date.now();
  showStatus();
}

// A stream that stops delivering (a half-open connection, a server that hangs) counts as lost.
setInterval(() => {
  if (state.live && Date.now() - state.lastEventMs > STALL_MS) state.abort?.abort();
  if (!state.live && state.disconnectedSinceMs !== null) showStatus();
}, 1000);

// ---- the token ----------------------------------------------------------------------------

/** @param {boolean} refused */
function askForToken(refused) {
  state.live = false;
  if (refused) sessionStorage.removeItem(TOKEN_KEY);
  state.token = null;
  const msg = $('auth-msg');
  msg.textContent = refused
    ? 'The server refused that token. Enter it again.'
    : "Enter the monitoring server's bearer token. It is kept in this tab only (sessionStorage) and sent as an Authorization header.";
  msg.classList.toggle('error', refused);
  $('auth').hidden = false;
  $('main').hidden = true;
  const conn = $('conn');
  conn.dataset.state = 'auth';
  conn.textContent = 'token needed';
  /** @type {HTMLInputElement} */ ($('auth-token')).focus();
}

$('auth').addEventListener('submit', (e) => {
  e.preventDefault();
  const input = /** @type {HTMLInputElement} */ ($('auth-token'));
  const token = input.value.trim();
  if (token === '') return;
  input.value = '';
  state.token = token;
  sessionStorage.setItem(TOKEN_KEY, token);
  $('auth').hidden = true;
  $('main').hidden = false;
  restart();
});

// ---- controls -----------------------------------------------------------------------------

$('pool').addEventListener('change', (e) => {
  state.pool = /** @type {HTMLSelectElement} */ (e.target).value;
  restart();
});

for (const input of document.querySelectorAll('input[name="window"]')) {
  input.addEventListener('change', (e) => {
    const value = /** @type {HTMLInputElement} */ (e.target).value;
    if (value === '1m' || value === '5m' || value === '15m') {
      state.window = value;
      restart();
    }
  });
}

$('pause').addEventListener('click', () => {
  state.paused = !state.paused;
  const b = $('pause');
  b.setAttribute('aria-pressed', String(state.paused));
  b.textContent = state.paused ? 'Resume' : 'Pause';
  showStatus();
  if (!state.paused) render(true);
});

for (const th of document.querySelectorAll('#workers th')) {
  th.querySelector('button')?.addEventListener('click', () => {
    const key = /** @type {any} */ (/** @type {HTMLElement} */ (th).dataset.key);
    state.sort = { key, dir: state.sort.key === key && state.sort.dir === 'ascending' ? 'descending' : 'ascending' };
    for (const other of document.querySelectorAll('#workers th')) other.removeAttribute('aria-sort');
    th.setAttribute('aria-sort', state.sort.dir);
    renderWorkers();
  });
}

// ---- rendering ----------------------------------------------------------------------------

/**
 * A DOM element with attributes and children (text children become text nodes: data never
 * becomes markup).
 * @param {string} tag
 * @param {Record<string, string>} [attrs]
 * @param {...(Node | string)} children
 * @returns {HTMLElement}
 */
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

function showStatus() {
  const conn = $('conn');
  if (!$('auth').hidden) return;
  if (!state.live && state.disconnectedSinceMs !== null) {
    conn.dataset.state = 'disconnected';
    conn.textContent = `disconnected since ${formatClock(state.disconnectedSinceMs)} (${formatAge(Date.now() - state.disconnectedSinceMs)}), retrying`;
  } else if (state.paused) {
    conn.dataset.state = 'paused';
    conn.textContent = 'paused';
  } else if (state.live) {
    conn.dataset.state = 'live';
    conn.textContent = state.snapshot ? `live · ${formatClock(state.snapshot.timestampMs)}` : 'live';
  } else {
    conn.dataset.state = 'connecting';
    conn.textContent = 'connecting…';
  }
}

function scheduleRender() {
  if (state.paused || state.renderTimer !== null) return;
  const wait = Math.max(0, state.lastRenderMs + RENDER_EVERY_MS - Date.now());
  state.renderTimer = setTimeout(() => {
    state.renderTimer = null;
    render(false);
  }, wait);
}

/** @param {boolean} force */
function render(force) {
  if (state.paused && !force) return;
  state.lastRenderMs = Date.now();
  showStatus();
  const pool = selectedPool();
  const h = headline(pool, state.window);
  renderSummary(pool, h);
  renderCharts(pool, h);
  renderGauges();
  renderWorkers();
  renderAlerts();
  renderRecommendations();
}

/**
 * @param {string} id
 * @param {string} title
 * @param {string} figures
 */
function setHeader(id, title, figures) {
  $(id).replaceChildren(title, ' ', el('span', { class: 'fig' }, figures));
}

/**
 * @param {any} pool
 * @param {ReturnType<typeof headline>} h
 */
function renderSummary(pool, h) {
  const item = (/** @type {string} */ k, /** @type {string} */ v, /** @type {string} */ name) => el('div', { 'data-figure': name }, el('span', { class: 'k' }, k), el('span', { class: 'v' }, v));
  const us = (/** @type {number | null} */ v) => (v === null ? '–' : formatUs(v));
  $('summary').replaceChildren(
    item('pool', pool ? `${pool.name}${h.lifecycle ? ` (${h.lifecycle})` : ''}` : 'none', 'pool'),
    item('ops/s (last s)', h.throughputPerS === null ? '–' : formatRate(h.throughputPerS), 'throughput'),
    item(`ops/s (${state.window})`, h.windowThroughputPerS === null ? '–' : formatRate(h.windowThroughputPerS), 'throughput-window'),
    item('p50', us(h.p50Us), 'p50'),
    item('p99', us(h.p99Us), 'p99'),
    item(`errors (${state.window})`, h.errorRate === null ? '–' : formatPercent(h.errorRate), 'error-rate'),
    item('utilization', h.utilization === null ? '–' : formatPercent(h.utilization), 'utilization'),
    item('queue', h.queueDepth === null ? '–' : trim(h.queueDepth), 'queue'),
    item('workers busy', h.size === null ? '–' : `${trim(h.busy ?? 0)} / ${trim(h.size)}`, 'busy'),
    item('health', h.healthScore === null ? '–' : String(Math.round(h.healthScore)), 'health'),
  );
}

// ---- charts -------------------------------------------------------------------------------

/** @type {Record<string, any>} */
const charts = {};

function colors() {
  const cs = getComputedStyle(document.documentElement);
  const v = (/** @type {string} */ name) => cs.getPropertyValue(name).trim();
  return { fg: v('--fg'), muted: v('--muted'), grid: v('--grid'), s: [v('--s1'), v('--s2'), v('--s3'), v('--s4'), v('--s5'), v('--s6'), v('--s7')], bar: v('--bar') };
}

/**
 * uPlot options common to every chart, in the current theme.
 * @param {HTMLElement} box
 * @param {any[]} series
 * @param {any[]} axes
 * @param {any} scales
 */
function chartOptions(box, series, axes, scales) {
  const c = colors();
  const axis = { stroke: c.muted, grid: { stroke: c.grid, width: 1 }, ticks: { stroke: c.grid, width: 1 }, font: '11px system-ui, sans-serif' };
  return {
    width: Math.max(200, box.clientWidth),
    height: box.clientWidth < 500 ? 150 : 170,
    series,
    scales,
    axes: axes.map((a) => ({ ...axis, ...a })),
    legend: { show: true, live: false },
    cursor: { drag: { x: false, y: false }, points: { size: 5 } },
  };
}

/** The x scale: the whole selected window, ending at the newest point. */
function xRange() {
  const h = state.history;
  const last = h.x.length > 0 ? h.x[h.x.length - 1] : Math.floor(Date.now() / 1000);
  return [last - WINDOW_SECONDS[state.window], last];
}

function timeScales(/** @type {Record<string, any>} */ extra = {}) {
  return { x: { time: true, range: () => xRange() }, ...extra };
}

/**
 * Create the chart `name` in box `id` if missing (and uPlot loaded).
 * @param {string} name
 * @param {() => any} optionsFn
 * @param {any[]} data
 */
function ensureChart(name, optionsFn, data) {
  if (charts[name] !== undefined) return charts[name];
  const box = $(`c-${name}`);
  if (uPlotLib === undefined || box.clientWidth === 0) return null;
  box.replaceChildren();
  charts[name] = new uPlotLib(optionsFn(), data, box);
  return charts[name];
}

function destroyCharts() {
  for (const k of Object.keys(charts)) {
    charts[k].destroy();
    delete charts[k];
  }
}

const line = (/** @type {string} */ label, /** @type {string} */ stroke, /** @type {(v: number) => string} */ fmt, extra = {}) => ({
  label,
  stroke,
  width: 1.5,
  value: (/** @type {any} */ _u, /** @type {number | null} */ v) => (v === null || v === undefined ? '–' : fmt(v)),
  ...extra,
});
const fmtPct = (/** @type {number} */ v) => formatPercent(v);

const CHART_DEFS = {
  throughput: () => {
    const c = colors();
    return chartOptions($('c-throughput'), [{}, line('ops/s', c.s[0], formatRate, { fill: `${c.s[0]}22` })], [{}, { size: 56, values: (/** @type {any} */ _u, /** @type {number[]} */ t) => t.map(formatRate) }], timeScales({ y: { range: (/** @type {any} */ _u, /** @type {number} */ _lo, /** @type {number} */ hi) => [0, Math.max(1, hi * 1.1)] } }));
  },
  latency: () => {
    const c = colors();
    return chartOptions(
      $('c-latency'),
      [{}, line('p50', c.s[3], formatUs), line('p90', c.s[1], formatUs), line('p99', c.s[2], formatUs)],
      [{}, { size: 64, values: (/** @type {any} */ _u, /** @type {number[]} */ t) => t.map(formatUs) }],
      timeScales({ y: { range: (/** @type {any} */ _u, /** @type {number} */ _lo, /** @type {number} */ hi) => [0, Math.max(1000, hi * 1.1)] } }),
    );
  },
  errors: () => {
    const c = colors();
    return chartOptions(
      $('c-errors'),
      [{}, line('all', c.fg, fmtPct, { width: 1 }), ...ERROR_CATEGORIES.map((cat, i) => line(cat, c.s[(i + 2) % c.s.length], fmtPct, { show: false }))],
      [{}, { size: 56, values: (/** @type {any} */ _u, /** @type {number[]} */ t) => t.map(fmtPct) }],
      timeScales({ y: { range: (/** @type {any} */ _u, /** @type {number} */ _lo, /** @type {number} */ hi) => [0, Math.min(1, Math.max(0.01, hi * 1.2))] } }),
    );
  },
  util: () => {
    const c = colors();
    return chartOptions(
      $('c-util'),
      [{}, line('utilization', c.s[0], fmtPct, { scale: 'pct' }), line('queue depth', c.s[4], trim, { scale: 'q' })],
      [
        {},
        { scale: 'pct', size: 48, values: (/** @type {any} */ _u, /** @type {number[]} */ t) => t.map(fmtPct) },
        { scale: 'q', side: 1, size: 40, grid: { show: false }, values: (/** @type {any} */ _u, /** @type {number[]} */ t) => t.map(trim) },
      ],
      timeScales({ pct: { range: [0, 1] }, q: { range: (/** @type {any} */ _u, /** @type {number} */ _lo, /** @type {number} */ hi) => [0, Math.max(4, Math.ceil(hi * 1.2))] } }),
    );
  },
  hist: () => {
    const c = colors();
    const bars = uPlotLib.paths.bars({ size: [0.85, 40], align: 0 });
    return chartOptions(
      $('c-hist'),
      [{}, { label: 'operations', stroke: c.bar, fill: `${c.bar}99`, width: 1, paths: bars, points: { show: false } }],
      [
        {
          space: 72,
          incrs: [1, 2, 4, 8],
          values: (/** @type {any} */ _u, /** @type {number[]} */ t) => t.map((i) => (histUpper[i] === undefined ? '' : `<${formatUs(histUpper[i])}`)),
        },
        { size: 48, values: (/** @type {any} */ _u, /** @type {number[]} */ t) => t.map(formatRate) },
      ],
      { x: { time: false, range: (/** @type {any} */ _u, /** @type {number} */ lo, /** @type {number} */ hi) => [lo - 0.5, hi + 0.5] }, y: { range: (/** @type {any} */ _u, /** @type {number} */ _lo, /** @type {number} */ hi) => [0, Math.max(1, hi * 1.1)] } },
    );
  },
};

/** Upper bounds of the histogram's bars (its x labels). @type {number[]} */
let histUpper = [];

/**
 * @param {any} pool
 * @param {ReturnType<typeof headline>} h
 */
function renderCharts(pool, h) {
  const hs = state.history;
  const us = (/** @type {number | null} */ v) => (v === null ? '–' : formatUs(v));
  setHeader('h-throughput', 'Throughput', h.throughputPerS === null ? 'no data' : `${formatRate(h.throughputPerS)} ops/s now · ${formatRate(h.windowThroughputPerS ?? 0)} ops/s over ${state.window}`);
  setHeader('h-latency', 'Latency', h.p50Us === null ? 'no operations in the last second' : `p50 ${us(h.p50Us)} · p90 ${us(h.p90Us)} · p99 ${us(h.p99Us)}`);
  const cats = h.categories.map((c) => `${c.category} ${formatPercent(c.rate)}`).join(', ');
  setHeader('h-errors', 'Error rate', h.errorRate === null ? 'no data' : `${formatPercent(h.errorRate)} over ${state.window}${cats ? ` (${cats})` : ' · none'}`);
  setHeader('h-util', 'Utilization and queue', h.utilization === null ? 'no data' : `${formatPercent(h.utilization)} busy · queue ${trim(h.queueDepth ?? 0)}`);

  const sets = {
    throughput: [hs.x, hs.throughput],
    latency: [hs.x, hs.p50, hs.p90, hs.p99],
    errors: [hs.x, hs.errorRate, ...hs.byCategory],
    util: [hs.x, hs.utilization, hs.queueDepth],
  };
  for (const [name, data] of Object.entries(sets)) {
    const u = ensureChart(name, /** @type {any} */ (CHART_DEFS)[name], data);
    if (u !== null && charts[name] === u) u.setData(data);
    // Machine-readable text equivalent: how many seconds are drawn and the newest one's values.
    const box = $(`c-${name}`);
    box.dataset.points = String(hs.x.length);
    const last = hs.x.length - 1;
    box.dataset.last = last < 0 ? '' : JSON.stringify(data.map((col) => col[last]));
  }
  const errChart = charts.errors;
  if (errChart) {
    const seen = categoriesSeen(hs);
    seen.forEach((on, i) => {
      if (errChart.series[i + 2].show !== on) errChart.setSeries(i + 2, { show: on });
    });
  }

  const bars = histogramBars(pool?.latency);
  histUpper = bars.upperUs;
  setHeader('h-hist', 'Latency distribution', bars.total === 0 ? `no operations over ${state.window}` : `${formatRate(bars.total)} operations over ${state.window}${pool?.summary?.windows?.[state.window] ? ` · p99 ${formatUs(pool.summary.windows[state.window].latencyUs.p99)}` : ''}`);
  const histData = [bars.x, bars.counts];
  const hu = ensureChart('hist', CHART_DEFS.hist, histData);
  if (hu !== null) hu.setData(histData);
}

const resizer = new ResizeObserver(() => {
  for (const [name, u] of Object.entries(charts)) {
    const box = $(`c-${name}`);
    const width = Math.max(200, box.clientWidth);
    if (Math.abs(u.width - width) > 2) u.setSize({ width, height: box.clientWidth < 500 ? 150 : 170 });
  }
});
for (const name of Object.keys(CHART_DEFS)) resizer.observe($(`c-${name}`));

matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => {
  destroyCharts();
  render(true);
});

// ---- gauges, workers, alerts, recommendations -------------------------------------------

/**
 * @param {string} label
 * @param {string} text
 * @param {number | null} ratio 0..1 of the bar, null for none
 */
function gauge(label, text, ratio) {
  const r = ratio === null || !Number.isFinite(ratio) ? 0 : Math.max(0, Math.min(1, ratio));
  const fill = el('div', { class: 'fill' });
  fill.style.width = `${(r * 100).toFixed(1)}%`;
  const g = el('div', { class: `gauge${r >= 0.9 ? ' bad' : r >= 0.7 ? ' warn' : ''}`, role: 'meter', 'aria-label': label, 'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': String(Math.round(r * 100)), 'aria-valuetext': text }, el('div', { class: 'label' }, el('span', {}, label), el('span', {}, text)), el('div', { class: 'track' }, fill));
  return g;
}

function renderGauges() {
  const r = state.snapshot?.resources ?? null;
  const box = $('gauges');
  if (r === null) {
    box.replaceChildren(el('p', { class: 'none' }, 'no resource monitor on this server'));
    setHeader('h-res', 'Resources', 'none');
    return;
  }
  const n = r.node;
  const cores = Math.max(1, r.system?.cpuCount ?? 1);
  const total = r.system?.totalMemBytes ?? 0;
  const py = Array.isArray(r.python) ? r.python.filter((/** @type {any} */ p) => !p.orphan) : [];
  const pyRss = py.reduce((/** @type {number} */ s, /** @type {any} */ p) => s + (p.rssBytes ?? 0), 0);
  const pyCpu = py.reduce((/** @type {number} */ s, /** @type {any} */ p) => s + (p.cpuPercent ?? 0), 0);
  const orphans = Array.isArray(r.python) ? r.python.length - py.length : 0;
  setHeader('h-res', 'Resources', `Node ${formatBytes(n.rssBytes)} RSS, ${trim(n.cpuPercent)}% CPU · Python ${py.length} processes, ${formatBytes(pyRss)}, ${trim(pyCpu)}% CPU`);
  box.replaceChildren(
    el('h3', {}, `Node (pid ${n.pid})`),
    gauge('RSS', formatBytes(n.rssBytes), total > 0 ? n.rssBytes / total : null),
    gauge('heap', `${formatBytes(n.heapUsedBytes)} / ${formatBytes(n.heapLimitBytes)}`, n.heapLimitBytes > 0 ? n.heapUsedBytes / n.heapLimitBytes : null),
    gauge('CPU', `${trim(n.cpuPercent)}%`, n.cpuPercent / 100),
    gauge('event loop', `${formatPercent(n.eventLoopUtilization)} · p99 delay ${formatUs(n.eventLoopDelayUs?.p99 ?? NaN)}`, n.eventLoopUtilization),
    el('h3', {}, `Python (${py.length} processes${orphans > 0 ? `, ${orphans} orphaned` : ''})`),
    gauge('RSS', formatBytes(pyRss), total > 0 ? pyRss / total : null),
    gauge('CPU', `${trim(pyCpu)}% of ${cores * 100}%`, pyCpu / (cores * 100)),
    gauge('machine CPU', r.system?.cpuUtilization == null ? '–' : formatPercent(r.system.cpuUtilization), r.system?.cpuUtilization ?? null),
    gauge('machine memory', total > 0 ? `${formatBytes(total - r.system.freeMemBytes)} / ${formatBytes(total)}` : '–', total > 0 ? (total - r.system.freeMemBytes) / total : null),
  );
}

function renderWorkers() {
  const rows = sortRows(workerRows(selectedPool(), state.snapshot?.resources ?? null), state.sort.key, state.sort.dir);
  const busy = rows.filter((r) => r.state.startsWith('busy')).length;
  setHeader('h-workers', 'Workers', rows.length === 0 ? 'none' : `${rows.length} · ${busy} busy · ${rows.reduce((s, r) => s + r.restarts, 0)} restarts`);
  const num = (/** @type {string} */ text) => el('td', { class: 'num' }, text);
  $('workers').querySelector('tbody')?.replaceChildren(
    ...(rows.length === 0
      ? [el('tr', {}, el('td', { colspan: '9' }, 'no workers'))]
      : rows.map((r) =>
          el(
            'tr',
            { 'data-slot': String(r.id), 'data-pid': String(r.pid) },
            el('td', {}, r.id < 0 ? 'overflow' : String(r.id)),
            el('td', { class: `state-${r.state.split(' ')[0]}` }, r.state),
            num(r.pid > 0 ? String(r.pid) : '–'),
            num(r.ops.toLocaleString('en-US')),
            num(r.errors.toLocaleString('en-US')),
            num(r.p99Us === null ? '–' : formatUs(r.p99Us)),
            num(r.rssBytes === null ? '–' : formatBytes(r.rssBytes)),
            num(r.cpuPercent === null ? '–' : `${trim(r.cpuPercent)}%`),
            num(String(r.restarts)),
          ),
        )),
  );
}

/**
 * Evidence of a recommendation in any shape (text, list, key-value object) as list items.
 * @param {unknown} ev
 * @returns {HTMLElement | null}
 */
function evidenceList(ev) {
  if (ev === undefined || ev === null) return null;
  /** @type {string[]} */
  let items;
  if (typeof ev === 'string') items = [ev];
  else if (Array.isArray(ev)) items = ev.map((x) => (typeof x === 'string' ? x : JSON.stringify(x)));
  else if (typeof ev === 'object' && Array.isArray(/** @type {{math?: unknown}} */ (ev).math)) {
    // The advisor's evidence: the arithmetic first, then the figures, then the window it covers.
    const e = /** @type {{math: unknown[], figures?: Record<string, unknown>, window?: unknown, coveredS?: unknown}} */ (ev);
    items = e.math.map((x) => String(x));
    for (const [k, v] of Object.entries(e.figures ?? {})) items.push(`${k}: ${typeof v === 'number' ? trim(v) : String(v)}`);
    if (e.window !== undefined) items.push(`window ${String(e.window)}${typeof e.coveredS === 'number' ? `, ${trim(e.coveredS)} s covered` : ''}`);
  } else if (typeof ev === 'object') items = Object.entries(ev).map(([k, v]) => `${k}: ${typeof v === 'number' ? trim(v) : typeof v === 'string' ? v : JSON.stringify(v)}`);
  else items = [String(ev)];
  if (items.length === 0) return null;
  return el('ul', { class: 'evidence' }, ...items.slice(0, 20).map((t) => el('li', {}, t)));
}

function renderAlerts() {
  const alerts = Array.isArray(state.snapshot?.alerts) ? state.snapshot.alerts : [];
  setHeader('h-alerts', 'Active alerts', alerts.length === 0 ? 'none' : String(alerts.length));
  const now = state.snapshot?.timestampMs ?? Date.now();
  $('alerts').replaceChildren(
    ...(alerts.length === 0
      ? [el('li', { class: 'none' }, 'none')]
      : alerts.map((/** @type {any} */ a) => {
          const sev = ['critical', 'warning', 'info'].includes(a.severity) ? a.severity : 'info';
          const since = a.sinceMs ?? a.activeSinceMs ?? a.startedAtMs ?? null;
          const meta = [a.state ?? 'firing', a.pool ? `pool ${a.pool}` : null, typeof since === 'number' ? `for ${formatAge(now - since)}` : null].filter(Boolean).join(' · ');
          return el('li', { class: `sev-${sev}` }, el('span', { class: `badge ${sev}` }, sev), el('span', { class: 'title' }, String(a.name ?? 'alert')), ' ', el('span', { class: 'meta' }, meta), el('div', {}, String(a.message ?? '')));
        })),
  );
}

function renderRecommendations() {
  const recs = Array.isArray(state.snapshot?.recommendations) ? state.snapshot.recommendations : [];
  setHeader('h-recs', 'Recommendations', recs.length === 0 ? 'none' : String(recs.length));
  $('recs').replaceChildren(
    ...(recs.length === 0
      ? [el('li', { class: 'none' }, 'none')]
      : recs.map((/** @type {any} */ r) => {
          const score = typeof r.score === 'number' ? r.score : null;
          const sev = score === null ? 'info' : score >= 0.7 ? 'critical' : score >= 0.4 ? 'warning' : 'info';
          const li = el('li', { class: `sev-${sev}` }, el('span', { class: 'title' }, String(r.title ?? 'recommendation')), ' ', el('span', { class: 'meta' }, [score === null ? null : `score ${trim(score)}`, r.pool ? `pool ${r.pool}` : null].filter(Boolean).join(' · ')), el('div', {}, String(r.detail ?? '')));
          const ev = evidenceList(r.evidence);
          if (ev !== null) li.append(ev);
          return li;
        })),
  );
  renderTuning();
}

/** What the auto-tuner did lately (the snapshot's `tuning`, newest first): hidden when there is nothing. */
function renderTuning() {
  const steps = Array.isArray(state.snapshot?.tuning) ? state.snapshot.tuning.slice(0, 5) : [];
  $('h-tuning').hidden = steps.length === 0;
  $('tuning').hidden = steps.length === 0;
  const now = state.snapshot?.timestampMs ?? Date.now();
  const word = { validating: 'validating', kept: 'kept', rolled_back: 'rolled back', reverted: 'reverted by hand', failed: 'failed' };
  $('tuning').replaceChildren(
    ...steps.map((/** @type {any} */ t) => {
      const status = String(t.status ?? '');
      const sev = status === 'rolled_back' || status === 'failed' ? 'warning' : 'info';
      const at = typeof t.concludedAtMs === 'number' ? t.concludedAtMs : t.appliedAtMs;
      const meta = [word[/** @type {keyof typeof word} */ (status)] ?? status, t.pool ? `pool ${t.pool}` : null, typeof at === 'number' ? `${formatAge(now - at)} ago` : null].filter(Boolean).join(' · ');
      const li = el('li', { class: `sev-${sev}`, 'data-status': status }, el('span', { class: 'title' }, `${t.parameter} ${t.from} → ${t.to}`), ' ', el('span', { class: 'meta' }, meta));
      const why = [t.outcome, t.recommendationId ? `for ${t.recommendationId}` : null].filter(Boolean).join(' · ');
      if (why) li.append(el('div', {}, why));
      return li;
    }),
  );
}

restart();
