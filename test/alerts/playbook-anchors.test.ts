/**
 * Every default rule's runbook link lands on a section of docs/OPERATIONS_PLAYBOOK.md that
 * exists, that section has a decision tree for the rule, and every default rule says what it
 * means (summary, description): an alert whose runbook 404s leaves the on-call engineer alone
 * with it. Links into the playbook (from itself, the guide and the README) land on anchors too.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { defaultAlertRules } from '../../src/index.js';
import { errorCategories, errorTypes } from '../../src/contract/errors.js';

const PLAYBOOK = 'docs/OPERATIONS_PLAYBOOK.md';
const text = readFileSync(fileURLToPath(new URL(`../../${PLAYBOOK}`, import.meta.url)), 'utf8');

/** The anchors a markdown page offers: explicit `<a id>` / `<a name>`, and GitHub's heading slugs. Pure. */
export function anchorsOf(markdown: string): Set<string> {
  const out = new Set<string>();
  for (const m of markdown.matchAll(/<a\s+(?:id|name)="([^"]+)"\s*>/g)) out.add(m[1]!);
  for (const line of markdown.split('\n')) {
    const h = /^#{1,6}\s+(.*)$/.exec(line);
    // GitHub: lower case, drop what is not a letter, digit, space, - or _, spaces to -.
    if (h) out.add(h[1]!.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-'));
  }
  return out;
}

/** The lines of the section an anchor opens: its heading, up to the next heading of level 1–3. Pure. */
export function sectionAt(markdown: string, anchor: string): string[] {
  const lines = markdown.split('\n');
  const at = lines.findIndex((l) => l.includes(`<a id="${anchor}">`));
  if (at < 0) return [];
  const heading = lines.findIndex((l, i) => i > at && /^#{1,6}\s/.test(l));
  const end = lines.findIndex((l, i) => i > heading && /^#{1,3}\s/.test(l));
  return lines.slice(heading, end < 0 ? lines.length : end);
}

/**
 * The decision tree for `rule` in a section: a `**Decision tree …**` line naming the rule in
 * backticks, then its numbered steps; null when there is none. Pure.
 */
export function decisionTree(section: readonly string[], rule: string): { steps: number; arrows: number } | null {
  const start = section.findIndex((l) => /^\*\*Decision tree\b/.test(l) && l.includes(`\`${rule}\``));
  if (start < 0) return null;
  let steps = 0;
  let arrows = 0;
  for (const l of section.slice(start + 1)) {
    if (/^\*\*/.test(l)) break;
    if (/^\d+\.\s/.test(l)) steps++;
    arrows += (l.match(/→/g) ?? []).length;
  }
  return { steps, arrows };
}

/** The `#anchor` targets of links to `file` (or within the page, for `file` ''). Pure. */
export function linkTargets(markdown: string, file: string): string[] {
  const prefix = file === '' ? '' : file.replace(/[.]/g, '\\.');
  return [...markdown.matchAll(new RegExp(`\\]\\((?:[^)#\\s]*/)?${prefix}#([^)\\s]+)\\)`, 'g'))]
    .filter((m) => file !== '' || m[0].startsWith('](#'))
    .map((m) => m[1]!);
}

describe('default rules and the playbook', () => {
  const rules = defaultAlertRules();
  const anchors = anchorsOf(text);

  it('finds explicit anchors and heading slugs (so the check below can fail)', () => {
    expect(anchorsOf('<a id="x1"></a>\n## 2.1 Error rate up — `A`\n')).toEqual(new Set(['x1', '21-error-rate-up--a']));
    expect(anchors.has('nosuchalert')).toBe(false);
  });

  it('every runbook link resolves to an anchor present in the playbook', () => {
    expect(rules.length).toBeGreaterThanOrEqual(17);
    const missing: string[] = [];
    for (const r of rules) {
      const runbook = r.annotations?.runbook ?? '';
      const [file, anchor] = runbook.split('#');
      expect(file, r.name).toBe(PLAYBOOK);
      expect(anchor, r.name).toBe(r.name.toLowerCase());
      if (!anchors.has(anchor!)) missing.push(`${r.name} → #${anchor}`);
    }
    expect(missing).toEqual([]);
  });

  it('every anchor sits right above the section that names its alert', () => {
    const lines = text.split('\n');
    for (const r of rules) {
      const at = lines.findIndex((l) => l.includes(`<a id="${r.name.toLowerCase()}">`));
      expect(at, r.name).toBeGreaterThanOrEqual(0);
      const heading = lines.slice(at + 1).find((l) => l.startsWith('#'));
      expect(heading, r.name).toContain(`\`${r.name}\``);
    }
  });

  it('every rule has a decision tree in its section: named, in steps, each answer leading somewhere', () => {
    const sample = '<a id="x"></a>\n### 9 X — `X`\n**Decision tree — `X`:**\n\n1. a? → b\n2. c? → d\n### next\n';
    expect(decisionTree(sectionAt(sample, 'x'), 'X')).toEqual({ steps: 2, arrows: 2 });
    expect(decisionTree(sectionAt(sample, 'x'), 'Y')).toBeNull();
    const missing: string[] = [];
    for (const r of rules) {
      const tree = decisionTree(sectionAt(text, r.name.toLowerCase()), r.name);
      if (tree === null || tree.steps < 2 || tree.arrows < 2) missing.push(`${r.name}: ${JSON.stringify(tree)}`);
    }
    expect(missing).toEqual([]);
  });

  it('every link into the playbook lands on an anchor (from itself, the guide and the README)', () => {
    expect(linkTargets('see [2.1](#a) and [x](OPERATIONS_PLAYBOOK.md#b) and [y](docs/OPERATIONS_PLAYBOOK.md#c)', '')).toEqual(['a']);
    expect(linkTargets('[x](OPERATIONS_PLAYBOOK.md#b) [y](docs/OPERATIONS_PLAYBOOK.md#c)', 'OPERATIONS_PLAYBOOK.md')).toEqual(['b', 'c']);
    const read = (f: string): string => readFileSync(fileURLToPath(new URL(`../../${f}`, import.meta.url)), 'utf8');
    const targets = [
      ...linkTargets(text, '').map((a) => `playbook → #${a}`),
      ...linkTargets(read('docs/MONITORING_GUIDE.md'), 'OPERATIONS_PLAYBOOK.md').map((a) => `guide → #${a}`),
      ...linkTargets(read('README.md'), 'OPERATIONS_PLAYBOOK.md').map((a) => `README → #${a}`),
    ];
    expect(targets.length).toBeGreaterThanOrEqual(30);
    expect(targets.filter((t) => !anchors.has(t.split('#')[1]!))).toEqual([]);
    // The guide's own links, too.
    const guide = read('docs/MONITORING_GUIDE.md');
    const guideAnchors = anchorsOf(guide);
    expect(linkTargets(guide, '').filter((a) => !guideAnchors.has(a))).toEqual([]);
  });

  it('every rule has a summary and a description annotation', () => {
    for (const r of rules) {
      expect(r.annotations?.summary, r.name).toMatch(/\S{3,}/);
      expect(r.annotations?.description, r.name).toMatch(/\S{3,}/);
    }
  });

  it('a custom playbook location is carried into every link', () => {
    for (const r of defaultAlertRules({ playbook: 'https://wiki.example/dspex' })) expect(r.annotations?.runbook).toBe(`https://wiki.example/dspex#${r.name.toLowerCase()}`);
  });
});

describe('the playbook\'s error-category table', () => {
  it('lists every category and every type of errorTypes (src/contract/errors.ts)', () => {
    const rows = new Map<string, string>();
    const at = text.indexOf('**Error categories**');
    expect(at).toBeGreaterThan(0);
    for (const line of text.slice(at).split('\n').slice(1)) {
      const m = /^\| `(\w+)` \| (.*) \|[^|]*\|$/.exec(line);
      if (m) rows.set(m[1]!, m[2]!);
      else if (rows.size > 0 && !line.startsWith('|')) break;
    }
    expect([...rows.keys()].sort()).toEqual([...errorCategories].sort());
    const missing: string[] = [];
    for (const c of errorCategories) for (const t of errorTypes[c]) if (!rows.get(c)!.includes(`\`${t}\``)) missing.push(`${c}:${t}`);
    expect(missing).toEqual([]);
  });
});
