/**
 * Snapshots made safe to lay out (pure): every string in a snapshot — pool names, command and
 * error types, alert messages, recommendation text, resource warnings, and whatever else a
 * producer (possibly a remote, hostile server) put there — goes through {@link sanitizeText}, so
 * no renderer can pass on an escape sequence or a line break.
 *
 * @module
 */
import type { MonitoringSnapshot } from '../contract/snapshot.js';
import { sanitizeText } from './ansi.js';

// One sanitized copy per snapshot object: the dashboard redraws the same snapshot on every key.
const cache = new WeakMap<object, unknown>();

function clean(value: unknown): unknown {
  if (typeof value === 'string') return sanitizeText(value);
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    let out: unknown[] | null = null;
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      const c = clean(v);
      if (c !== v) {
        out ??= value.slice();
        out[i] = c;
      }
    }
    return out ?? value;
  }
  let out: Record<string, unknown> | null = null;
  const obj = value as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    const v = obj[key];
    const c = clean(v);
    const k = sanitizeText(key);
    if (c !== v || k !== key) {
      out ??= { ...obj };
      if (k !== key) delete out[key];
      out[k] = c;
    }
  }
  return out ?? value;
}

/**
 * The snapshot with every string sanitized (control characters, bidi controls and lone surrogates
 * replaced by `?`). Returns the same object when nothing needed replacing; shares every part
 * that did not change; never modifies its input.
 */
export function sanitizeSnapshot(snapshot: MonitoringSnapshot): MonitoringSnapshot {
  const hit = cache.get(snapshot);
  if (hit !== undefined) return hit as MonitoringSnapshot;
  const out = clean(snapshot) as MonitoringSnapshot;
  cache.set(snapshot, out);
  return out;
}
