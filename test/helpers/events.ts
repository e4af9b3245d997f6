import diagnostics_channel from 'node:diagnostics_channel';
import { vi, expect } from 'vitest';
import { OPERATION_CHANNEL, telemetryEvents } from '../../src/telemetry/telemetry.js';

/** One received event: the channel (for the tracing channel, `dspex:pool:operation:<phase>`) and payload. */
export interface Received {
  channel: string;
  payload: Record<string, unknown>;
}

/**
 * Collects events from catalog channels (all by default) until `stop()`. `waitFor` polls with a
 * deadline instead of sleeping.
 */
export class EventCollector {
  readonly events: Received[] = [];
  private readonly offs: (() => void)[] = [];

  constructor(names: readonly string[] = telemetryEvents.map((e) => e.name), filter: (p: Record<string, unknown>) => boolean = () => true) {
    for (const name of names) {
      if (name === OPERATION_CHANNEL) {
        const tc = diagnostics_channel.tracingChannel(OPERATION_CHANNEL);
        const rec = (phase: string) => (ctx: unknown) => {
          const c = ctx as Record<string, unknown>;
          if (filter(c)) this.events.push({ channel: `${OPERATION_CHANNEL}:${phase}`, payload: { ...c } });
        };
        const handlers = { start: rec('start'), end: rec('end'), asyncStart: rec('asyncStart'), asyncEnd: rec('asyncEnd'), error: rec('error') };
        tc.subscribe(handlers);
        this.offs.push(() => tc.unsubscribe(handlers));
      } else {
        const fn = (msg: unknown): void => {
          const p = msg as Record<string, unknown>;
          if (filter(p)) this.events.push({ channel: name, payload: p });
        };
        diagnostics_channel.subscribe(name, fn);
        this.offs.push(() => diagnostics_channel.unsubscribe(name, fn));
      }
    }
  }

  /** Events of one channel. */
  of(channel: string): Record<string, unknown>[] {
    return this.events.filter((e) => e.channel === channel).map((e) => e.payload);
  }

  /** Wait until `predicate` holds for the events of `channel`, then return them. */
  async waitFor(channel: string, predicate: (events: Record<string, unknown>[]) => boolean = (e) => e.length > 0, timeoutMs = 5000): Promise<Record<string, unknown>[]> {
    await vi.waitFor(() => expect(predicate(this.of(channel)), `waiting for ${channel}`).toBe(true), { timeout: timeoutMs, interval: 10 });
    return this.of(channel);
  }

  /** Distinct channel names seen (tracing phases folded into the base name). */
  channelsSeen(): Set<string> {
    return new Set(this.events.map((e) => (e.channel.startsWith(OPERATION_CHANNEL + ':') ? OPERATION_CHANNEL : e.channel)));
  }

  stop(): void {
    for (const off of this.offs.splice(0)) off();
  }
}
