/**
 * Alert labels: the stable fingerprint of a label set (one alert per fingerprint), label matching
 * for silences, and annotation templates. Pure functions.
 *
 * @module
 */

/** A label set: string values only (as in Prometheus / Alertmanager). */
export type Labels = Readonly<Record<string, string>>;

const FNV_PRIME = 0x01000193;

/**
 * A stable 16-hex-digit fingerprint of a label set (its `alertname` included, which names the
 * rule): two 32-bit FNV-1a hashes with different offset bases over `name=value` pairs in sorted
 * name order, so the order the labels were written in does not matter. Stable across processes
 * and versions (the file channel restores alerts by it). Not cryptographic: collisions are
 * harmless beyond merging two alerts, and at 64 bits improbable for the label sets one process has.
 */
export function fingerprint(labels: Labels): string {
  const names = Object.keys(labels).sort();
  let a = 0x811c9dc5;
  let b = 0x050c5d1f;
  for (const name of names) {
    const pair = `${name}\u0000${labels[name] ?? ''}\u0001`;
    for (let i = 0; i < pair.length; i++) {
      const c = pair.charCodeAt(i);
      a = Math.imul(a ^ c, FNV_PRIME);
      b = Math.imul(b ^ (c + 0x9e), FNV_PRIME);
    }
  }
  return hex8(a) + hex8(b);
}

function hex8(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}

/** How a silence matcher compares a label (Alertmanager's `=`, `!=`, `=~`, `!~`). */
export type MatchOp = '=' | '!=' | '=~' | '!~';

/** One label matcher of a silence. A missing label matches as the empty string (as in Alertmanager). */
export interface LabelMatcher {
  name: string;
  value: string;
  /** Default `=`. Regular expressions are anchored (the whole value must match). */
  op?: MatchOp;
}

/** A matcher compiled once (regular expressions built at `silence()`, not per evaluation). */
export interface CompiledMatcher {
  name: string;
  op: MatchOp;
  value: string;
  regex: RegExp | null;
}

/** Compile matchers; throws `SyntaxError` for a bad regular expression (the caller names the argument). */
export function compileMatchers(matchers: readonly LabelMatcher[]): CompiledMatcher[] {
  return matchers.map((m) => {
    const op = m.op ?? '=';
    return { name: m.name, op, value: m.value, regex: op === '=~' || op === '!~' ? new RegExp(`^(?:${m.value})$`) : null };
  });
}

/** True when every matcher matches `labels`. Pure. */
export function matchesAll(matchers: readonly CompiledMatcher[], labels: Labels): boolean {
  for (const m of matchers) {
    const v = labels[m.name] ?? '';
    let ok: boolean;
    switch (m.op) {
      case '=':
        ok = v === m.value;
        break;
      case '!=':
        ok = v !== m.value;
        break;
      case '=~':
        ok = m.regex!.test(v);
        break;
      default:
        ok = !m.regex!.test(v);
    }
    if (!ok) return false;
  }
  return true;
}

/**
 * Fill `{{value}}`, `{{labels.NAME}}` (or `{{NAME}}`) in an annotation. A value is printed with
 * up to 4 significant digits; an unknown label becomes the empty string. Pure.
 */
export function fillTemplate(template: string, labels: Labels, value: number | null): string {
  if (!template.includes('{{')) return template;
  return template.replace(/\{\{\s*([\w.]+)\s*\}\}/g, (_, key: string) => {
    if (key === 'value') return value === null ? 'n/a' : formatValue(value);
    const name = key.startsWith('labels.') ? key.slice(7) : key;
    return labels[name] ?? '';
  });
}

/** A value as annotations print it. */
export function formatValue(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value)) return String(value);
  return String(Number(value.toPrecision(4)));
}
