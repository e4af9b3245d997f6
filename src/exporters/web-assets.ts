/**
 * The files of the web dashboard (`GET /dashboard`), read from the package at run time: the page's
 * own HTML, scripts and style from `dashboard/web/` beside this stage (`src/dashboard/web/` when
 * running from source, `dist/dashboard/web/` once `npm run build` copied them), and uPlot's
 * browser build from the installed `uplot` dependency (resolved like an import, so no CDN and no
 * bundling step). Read once, on the first request, and kept: a few hundred kB at most.
 *
 * The asset names are a fixed table: a request names one of them or gets 404, so no request path
 * ever reaches the file system.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** One file of the page, ready to send. */
export interface WebAsset {
  contentType: string;
  body: Buffer;
}

const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';
const HTML = 'text/html; charset=utf-8';

/** Where each served name comes from: a file of `dashboard/web/`, or a file of a dependency. */
const SOURCES: Readonly<Record<string, { own?: string; dependency?: string; contentType: string }>> = {
  'index.html': { own: 'index.html', contentType: HTML },
  'app.js': { own: 'app.js', contentType: JS },
  'series.js': { own: 'series.js', contentType: JS },
  'format.js': { own: 'format.js', contentType: JS },
  'sse.js': { own: 'sse.js', contentType: JS },
  'app.css': { own: 'app.css', contentType: CSS },
  'uplot.js': { dependency: 'uplot/dist/uPlot.iife.min.js', contentType: JS },
  'uplot.css': { dependency: 'uplot/dist/uPlot.min.css', contentType: CSS },
};

/** The names under `/dashboard/` the server answers (the page itself is `index.html`). */
export const WEB_ASSET_NAMES: readonly string[] = Object.keys(SOURCES);

let cache: Map<string, WebAsset> | null = null;

function load(): Map<string, WebAsset> {
  const dir = new URL('../dashboard/web/', import.meta.url);
  const require = createRequire(import.meta.url);
  const out = new Map<string, WebAsset>();
  for (const [name, src] of Object.entries(SOURCES)) {
    const path = src.own !== undefined ? fileURLToPath(new URL(src.own, dir)) : require.resolve(src.dependency!);
    out.set(name, { contentType: src.contentType, body: readFileSync(path) });
  }
  return out;
}

/**
 * The asset served as `/dashboard/<name>` (`index.html` for the page), or null for a name outside
 * the table. Throws when the package lacks the files (a build that did not copy them): the server
 * logs that and answers 500.
 */
export function webAsset(name: string): WebAsset | null {
  if (!Object.hasOwn(SOURCES, name)) return null;
  cache ??= load();
  return cache.get(name) ?? null;
}
