/**
 * The AlertManager over a real MetricsCollector (fed with recorded operations, ManualClock):
 * notifications once on firing, after repeatIntervalMs, once on resolution; silences and
 * inhibition; invalid rules; the history ring; restore semantics with an in-test AlertChannel.
 */
import { describe, expect, it } from 'vitest';
import { MetricsCollector } from '../../src/index.js';
import { ManualClock } from '../../src/contract/clock.js';
import type { AlertChannel, AlertNotification, ChannelStats, DeliveryResult, RestoredAlert } from '../../src/contract/alerts.js';
import { AlertManager, type AlertRule } from '../../src/alerts/index.js';
import { isPythonBridgeError } from '../../src/contract/errors.js';
import { EventCollector } from '../helpers/events.js';

/** A real channel: records what it is sent, and restores what it was given. */
class RecordingChannel implements AlertChannel {
  readonly type = 'recording';
  readonly sent: AlertNotification[] = [];
  closed = false;
  constructor(readonly name = 'rec', private readonly kept: RestoredAlert[] = [], private readonly hang = false) {}
  send(n: AlertNotification): Promise<DeliveryResult> {
    this.sent.push(n);
    return this.hang ? new Promise(() => undefined) : Promise.resolve({ status: 'sent', attempts: 1 });
  }
  stats(): ChannelStats {
    return { name: this.name, type: this.type, sent: this.sent.length, failed: 0, dropped: 0, rateLimited: 0, queued: 0, lastError: null, lastSentMs: null };
  }
  restore(): Promise<RestoredAlert[]> {
    return Promise.resolve(this.kept);
  }
  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
  reasons(): string[] {
    return this.sent.map((n) => `${n.reason}:${n.alerts.map((a) => `${a.alertname}/${a.labels.pool ?? ''}`).join(',')}`);
  }
}

let n = 0;
function setup(pools: string[] = ['a']) {
  const clock = new ManualClock(1_700_000_000_000);
  const collector = new MetricsCollector({ clock, timer: false });
  collector.start();
  const names = pools.map((p) => `${p}-${process.pid}-${++n}`);
  /** One second of `ops` operations on a pool, `errors` of them failed. */
  const second = (pool: string, ops: number, errors: number) => {
    for (let i = 0; i < ops; i++) collector.recordOperation({ pool, command: 'c', sessionId: null, workerId: 0, pid: 1, timestampMs: clock.nowMs(), queueWaitNs: 1000, durationNs: 1e6, ...(i < errors ? { error: new Error('x') } : {}) });
    clock.advance(1000);
    collector.tick();
  };
  return { clock, collector, names, second };
}

const errorRule = (over: Partial<AlertRule> = {}): AlertRule => ({ name: 'HighErrors', kind: 'threshold', signal: 'pool.errorRate', window: '1m', op: '>', value: 0.2, severity: 'warning', annotations: { summary: '{{pool}} fails {{value}}' }, ...over }) as AlertRule;

