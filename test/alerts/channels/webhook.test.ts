import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createChannel, FileChannel, GO_ZERO_TIME, sendAlert, WebhookChannel, type WebhookPayload } from '../../../src/alerts/channels/index.js';
import type { AlertChannel } from '../../../src/contract/alerts.js';
import { alert, httpServer, Lines, notification, resolved } from './helpers.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
function track<T extends AlertChannel>(ch: T): T {
  cleanups.push(() => ch.close());
  return ch;
}

describe('webhook channel', () => {
  it('POSTs an Alertmanager v4 payload, field by field', async () => {
    const srv = await httpServer((_r, res) => res.writeHead(200).end('ok'));
    cleanups.push(srv.close);
    const ch = track(new WebhookChannel({ url: srv.url, receiver: 'oncall', externalURL: 'http://dspex.example:9464' }));
    const a = alert({ annotations: { summary: 'error rate above 5%', runbook: 'docs/OPERATIONS_PLAYBOOK.md#x' } });
    const b = alert({ fingerprint: 'ffff000011112222', labels: { alertname: 'DspexHighErrorRate', severity: 'warning', pool: 'other' }, annotations: { summary: 'error rate above 5%' } });
    const n = notification({}, [a, b]);
    expect(await ch.send(n)).toEqual({ status: 'sent', attempts: 1 });
    expect(srv.received).toHaveLength(1);
    const req = srv.received[0]!;
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/hook');
    expect(req.headers['content-type']).toBe('application/json');
    const body = JSON.parse(req.body) as WebhookPayload;
    expect(Object.keys(body).sort()).toEqual(['alerts', 'commonAnnotations', 'commonLabels', 'externalURL', 'groupKey', 'groupLabels', 'receiver', 'status', 'truncatedAlerts', 'version']);
    expect(body.version).toBe('4');
    expect(body.groupKey).toBe('{}:{alertname="DspexHighErrorRate"}');
    expect(body.truncatedAlerts).toBe(0);
    expect(body.status).toBe('firing');
    expect(body.receiver).toBe('oncall');
    expect(body.groupLabels).toEqual({ alertname: 'DspexHighErrorRate' });
    // Labels both alerts share; pool differs, so it is not common.
    expect(body.commonLabels).toEqual({ alertname: 'DspexHighErrorRate', severity: 'warning' });
    expect(body.commonAnnotations).toEqual({ summary: 'error rate above 5%' });
    expect(body.externalURL).toBe('http://dspex.example:9464');
    expect(body.alerts).toHaveLength(2);
    const first = body.alerts[0]!;
    expect(Object.keys(first).sort()).toEqual(['annotations', 'endsAt', 'fingerprint', 'generatorURL', 'labels', 'startsAt', 'status']);
    expect(first.status).toBe('firing');
    expect(first.labels).toEqual({ alertname: 'DspexHighErrorRate', severity: 'warning', pool: 'default' });
    expect(first.annotations).toEqual(a.annotations);
    expect(first.startsAt).toBe('2025-01-02T03:04:05.678Z');
    expect(first.endsAt).toBe(GO_ZERO_TIME);
    expect(first.generatorURL).toBe('');
    expect(first.fingerprint).toBe('a1b2c3d4e5f60718');

    // The resolution: endsAt set, status resolved.
    const r = resolved(a, Date.UTC(2025, 0, 2, 3, 10, 0, 0));
    expect(await ch.send(notification({}, [r]))).toEqual({ status: 'sent', attempts: 1 });
    const body2 = JSON.parse(srv.received[1]!.body) as WebhookPayload;
    expect(body2.status).toBe('resolved');
    expect(body2.alerts[0]!.status).toBe('resolved');
    expect(body2.alerts[0]!.endsAt).toBe('2025-01-02T03:10:00.000Z');
    const s = ch.stats();
    expect(s).toMatchObject({ type: 'webhook', sent: 2, failed: 0, dropped: 0, queued: 0, lastError: null });
    expect(s.name).toBe(`webhook:${srv.url.replace('/hook', '')}/…`); // the path may hold a secret: never shown
  });

  it('retries 500, 500 then succeeds, with the attempts counted', async () => {
    const srv = await httpServer((_r, res, n) => res.writeHead(n <= 2 ? 500 : 200).end());
    cleanups.push(srv.close);
    const ch = track(new WebhookChannel({ url: srv.url, retries: 3, backoffMs: 20, maxBackoffMs: 50 }));
    expect(await ch.send(notification())).toEqual({ status: 'sent', attempts: 3 });
    expect(srv.received).toHaveLength(3);
    // The same payload each time.
    expect(new Set(srv.received.map((r) => r.body)).size).toBe(1);
    expect(ch.stats()).toMatchObject({ sent: 1, failed: 0 });
  });

  it('does not retry a 400, and gives up after the retries on 503 / 429', async () => {
    const srv = await httpServer((r, res) => res.writeHead(r.url === '/bad' ? 400 : r.url === '/busy' ? 429 : 503).end());
    cleanups.push(srv.close);
    const bad = track(new WebhookChannel({ url: srv.url.replace('/hook', '/bad'), retries: 3, backoffMs: 5 }));
    expect(await bad.send(notification())).toEqual({ status: 'failed', attempts: 1, error: 'HTTP 400' });
    expect(srv.received).toHaveLength(1);
    const down = track(new WebhookChannel({ url: srv.url, retries: 2, backoffMs: 5, maxBackoffMs: 10 }));
    expect(await down.send(notification())).toEqual({ status: 'failed', attempts: 3, error: 'HTTP 503' });
    const busy = track(new WebhookChannel({ url: srv.url.replace('/hook', '/busy'), retries: 1, backoffMs: 5 }));
    expect(await busy.send(notification())).toEqual({ status: 'failed', attempts: 2, error: 'HTTP 429' });
    expect(srv.received).toHaveLength(1 + 3 + 2);
    expect(down.stats()).toMatchObject({ sent: 0, failed: 1, lastError: 'HTTP 503' });
  });

  it('retries a refused connection and reports it as failed', async () => {
    const srv = await httpServer((_r, res) => res.writeHead(200).end());
    const url = srv.url;
    await srv.close();
    const ch = track(new WebhookChannel({ url, retries: 2, backoffMs: 5, maxBackoffMs: 10 }));
    const r = await ch.send(notification());
    expect(r.status).toBe('failed');
    expect(r).toMatchObject({ attempts: 3 });
    expect(ch.stats().lastError).toMatch(/ECONNREFUSED/);
  });

  it('a hanging endpoint times out without delaying a file channel; sendAlert reports the file at once', async () => {
    const hung: import('node:http').ServerResponse[] = [];
    const srv = await httpServer((_r, res) => hung.push(res)); // never answers
    cleanups.push(srv.close);
    const dir = mkdtempSync(join(tmpdir(), 'dspex-hook-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const hook = track(new WebhookChannel({ url: srv.url, timeoutMs: 400, retries: 1, backoffMs: 10, maxBackoffMs: 20 }));
    const file = track(new FileChannel({ path: join(dir, 'alerts.jsonl') }));
    const t0 = performance.now();
    const at: Record<string, number> = {};
    const all = sendAlert(notification(), [hook, file], { onResult: (d) => (at[d.type] = performance.now() - t0) });
    // The caller is not held: sendAlert returned a promise at once.
    expect(performance.now() - t0).toBeLessThan(50);
    await vi.waitFor(() => expect(at['file']).toBeDefined(), { timeout: 2000, interval: 5 });
    expect(at['file']!).toBeLessThan(300);
    expect(at['webhook']).toBeUndefined();
    expect(readFileSync(join(dir, 'alerts.jsonl'), 'utf8')).toContain('"kind":"notification"');
    const results = await all;
    expect(at['webhook']!).toBeGreaterThanOrEqual(800); // two attempts of 400 ms
    expect(results[0]!.result).toEqual({ status: 'failed', attempts: 2, error: 'timed out after 400 ms' });
    expect(results[1]!.result).toEqual({ status: 'sent', attempts: 1 });
    expect(srv.received).toHaveLength(2);
  });

  it('a full queue drops the oldest waiting notification, counted in stats.dropped', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const srv = await httpServer((_r, res) => void gate.then(() => res.writeHead(200).end()));
    cleanups.push(srv.close);
    const ch = track(new WebhookChannel({ url: srv.url, queueSize: 2, timeoutMs: 5000 }));
    const ns = [1, 2, 3, 4, 5].map((i) => notification({ id: `q${i}` }, [alert({ fingerprint: `fp${i}` })]));
    const ps = ns.map((n) => ch.send(n));
    // q1 is in flight; q2, q3 waited, then q4 and q5 pushed them out (oldest first).
    await vi.waitFor(() => expect(srv.received).toHaveLength(1));
    expect(ch.stats()).toMatchObject({ queued: 2, dropped: 2 });
    release();
    const results = await Promise.all(ps);
    expect(results.map((r) => r.status)).toEqual(['sent', 'dropped', 'dropped', 'sent', 'sent']);
    expect(results[1]).toEqual({ status: 'dropped', reason: 'queue_full' });
    // Delivered in order.
    const sent = srv.received.map((r) => (JSON.parse(r.body) as WebhookPayload).alerts[0]!.fingerprint);
    expect(sent).toEqual(['fp1', 'fp4', 'fp5']);
    expect(ch.stats()).toMatchObject({ sent: 3, dropped: 2, queued: 0 });
  });

  it('the bearer token, header values and URL credentials reach the server but never stats, errors or logs', async () => {
    const TOKEN = 'tok-9f8e7d6c5b4a-secret';
    const HEADER = 'hdr-value-0a1b2c-secret';
    const srv = await httpServer((r, res) => res.writeHead(r.url.startsWith('/ok') ? 200 : 500).end());
    cleanups.push(srv.close);
    const lines = new Lines();
    const logger = pino({ level: 'debug' }, lines);
    const port = new URL(srv.url).port;
    const ch = track(
      createChannel({ type: 'webhook', url: `http://user:pa55word-secret@127.0.0.1:${port}/ok?key=query-secret-123`, bearerToken: TOKEN, headers: { 'x-api-key': HEADER }, retries: 0 }),
    );
    const failing = track(createChannel({ type: 'webhook', url: `http://127.0.0.1:${port}/fail?key=query-secret-123`, bearerToken: TOKEN, retries: 1, backoffMs: 5 }));
    const log = track(createChannel({ type: 'log', logger }));
    const n = notification();
    const results = await sendAlert(n, [ch, failing, log]);
    for (const d of results) logger.info({ delivery: d, stats: [ch.stats(), failing.stats()] }, 'delivery');
    expect(results.map((r) => r.result.status)).toEqual(['sent', 'failed', 'sent']);
    expect(srv.received[0]!.headers['authorization']).toBe(`Bearer ${TOKEN}`);
    expect(srv.received[0]!.headers['x-api-key']).toBe(HEADER);
    expect(srv.received[0]!.url).toBe('/ok?key=query-secret-123');
    expect(ch.name).toBe(`webhook:http://127.0.0.1:${port}/…`);
    const visible = JSON.stringify([ch.stats(), failing.stats(), ch.name, failing.name, results]) + lines.all;
    for (const secret of [TOKEN, HEADER, 'pa55word-secret', 'query-secret-123']) expect(visible).not.toContain(secret);
    expect(failing.stats().lastError).toBe('HTTP 500');
  });

  it('close() stops retries within its deadline', async () => {
    const srv = await httpServer((_r, res) => res.writeHead(503).end());
    cleanups.push(srv.close);
    const ch = new WebhookChannel({ url: srv.url, retries: 10, backoffMs: 5000, maxBackoffMs: 5000, closeDeadlineMs: 100 });
    const p = ch.send(notification());
    const queued = ch.send(notification());
    await vi.waitFor(() => expect(srv.received.length).toBeGreaterThanOrEqual(1));
    const t0 = performance.now();
    await ch.close();
    expect(performance.now() - t0).toBeLessThan(1000);
    expect((await p).status).toBe('failed');
    expect(await queued).toEqual({ status: 'dropped', reason: 'closed' });
    expect(await ch.send(notification())).toEqual({ status: 'dropped', reason: 'closed' });
  });
});
