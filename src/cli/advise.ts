/**
 * `dspex advise --url URL`: the optimization advisor's recommendations of a running process, read
 * from its monitoring server's `/api/snapshot`, printed with their priority, evidence (figures,
 * window and arithmetic) and action, then what the auto-tuner did lately (the snapshot's
 * `tuning`, when the server has tuners); `--json` prints the recommendations as JSON.
 *
 * @module
 */
import { fetchSnapshot } from '../exporters/client.js';
import type { SnapshotRecommendation } from '../contract/snapshot.js';
import type { RecommendationAction, TuningFigures, TuningRecord } from '../contract/advice.js';
import { sanitizeText } from '../dashboard/ansi.js';
import { formatTuningStep } from '../dashboard/format.js';

/** A recommendation's action as one line (`pool.resize(8)`). Pure. */
export function formatAction(pool: string | undefined, a: RecommendationAction): string {
  const p = pool ?? 'pool';
  switch (a.kind) {
    case 'resize':
      return `${p}.resize(${a.size})`;
    case 'recycleWorker':
      return `${p}.recycleWorker(${a.workerId})`;
    case 'configure':
      return `${p}.configure({ ${a.key}: ${a.value} })`;
    case 'investigate':
      return `investigate ${[a.command && `command '${a.command}'`, a.workerId !== undefined && `worker ${a.workerId}`, a.errorType && `errors ${a.errorType}`].filter(Boolean).join(', ')}`;
  }
}

/** The text `dspex advise` prints for `recs` (pure; terminal controls in the texts are made visible). */
export function formatRecommendations(recs: readonly SnapshotRecommendation[]): string {
  if (recs.length === 0) return 'no recommendations (not enough data yet, or nothing to change)\n';
  const out: string[] = [];
  const sorted = [...recs].sort((a, b) => b.score - a.score);
  for (const r of sorted) {
    const priority = r.priority ?? Math.round(r.score * 100);
    out.push(`[${priority}] ${sanitizeText(r.title)}`);
    out.push(`    ${sanitizeText(r.detail)}`);
    const e = r.evidence;
    if (e) {
      out.push(`    evidence (${sanitizeText(e.window)}, ${e.coveredS} s): ${Object.entries(e.figures).map(([k, v]) => `${sanitizeText(k)}=${v}`).join(' ')}`);
      for (const m of e.math) out.push(`      ${sanitizeText(m)}`);
    }
    if (r.action) out.push(`    action: ${sanitizeText(formatAction(r.pool, r.action))}`);
    out.push('');
  }
  return out.join('\n');
}

const figures = (f: TuningFigures): string => `p99 ${Math.round(f.latencyP99Us / 100) / 10} ms, errors ${Math.round(f.errorRate * 10_000) / 100}%, ${Math.round(f.throughputPerS * 10) / 10}/s`;

/** True for a tuning step with the fields `formatTuning` reads (a remote server's `tuning` is not trusted). */
function isTuningRecord(v: unknown): v is TuningRecord {
  if (v === null || typeof v !== 'object') return false;
  const r = v as Record<string, unknown>;
  const isFigures = (f: unknown): boolean => f !== null && typeof f === 'object' && ['latencyP99Us', 'errorRate', 'throughputPerS'].every((k) => typeof (f as Record<string, unknown>)[k] === 'number');
  return (
    typeof r['id'] === 'number' && typeof r['pool'] === 'string' && typeof r['parameter'] === 'string' && typeof r['from'] === 'number' && typeof r['to'] === 'number' &&
    typeof r['status'] === 'string' && typeof r['appliedAtMs'] === 'number' && typeof r['recommendationId'] === 'string' && typeof r['reason'] === 'string' &&
    isFigures(r['baseline']) && (r['observed'] === null || isFigures(r['observed']))
  );
}

/**
 * The auto-tuner's steps (newest first) as `dspex advise` prints them after the recommendations:
 * one line per step, then its reason and the figures it was validated on. Pure.
 */
export function formatTuning(records: readonly TuningRecord[], nowMs: number): string {
  if (records.length === 0) return '';
  const out = ['auto-tuner, newest first:'];
  for (const r of records) {
    out.push(`  #${sanitizeText(String(r.id))} ${sanitizeText(formatTuningStep(r, nowMs))}`);
    out.push(`      for ${sanitizeText(r.recommendationId)}: ${sanitizeText(r.reason)}`);
    out.push(`      before: ${figures(r.baseline)}${r.observed ? `; after: ${figures(r.observed)}` : ''}`);
  }
  return `${out.join('\n')}\n`;
}

/** Run `dspex advise`; resolves with the exit code (1 when the server cannot be read). */
export async function runAdvise(o: { url: string; token: string | null; json: boolean }): Promise<number> {
  let recs: SnapshotRecommendation[];
  let tuning: TuningRecord[];
  let nowMs: number;
  try {
    const snap = await fetchSnapshot(o.url, { token: o.token });
    recs = snap.recommendations;
    // Steps without the fields printed are left out (a newer or a hostile server).
    tuning = Array.isArray(snap.tuning) ? (snap.tuning as unknown[]).filter(isTuningRecord) : [];
    nowMs = snap.timestampMs;
  } catch (err) {
    process.stderr.write(`dspex advise: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}\n`);
    return 1;
  }
  if (o.json) process.stdout.write(`${JSON.stringify(recs, null, 2)}\n`);
  else {
    const t = formatTuning(tuning, nowMs);
    process.stdout.write(formatRecommendations(recs) + (t === '' ? '' : `\n${t}`));
  }
  return 0;
}
