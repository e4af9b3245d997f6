import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { createChannel, LogChannel, logLevelOf, parseChannelConfig, sendAlert } from '../../../src/alerts/channels/index.js';
import type { AlertChannel, AlertNotification, ChannelStats, DeliveryResult } from '../../../src/contract/alerts.js';
import { isPythonBridgeError, type PythonBridgeError } from '../../../src/contract/errors.js';
import { alert, Lines, notification, resolved } from './helpers.js';

describe('log channel', () => {
  it('logs at a level by severity with structured fields (pino output captured)', async () => {
    const lines = new Lines();
    const ch = createChannel({ type: 'log', logger: pino({ level: 'debug' }, lines) });
    const info = alert({ severity: 'info', alertname: 'I', fingerprint: '1' });
    const warn = alert({ severity: 'warning', alertname: 'W', fingerprint: '2' });
    const crit = alert({ severity: 'critical', alertname: 'C', fingerprint: '3' });
    expect(await ch.send(notification({}, [info, warn, crit]))).toEqual({ status: 'sent', attempts: 1 });
    await ch.send(notification({}, [resolved(crit)]));
    const recs = lines.records();
    expect(recs.map((r) => [r['level'], (r['alert'] as { alertname: string }).alertname])).toEqual([
      [30, 'I'],
      [40, 'W'],
      [50, 'C'],
      [30, 'C'],
    ]);
    expect(recs[1]).toMatchObject({
      msg: 'alert W firing: error rate above 5%',
      reason: 'firing',
      alert: { fingerprint: '2', status: 'firing', severity: 'warning', labels: warn.labels, annotations: warn.annotations, value: 0.08 },
    });
    expect(recs[3]).toMatchObject({ msg: 'alert C resolved: error rate above 5%', alert: { status: 'resolved' } });
    expect(ch.stats()).toMatchObject({ type: 'log', name: 'log', sent: 2 });
    expect(logLevelOf('critical', 'firing')).toBe('error');
  });

  it('logs a suppressed summary as a warning', async () => {
    const lines = new Lines();
    const ch = new LogChannel({ logger: pino({}, lines) });
    await ch.send(notification({ reason: 'suppressed', suppressed: { count: 4, byAlertname: { A: 4 }, sinceMs: 9 } }, []));
    expect(lines.records()).toMatchObject([{ level: 40, suppressed: { count: 4, byAlertname: { A: 4 }, sinceMs: 9 } }]);
  });

  it('a throwing logger yields a failed result, not an exception', async () => {
    const ch = new LogChannel({ logger: { info: () => undefined, warn: () => { throw new Error('disk full'); }, error: () => undefined } });
    expect(await ch.send(notification())).toEqual({ status: 'failed', attempts: 1, error: 'disk full' });
  });
});

function rejected(config: unknown): PythonBridgeError {
  try {
    createChannel(config as never);
  } catch (err) {
    expect(isPythonBridgeError(err, 'invalid_request')).toBe(true);
    return err as PythonBridgeError;
  }
  throw new Error(`accepted: ${JSON.stringify(config)}`);
}

describe('channel configs', () => {
  it.each([
    [{ type: 'pager' }, 'type'],
    [{ type: 'file' }, 'path'],
    [{ type: 'file', path: 'a', maxBytes: 0 }, 'maxBytes'],
    [{ type: 'webhook', url: 'ftp://x/y' }, 'url'],
    [{ type: 'webhook', url: 'not a url' }, 'url'],
    [{ type: 'webhook', url: 'http://h/', retries: -1 }, 'retries'],
    [{ type: 'webhook', url: 'http://h/', headers: { a: 1 } }, 'headers.a'],
    [{ type: 'webhook', url: 'http://h/', timeoutMs: 1.5 }, 'timeoutMs'],
    [{ type: 'email', smtp: { host: 'h', port: 70000 }, from: 'a@b', to: 'c@d' }, 'smtp.port'],
    [{ type: 'email', smtp: { host: 'h', port: 25, auth: { user: 'u' } }, from: 'a@b', to: 'c@d' }, 'smtp.auth.pass'],
    [{ type: 'email', smtp: { host: 'h', port: 25 }, from: 'nobody', to: 'c@d' }, 'from'],
    [{ type: 'email', smtp: { host: 'h', port: 25 }, from: 'a@b', to: [] }, 'to'],
    [{ type: 'log', logger: { info: 1 } }, 'logger'],
    [{ type: 'log', rateLimit: { burst: 0, perMinute: 1 } }, 'rateLimit.burst'],
    [{ type: 'log', colour: 'red' }, 'colour'],
  ])('rejects %j naming %s', (config, field) => {
    const err = rejected(config);
    expect(err.type).toBe('invalid_options');
    expect(err.details.option).toBe(field);
    expect(err.message).toContain(`'${field}'`);
  });

  it('never echoes a value (a secret) in the error', () => {
    const err = rejected({ type: 'webhook', url: 'http://h/', bearerToken: 'tok-secret-x', retries: 'tok-secret-y' });
    expect(JSON.stringify({ m: err.message, d: err.details })).not.toContain('secret');
  });

  it('accepts every documented field; a channel object passes through', () => {
    expect(parseChannelConfig({ type: 'webhook', url: 'https://h:9/p', timeoutMs: 1, retries: 0, backoffMs: 1, maxBackoffMs: 2, queueSize: 1, headers: { a: 'b' }, bearerToken: 't', receiver: 'r', name: 'n', rateLimit: { burst: 1, perMinute: 0.5 } }).type).toBe('webhook');
    expect(parseChannelConfig({ type: 'email', smtp: { host: 'h', port: 587, secure: false, requireTLS: true, auth: { user: 'u', pass: 'p' } }, from: 'Dspex <a@b.c>', to: ['c@d'], subjectPrefix: '[x] ' }).type).toBe('email');
    const own: AlertChannel = {
      type: 'mine',
      name: 'mine',
      send: (_n: AlertNotification): Promise<DeliveryResult> => Promise.resolve({ status: 'sent', attempts: 1 }),
      stats: (): ChannelStats => ({ name: 'mine', type: 'mine', sent: 0, failed: 0, dropped: 0, rateLimited: 0, queued: 0, lastError: null, lastSentMs: null }),
      close: () => Promise.resolve(),
    };
    expect(createChannel(own)).toBe(own);
  });
});

describe('sendAlert', () => {
  it('never throws: a channel that throws or rejects yields a failed result; others are delivered', async () => {
    const lines = new Lines();
    const good = createChannel({ type: 'log', logger: pino({}, lines) });
    const throws: AlertChannel = { type: 'x', name: 'throws', send: () => { throw new Error('boom'); }, stats: () => good.stats(), close: () => Promise.resolve() };
    const rejects: AlertChannel = { type: 'y', name: 'rejects', send: () => Promise.reject(new Error('nope')), stats: () => good.stats(), close: () => Promise.resolve() };
    const seen: string[] = [];
    const results = await sendAlert(notification(), [throws, good, rejects], { onResult: (d) => { seen.push(d.channel); throw new Error('callback'); } });
    expect(results).toEqual([
      { channel: 'throws', type: 'x', result: { status: 'failed', attempts: 0, error: 'boom' } },
      { channel: 'log', type: 'log', result: { status: 'sent', attempts: 1 } },
      { channel: 'rejects', type: 'y', result: { status: 'failed', attempts: 0, error: 'nope' } },
    ]);
    expect(seen.sort()).toEqual(['log', 'rejects', 'throws']);
    expect(lines.records()).toHaveLength(1);
  });
});
