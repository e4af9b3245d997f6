import { describe, expect, it } from 'vitest';
import { renderStackPanel } from '../../src/dashboard/stack-panel.js';
import { stripAnsi, visibleWidth } from '../../src/dashboard/ansi.js';

describe('renderStackPanel', () => {
  const base = { pool: 'p', workerId: 1, pid: 42, timestampMs: 0 };
  it('shows the dump, threads highlighted, sanitized, within width and height', () => {
    const text = 'Thread 0x1 (most recent call first):\n  File "a.py", line 3 in spin\x1b[31m\n\nCurrent thread 0x2 (most recent call first):\n  File "w.py", line 9 in main';
    const lines = renderStackPanel({ ...base, text, error: null }, { width: 60, height: 20, color: true });
    const plain = lines.map(stripAnsi).join('\n');
    expect(plain).toContain('pool p, worker 1, pid 42');
    expect(plain).toContain('line 3 in spin');
    expect(plain).not.toContain('\x1b[31m');
    for (const l of lines) expect(visibleWidth(l)).toBeLessThanOrEqual(60);
    expect(renderStackPanel({ ...base, text: 'x\n'.repeat(100), error: null }, { width: 60, height: 10, color: false })).toHaveLength(10);
  });
  it('says when the dump is on its way, failed, or there is no worker', () => {
    expect(renderStackPanel({ ...base, text: null, error: null }, { width: 60, color: false }).join('\n')).toContain('taking the stack');
    expect(renderStackPanel({ ...base, text: null, error: 'boom' }, { width: 60, color: false }).join('\n')).toContain('boom');
    expect(renderStackPanel(null, { width: 60, color: false }).join('\n')).toContain('no worker');
  });
});
