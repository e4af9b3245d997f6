import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FileChannel, parseJournal } from '../../../src/alerts/channels/index.js';
import { alert, notification, resolved } from './helpers.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'dspex-file-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function open(options: ConstructorParameters<typeof FileChannel>[0]): { ch: FileChannel; warnings: { obj: object; msg?: string }[] } {
  const warnings: { obj: object; msg?: string }[] = [];
  const ch = new FileChannel({ logger: { warn: (obj, msg) => warnings.push({ obj, msg }) }, ...options });
  cleanups.push(() => ch.close());
  return { ch, warnings };
}

const lines = (path: string): Record<string, unknown>[] =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('file channel', () => {
  it('appends one JSON line per notification; restore gives the last state per fingerprint', async () => {
    const path = join(tempDir(), 'alerts.jsonl');
    const { ch } = open({ path });
    const a = alert();
    const b = alert({ fingerprint: 'bbbbbbbbbbbbbbbb', alertname: 'DspexQueueSaturated' });
    expect(await ch.send(notification({ timestampMs: 1000 }, [a]))).toEqual({ status: 'sent', attempts: 1 });
    await ch.send(notification({ timestampMs: 2000 }, [b]));
    await ch.send(notification({ timestampMs: 3000 }, [resolved(a)]));
    const recs = lines(path);
    expect(recs.map((r) => [r['kind'], r['status']])).toEqual([
      ['notification', 'firing'],
      ['notification', 'firing'],
      ['notification', 'resolved'],
    ]);
    expect(ch.stats()).toMatchObject({ type: 'file', sent: 3, failed: 0, queued: 0 });
    const { ch: again } = open({ path });
    const restored = await again.restore();
    expect(restored).toEqual([
      { fingerprint: b.fingerprint, alertname: 'DspexQueueSaturated', status: 'firing', labels: b.labels, startsAtMs: b.startsAtMs, lastNotifiedMs: 2000 },
      { fingerprint: a.fingerprint, alertname: a.alertname, status: 'resolved', labels: a.labels, startsAtMs: a.startsAtMs, lastNotifiedMs: 1000 },
    ]);
  });

  it('is fsync-durable when send resolves: the bytes are in the file', async () => {
    const path = join(tempDir(), 'alerts.jsonl');
    const { ch } = open({ path });
    const n = notification();
    await ch.send(n);
    // Read through another descriptor: what the channel reported sent is on disk.
    expect(readFileSync(path, 'utf8')).toContain(`"id":"${n.id}"`);
  });

  it('rotates by size, keeps maxFiles, carries firing state into each new file, and restores from the current one', async () => {
    const dir = tempDir();
    const path = join(dir, 'alerts.jsonl');
    const { ch } = open({ path, maxBytes: 2000, maxFiles: 2 });
    const keep = alert({ fingerprint: 'keepkeepkeepkeep', alertname: 'DspexWorkerCrashLoop' });
    const first = notification({ timestampMs: 10 }, [keep]);
    await ch.send(first);
    for (let i = 0; i < 30; i++) {
      const x = alert({ fingerprint: `f${String(i).padStart(15, '0')}` });
      await ch.send(notification({ timestampMs: 100 + i }, [x]));
      await ch.send(notification({ timestampMs: 200 + i }, [resolved(x)]));
    }
    expect(existsSync(`${path}.1`)).toBe(true);
    expect(existsSync(`${path}.2`)).toBe(true);
    expect(existsSync(`${path}.3`)).toBe(false);
    for (const p of [path, `${path}.1`, `${path}.2`]) expect(statSync(p).size).toBeLessThanOrEqual(2000 + 1500);
    const head = lines(path)[0]!;
    expect(head['kind']).toBe('state');
    // The state before the record that triggered the rotation: `keep`, and at most the alert
    // whose resolution follows in the same write.
    expect((head['alerts'] as { fingerprint: string }[]).map((a) => a.fingerprint)[0]).toBe('keepkeepkeepkeep');
    // The first firing is gone from every kept file: only the state records carry it.
    for (const p of [path, `${path}.1`, `${path}.2`]) expect(readFileSync(p, 'utf8')).not.toContain(first.id);
    const { ch: again } = open({ path, maxBytes: 2000, maxFiles: 2 });
    const restored = await again.restore();
    const firing = restored.filter((r) => r.status === 'firing');
    expect(firing).toEqual([{ fingerprint: 'keepkeepkeepkeep', alertname: 'DspexWorkerCrashLoop', status: 'firing', labels: keep.labels, startsAtMs: keep.startsAtMs, lastNotifiedMs: 10 }]);
    expect(ch.stats()).toMatchObject({ sent: 61, failed: 0 });
  });

  it('reads the rotated files when the current one has no state record', async () => {
    const dir = tempDir();
    const path = join(dir, 'alerts.jsonl');
    const a = alert();
    writeFileSync(`${path}.1`, `${JSON.stringify({ v: 1, kind: 'notification', ...notification({ timestampMs: 5 }, [a]) })}\n`);
    writeFileSync(path, ''); // a crash between the rename and the first write
    const { ch } = open({ path });
    expect((await ch.restore()).map((r) => [r.fingerprint, r.status])).toEqual([[a.fingerprint, 'firing']]);
  });

  it('skips a torn last line with a warning; the next record starts on a fresh line', async () => {
    const path = join(tempDir(), 'alerts.jsonl');
    const { ch } = open({ path });
    const a = alert();
    await ch.send(notification({ timestampMs: 7 }, [a]));
    await ch.close();
    appendFileSync(path, '{"v":1,"kind":"notification","id":"torn","alerts":[{"fingerpr');
    const { ch: again, warnings } = open({ path });
    expect((await again.restore()).map((r) => r.status)).toEqual(['firing']);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.msg).toMatch(/torn last line/);
    expect(warnings[0]!.obj).toMatchObject({ line: 2, torn: true });
    await again.send(notification({ timestampMs: 8 }, [resolved(a)]));
    const text = readFileSync(path, 'utf8').split('\n');
    expect(text).toHaveLength(4); // record, torn, record, ''
    expect(JSON.parse(text[2]!)).toMatchObject({ kind: 'notification', status: 'resolved' });
  });

  it('does not write a notification id twice (a retry after a restart)', async () => {
    const path = join(tempDir(), 'alerts.jsonl');
    const { ch } = open({ path });
    const n = notification();
    await ch.send(n);
    await ch.close();
    const { ch: again } = open({ path });
    expect(await again.send(n)).toEqual({ status: 'sent', attempts: 0 });
    expect(lines(path)).toHaveLength(1);
  });

  it('parseJournal: pure, ignores unknown versions, a state record resets what came before', () => {
    const a = alert();
    const text = [
      JSON.stringify({ v: 1, kind: 'notification', ...notification({ timestampMs: 1 }, [a]) }),
      'not json',
      JSON.stringify({ v: 2, kind: 'notification' }),
      JSON.stringify({ v: 1, kind: 'state', atMs: 2, alerts: [] }),
      '',
    ].join('\n');
    const p = parseJournal(text);
    expect(p.startsWithState).toBe(false);
    expect([...p.alerts.values()]).toEqual([]);
    expect(p.skipped).toEqual([
      { line: 2, last: false },
      { line: 3, last: false },
    ]);
  });

  it('survives a real restart: a child process writes a firing notification and is SIGKILLed; a new channel restores it', async () => {
    const dir = tempDir();
    const path = join(dir, 'alerts.jsonl');
    // The child runs the channel's real code: the two modules it needs, transpiled as they are.
    const out = join(dir, 'channels');
    mkdirSync(out);
    const src = fileURLToPath(new URL('../../../src/alerts/channels/', import.meta.url));
    for (const f of ['file.ts', 'delivery-queue.ts']) {
      const js = ts.transpileModule(readFileSync(join(src, f), 'utf8'), { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
      writeFileSync(join(out, f.replace(/\.ts$/, '.js')), js);
    }
    writeFileSync(join(out, 'package.json'), '{"type":"module"}');
    const firing = notification({ timestampMs: 4242 }, [alert({ fingerprint: 'c0ffeec0ffeec0ff', alertname: 'DspexPythonRssHigh' })]);
    const script = `
      import { FileChannel } from ${JSON.stringify(pathToFileURL(join(out, 'file.js')).href)};
      import { appendFileSync } from 'node:fs';
      const ch = new FileChannel({ path: ${JSON.stringify(path)} });
      const r = await ch.send(${JSON.stringify(firing)});
      // Then a record cut short, as a kill in the middle of a write leaves it, and wait to be killed.
      appendFileSync(${JSON.stringify(path)}, '{"v":1,"kind":"notification","id":"half","alerts":[{"fingerprint":"c0ffeec0ffeec0ff","status":"reso');
      process.stdout.write(JSON.stringify(r) + '\\n');
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    await vi.waitFor(() => expect(stdout, stderr).toContain('\n'), { timeout: 10_000 });
    expect(JSON.parse(stdout.trim())).toEqual({ status: 'sent', attempts: 1 });
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');

    const { ch, warnings } = open({ path });
    const restored = await ch.restore();
    expect(restored).toEqual([{ fingerprint: 'c0ffeec0ffeec0ff', alertname: 'DspexPythonRssHigh', status: 'firing', labels: firing.alerts[0]!.labels, startsAtMs: firing.alerts[0]!.startsAtMs, lastNotifiedMs: 4242 }]);
    expect(warnings.map((w) => w.msg)).toEqual(['alert journal: torn last line skipped (the process stopped mid-write)']);
    // The restarted process notifies the resolution once; a third instance sees it resolved.
    await ch.send(notification({ timestampMs: 5000 }, [resolved(firing.alerts[0]!)]));
    await ch.close();
    const { ch: third } = open({ path });
    expect((await third.restore()).map((r) => r.status)).toEqual(['resolved']);
  });
});