describe('AlertManager', () => {
  it('notifies once on firing, again after repeatIntervalMs, once on resolution; publishes transitions', async () => {
    const { clock, collector, names, second } = setup();
    const ch = new RecordingChannel();
    const events = new EventCollector(['dspex:alert:firing', 'dspex:alert:resolved', 'dspex:alert:notification']);
    const m = new AlertManager({ collector, clock, channels: [ch], rules: [errorRule({ forMs: 10_000 })], repeatIntervalMs: 60_000 });
    await m.start();
    const pool = names[0]!;
    for (let s = 0; s < 5; s++) second(pool, 10, 5);
    m.evaluate();
    expect(m.activeAlerts().map((a) => a.state)).toEqual(['pending']);
    for (let s = 0; s < 10; s++) second(pool, 10, 5);
    m.evaluate();
    expect(m.activeAlerts()[0]).toMatchObject({ state: 'firing', pool, annotations: { summary: `${pool} fails 0.5` } });
    for (let s = 0; s < 30; s++) second(pool, 10, 5);
    m.evaluate();
    expect(ch.sent.length).toBe(1); // dedup: still firing, no repeat yet
    for (let s = 0; s < 40; s++) second(pool, 10, 5);
    m.evaluate(); // > 60 s since the first notification
    for (let s = 0; s < 60; s++) second(pool, 10, 0); // the 1m window is clean again
    m.evaluate();
    m.evaluate();
    expect(ch.reasons()).toEqual([`firing:HighErrors/${pool}`, `repeat:HighErrors/${pool}`, `resolved:HighErrors/${pool}`]);
    const resolved = ch.sent[2]!;
    expect(resolved.status).toBe('resolved');
    expect(resolved.alerts[0]!.endsAtMs).toBe(clock.nowMs());
    expect(resolved.alerts[0]!.fingerprint).toBe(ch.sent[0]!.alerts[0]!.fingerprint);
    expect(m.snapshotAlerts()).toEqual([]);
    expect(events.events.filter((e) => (e.payload as { rule?: string; notification?: { alerts: { labels: { pool?: string } }[] } }).rule === 'HighErrors' || (e.payload as { notification?: { alerts: { labels: { pool?: string } }[] } }).notification?.alerts[0]?.labels.pool === pool).map((e) => e.channel)).toEqual(['dspex:alert:firing', 'dspex:alert:notification', 'dspex:alert:notification', 'dspex:alert:resolved', 'dspex:alert:notification']);
    expect(m.alertHistory().map((t) => `${t.from}>${t.to}`)).toEqual(['inactive>pending', 'pending>firing', 'firing>resolved']);
    expect(m.tickStats()).toMatchObject({ running: true, ticks: 6, errors: 0 });
    await m.stop();
    events.stop();
    expect(ch.closed).toBe(true);
    expect(m.tickStats().running).toBe(false);
    collector.stop();
  });

  it('rejects invalid rules naming the field, and skips a bad constructor rule while the others run', () => {
    const { clock, collector, names, second } = setup();
    const logged: string[] = [];
    const m = new AlertManager({
      collector,
      clock,
      logger: { info: () => undefined, warn: (_o, msg) => logged.push(msg ?? '') },
      rules: [errorRule(), { name: 'Bad', kind: 'threshold', signal: 'pool.errorRate', op: '=>', value: 1 }, { name: 'Bad2', kind: 'anomaly', signal: 'pool.nope' }],
    });
    expect(m.listRules().map((r) => r.name)).toEqual(['HighErrors']);
    expect(m.ruleErrors().map((e) => [e.index, e.name, e.error.details.option])).toEqual([
      [1, 'Bad', 'rules.1.op'],
      [2, 'Bad2', 'rules.2.signal'],
    ]);
    expect(logged.length).toBe(2);
    let caught: unknown;
    try {
      m.addRule({ name: 'X', kind: 'composite', op: 'all', conditions: [{ kind: 'rate', signal: 'pool.errorRate', mode: 'ratio', op: '>', value: 3, overMs: 10 }] });
    } catch (err) {
      caught = err;
    }
    expect(isPythonBridgeError(caught, 'invalid_request')).toBe(true);
    expect(caught).toMatchObject({ type: 'invalid_options', details: { option: 'rule.conditions.0.overMs' } });
    expect(() => m.addRule({ name: 'Y', kind: 'threshold', signal: 'pool.errorRate', op: '>', value: 1, forMs: -1 })).toThrow(/rule\.forMs/);
    expect(m.listRules().length).toBe(1);
    for (let s = 0; s < 3; s++) second(names[0]!, 10, 10);
    expect(m.evaluate().map((t) => t.to)).toEqual(['firing']);
    collector.stop();
  });

  it('silences by matchers until they expire; a critical alert inhibits its pool warnings only', () => {
    const { clock, collector, names, second } = setup(['a', 'b']);
    const [a, b] = names as [string, string];
    const ch = new RecordingChannel();
    const m = new AlertManager({
      collector,
      clock,
      channels: [ch],
      rules: [errorRule(), errorRule({ name: 'VeryHighErrors', value: 0.6, severity: 'critical' }), { name: 'Busy', kind: 'threshold', signal: 'pool.throughputPerS', op: '>', value: 0.1, severity: 'info' }],
    });
    // a: 80% errors (critical + warning + info), b: 50% errors (warning + info).
    for (let s = 0; s < 3; s++) {
      for (let i = 0; i < 10; i++) collector.recordOperation({ pool: a, command: 'c', sessionId: null, workerId: 0, pid: 1, timestampMs: clock.nowMs(), queueWaitNs: 0, durationNs: 1e6, ...(i < 8 ? { error: new Error('x') } : {}) });
      second(b, 10, 5);
    }
    const silenceId = m.silence([{ name: 'alertname', value: 'Busy' }, { name: 'pool', value: `${b.slice(0, 1)}.*`, op: '=~' }], clock.nowMs() + 30_000);
    expect(m.silences().map((s) => s.id)).toEqual([silenceId]);
    m.evaluate();
    // a's warning and info are inhibited by its critical; b's info is silenced.
    expect(ch.reasons().sort()).toEqual([`firing:HighErrors/${b}`, `firing:VeryHighErrors/${a}`].sort());
    expect(m.activeAlerts().filter((x) => x.muted).map((x) => `${x.rule}/${x.pool}`).sort()).toEqual([`Busy/${a}`, `Busy/${b}`, `HighErrors/${a}`].sort());
    clock.advance(31_000);
    collector.tick();
    m.evaluate(); // the silence expired: b's Busy is notified now (still firing)
    expect(ch.reasons().slice(2)).toEqual([`firing:Busy/${b}`]);
    expect(m.silences()).toEqual([]);
    expect(() => m.silence({}, clock.nowMs() + 1000)).toThrow(/matchers/);
    expect(() => m.silence({ pool: 'x' }, clock.nowMs() - 1)).toThrow(/untilMs/);
    expect(() => m.silence([{ name: 'pool', value: '(', op: '=~' }], clock.nowMs() + 1000)).toThrow(/regular expression/);
    expect(m.unsilence(silenceId)).toBe(false);
    collector.stop();
  });

  it('keeps the history in a bounded ring, newest last', () => {
    const { clock, collector, names, second } = setup();
    const m = new AlertManager({ collector, clock, historyLimit: 5, rules: [{ name: 'Flap', kind: 'threshold', signal: 'pool.throughputPerS', window: '1m', op: '>', value: 0 }] });
    for (let k = 0; k < 8; k++) {
      second(names[0]!, 5, 0);
      m.evaluate(); // fires
      for (let s = 0; s < 61; s++) second(names[0]!, 0, 0);
      m.evaluate(); // resolves
    }
    const h = m.alertHistory();
    expect(h.length).toBe(5);
    expect(h.map((t) => t.to)).toEqual(['resolved', 'firing', 'resolved', 'firing', 'resolved']);
    expect(h.every((t, i) => i === 0 || t.atMs >= h[i - 1]!.atMs)).toBe(true);
    expect(m.alertHistory({ limit: 2 }).length).toBe(2);
    expect(m.alertHistory({ sinceMs: h[4]!.atMs }).length).toBe(1);
    collector.stop();
  });

  it('resumes restored alerts: still holding → no new notification; no longer holding → resolved once; rule gone → resolved once', async () => {
    const { clock, collector, names, second } = setup(['a', 'b']);
    const [a, b] = names as [string, string];
    // Find the fingerprints the manager computes, with a throwaway manager.
    const probe = new AlertManager({ collector, clock, rules: [errorRule()] });
    for (let s = 0; s < 3; s++) {
      second(a, 10, 10);
      second(b, 10, 10);
    }
    probe.evaluate();
    const fps = new Map(probe.activeAlerts().map((x) => [x.pool, x]));
    // b recovers before the restart.
    for (let s = 0; s < 61; s++) second(a, 10, 10);
    const kept: RestoredAlert[] = [a, b].map((p) => ({ fingerprint: fps.get(p)!.fingerprint, alertname: 'HighErrors', status: 'firing', labels: fps.get(p)!.labels, startsAtMs: clock.nowMs() - 60_000, lastNotifiedMs: clock.nowMs() - 30_000 }));
    kept.push({ fingerprint: '0123456789abcdef', alertname: 'RemovedRule', status: 'firing', labels: { alertname: 'RemovedRule', severity: 'critical' }, startsAtMs: 1, lastNotifiedMs: 2 });
    const ch = new RecordingChannel('rec', kept);
    const hanging = new RecordingChannel('hang', [], true);
    const m = new AlertManager({ collector, clock, channels: [ch, hanging], rules: [errorRule()] });
    await m.start();
    m.evaluate();
    m.evaluate();
    // A restored alert is held for its window (the metrics may be rebuilding from zero after a
    // restart): b's resolution waits for it; the rule that is gone resolves at once.
    expect(ch.reasons()).toEqual(['resolved:RemovedRule/']);
    for (let s = 0; s < 61; s++) {
      second(a, 10, 10);
      m.evaluate();
    }
    expect(ch.reasons().sort()).toEqual([`resolved:HighErrors/${b}`, 'resolved:RemovedRule/'].sort());
    expect(m.activeAlerts().map((x) => [x.pool, x.state, x.firingSinceMs])).toEqual([[a, 'firing', kept[0]!.startsAtMs]]);
    // The hanging channel got the same notifications and never delayed evaluation.
    await new Promise((r) => setImmediate(r));
    expect(hanging.sent.length).toBe(2);
    expect(m.dispatchStats()).toMatchObject({ notifications: 2, sent: 2, inFlight: 2 });
    await m.stop();
    collector.stop();
  });
});
