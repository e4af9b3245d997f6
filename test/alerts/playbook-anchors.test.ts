/**
 * Every default rule's runbook link lands on a section of docs/OPERATIONS_PLAYBOOK.md that
 * exists, and every default rule says what it means (summary, description): an alert whose
 * runbook 404s leaves the on-call engineer alone with it.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { defaultAlertRules } from '../../src/index.js';

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
