/**
 * The terminal dashboard's keys as docs/MONITORING_GUIDE.md lists them (between its
 * `dashboard-keys` markers) are the keys the key handler (`reduceKey`) reacts to, both ways: each
 * row's keys do the same thing, different rows do different things, each row's text names what
 * its keys change, and no key the handler reacts to is missing. The shorter key lists (README,
 * playbook, `dspex help monitor`, the footer, the help overlay) name every row's first key.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { monitorCommand } from '../../src/cli/commands.js';
import { renderFooter, renderHelp } from '../../src/dashboard/panels.js';
import { initialViewState, reduceKey, type KeyResult, type ViewState } from '../../src/dashboard/view-state.js';

const read = (path: string): string => readFileSync(fileURLToPath(new URL(`../../${path}`, import.meta.url)), 'utf8');

/** Key names the table writes in words. */
const NAMED: Record<string, string> = { 'Ctrl-C': '\u0003', space: ' ', Esc: '\u001b', Tab: '\t' };

/** One row of the key table: its keys (as the terminal sends them), the names as written, the effect. */
export interface KeyRow {
  keys: string[];
  names: string[];
  effect: string;
}

/** The rows of the table between the `dashboard-keys` markers. Pure. */
export function keyRows(markdown: string): KeyRow[] {
  const m = /<!-- dashboard-keys:start -->\n([\s\S]*?)<!-- dashboard-keys:end -->/.exec(markdown);
  if (!m) return [];
  const rows: KeyRow[] = [];
  for (const line of m[1]!.split('\n').slice(2)) {
    const cells = /^\| (.+?) \| (.+) \|$/.exec(line);
    if (!cells) continue;
    const names = cells[1]!.split(', ').map((n) => n.trim());
    const keys = names.map((n) => {
      const code = /^`(.+)`$/.exec(n);
      if (code) return code[1]!;
      if (NAMED[n] === undefined) throw new Error(`unknown key name '${n}' in the key table`);
      return NAMED[n];
    });
    rows.push({ keys, names, effect: cells[2]! });
  }
  return rows;
}

/** Views a key may act on: the start, the help open, the stack open, another window (Esc and `1` do nothing on the first). */
const STATES: readonly ViewState[] = [initialViewState(), { ...initialViewState(), help: true }, { ...initialViewState(), stackWorker: 0 }, { ...initialViewState(), window: '5m' }];

/** What a key does from each state, as comparable text (null and undefined `stackWorker` alike). */
function behaviour(key: string): string[] {
  const norm = (r: KeyResult): string => JSON.stringify({ quit: r.quit, view: { ...r.view, stackWorker: r.view.stackWorker ?? null } });
  return STATES.map((v) => norm(reduceKey(v, key)));
}

/** The view fields a key changes from the first state where it changes anything ('quit' for quitting). */
function changes(key: string): string[] {
  for (const v of STATES) {
    const r = reduceKey(v, key);
    if (r.quit) return ['quit'];
    const changed = (Object.keys({ ...v, ...r.view }) as (keyof ViewState)[]).filter((f) => (v[f] ?? null) !== (r.view[f] ?? null));
    if (changed.length > 0) return changed;
  }
  return [];
}

/** The word an effect must contain for each field its keys change. */
const WORD: Record<string, RegExp> = {
  quit: /quit/,
  paused: /pause/,
  refreshMs: /refresh/,
  window: /window/,
  sort: /sort/,
  help: /help/,
  stackWorker: /stack/,
  poolIndex: /pool/,
};

describe('the dashboard keys in the docs', () => {
  const rows = keyRows(read('docs/MONITORING_GUIDE.md'));

  it('reads the table (so the checks below can fail)', () => {
    expect(keyRows('<!-- dashboard-keys:start -->\n| key | effect |\n|---|---|\n| `q`, Ctrl-C | quit |\n<!-- dashboard-keys:end -->\n')).toEqual([
      { keys: ['q', '\u0003'], names: ['`q`', 'Ctrl-C'], effect: 'quit' },
    ]);
    expect(rows.length).toBeGreaterThanOrEqual(10);
    expect(changes('x')).toEqual([]);
    expect(changes('1')).toEqual(['window']); // from the 5-minute window: the start is 1m already
    expect(changes('\u001b')).toEqual(['help']);
  });

  it('every key of a row does the same, rows differ, and the effect names what changes', () => {
    const seen = new Map<string, string>();
    for (const row of rows) {
      const first = behaviour(row.keys[0]!);
      for (const k of row.keys) expect(behaviour(k), `${row.names.join(', ')}: ${JSON.stringify(k)}`).toEqual(first);
      const fields = changes(row.keys[0]!);
      expect(fields.length, `${row.names.join(', ')} does something`).toBeGreaterThan(0);
      for (const f of fields) expect(row.effect, `${row.names.join(', ')} changes ${f}`).toMatch(WORD[f]!);
      const key = JSON.stringify(first);
      expect(seen.get(key), `${row.names.join(', ')} does what another row does`).toBeUndefined();
      seen.set(key, row.names.join(', '));
    }
  });

  it('every key the handler reacts to is in the table', () => {
    const listed = new Set(rows.flatMap((r) => r.keys));
    const reacts: string[] = [];
    for (let c = 0; c < 128; c++) {
      const k = String.fromCharCode(c);
      // An unknown key returns the same view object (reduceKey's contract).
      if (STATES.some((v) => { const r = reduceKey(v, k); return r.quit || r.view !== v; })) reacts.push(k);
    }
    expect(reacts.length).toBeGreaterThanOrEqual(15);
    expect(reacts.filter((k) => !listed.has(k)).map((k) => JSON.stringify(k))).toEqual([]);
    expect([...listed].filter((k) => !reacts.includes(k)).map((k) => JSON.stringify(k))).toEqual([]);
  });

  it('the short key lists name every row\'s first key', () => {
    const primary = rows.map((r) => r.names[0]!).filter((n) => n !== 'Esc');
    const lists: [string, string][] = [
      ['README.md', /^Dashboard keys:[\s\S]*?\n\n/m.exec(read('README.md'))?.[0] ?? ''],
      ['docs/OPERATIONS_PLAYBOOK.md', /^Keys: [\s\S]*?\n\n/m.exec(read('docs/OPERATIONS_PLAYBOOK.md'))?.[0] ?? ''],
      ['dspex help monitor', (monitorCommand.notes ?? []).join(' ')],
      ['footer', renderFooter(initialViewState(), { width: 400, color: false })],
      ['help overlay', renderHelp(initialViewState(), { width: 400, color: false }).join('\n')],
    ];
    for (const [where, text] of lists) {
      expect(text, where).not.toBe('');
      for (const name of primary) {
        const bare = name.replace(/`/g, '');
        // Markdown writes keys in backticks; the terminal's own lists write them plain.
        const escaped = bare.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        const pattern = where.endsWith('.md') ? new RegExp(`\`${escaped}\`|(^|[\\s/])${escaped}([\\s/,]|$)`, 'i') : new RegExp(`(^|[\\s/,])${escaped}([\\s/,:]|$)`, 'i');
        expect(text, `${where} names ${bare}`).toMatch(pattern);
      }
    }
  });
});
