import { describe, expect, expectTypeOf, it } from 'vitest';
import diagnostics_channel from 'node:diagnostics_channel';
import { readFileSync } from 'node:fs';
import { poolOptionsSchema } from '../../src/pool/options-schema.js';
import { telemetryCatalog } from '../../src/telemetry/catalog.js';
import {
  ALL_GROUPS,
  OPERATION_CHANNEL,
  channels,
  groupEnabled,
  operationChannel,
  telemetryEvents,
  telemetryGroups,
  telemetryMask,
  type OperationContext,
  type PoolInitEvent,
  type ResourceSampleEvent,
  type TelemetryEventMap,
  type TelemetryEventName,
  type TelemetryGroup,
  type WorkerCheckoutEvent,
} from '../../src/telemetry/telemetry.js';

const names = Object.keys(telemetryCatalog);
const entry = (name: string) => telemetryCatalog[name as keyof typeof telemetryCatalog] as { group: string; tracing?: true };

/** The rows of the channel table in the guide's telemetry section: name, group, tracing. */
function documentedChannels(): { name: string; group: string; tracing: boolean }[] {
  const guide = readFileSync(new URL('../../docs/MONITORING_GUIDE.md', import.meta.url), 'utf8');
  const section = guide.slice(guide.indexOf('## Telemetry'), guide.indexOf('\n## ', guide.indexOf('## Telemetry') + 1));
  const rows: { name: string; group: string; tracing: boolean }[] = [];
  for (const m of section.matchAll(/^\| `(dspex:[^`]+)`( \(tracing\))? \| (\w+) \|/gm)) rows.push({ name: m[1]!, group: m[3]!, tracing: m[2] !== undefined });
  return rows;
}

describe('the catalog', () => {
  it('is the one list: names, groups and the tracing flag of telemetryEvents come from it, in its order', () => {
    expect(telemetryEvents.map((e) => e.name)).toEqual(names);
    for (const e of telemetryEvents) expect({ group: e.group, tracing: e.tracing }).toEqual({ group: entry(e.name).group, tracing: entry(e.name).tracing === true });
    expect(telemetryEvents.filter((e) => e.tracing).map((e) => e.name)).toEqual([OPERATION_CHANNEL]);
  });

  it('has a held channel object for every channel, the one diagnostics_channel hands out for the name', () => {
    const plain = telemetryEvents.filter((e) => !e.tracing).map((e) => e.name);
    expect(Object.keys(channels).sort()).toEqual([...plain].sort());
    for (const name of plain) expect(channels[name as TelemetryEventName], name).toBe(diagnostics_channel.channel(name));
    for (const phase of ['start', 'end', 'asyncStart', 'asyncEnd', 'error'] as const) {
      expect(operationChannel[phase], phase).toBe(diagnostics_channel.channel(`tracing:${OPERATION_CHANNEL}:${phase}`));
    }
  });

  it('derives the groups, their mask bits and the telemetry.disabled option from it', () => {
    expect(telemetryGroups).toEqual(['pool', 'worker', 'operation', 'queue', 'error', 'session', 'resource', 'python', 'advisor', 'alert']);
    expect(ALL_GROUPS).toBe(2 ** telemetryGroups.length - 1);
    expect(telemetryMask(telemetryGroups)).toBe(0);
    for (const g of telemetryGroups) {
      const mask = telemetryMask([g]);
      expect(groupEnabled(mask, g), g).toBe(false);
      for (const other of telemetryGroups) if (other !== g) expect(groupEnabled(mask, other), `${g} off, ${other}`).toBe(true);
    }
    expect(poolOptionsSchema.parse({ telemetry: { disabled: [...telemetryGroups] } }).telemetry.disabled).toEqual(telemetryGroups);
    expect(poolOptionsSchema.safeParse({ telemetry: { disabled: ['metrics'] } }).success).toBe(false);
  });

  it('agrees with the channel table of docs/MONITORING_GUIDE.md (name, group, tracing), both ways', () => {
    const documented = documentedChannels();
    const key = (e: { name: string; group: string; tracing: boolean }) => `${e.name} ${e.group}${e.tracing ? ' (tracing)' : ''}`;
    expect(documented.map(key).sort()).toEqual(telemetryEvents.map(key).sort());
    // Every channel the guide mentions anywhere (outside the table too) is in the catalog.
    const guide = readFileSync(new URL('../../docs/MONITORING_GUIDE.md', import.meta.url), 'utf8');
    const mentioned = new Set([...guide.matchAll(/'(dspex:[a-z_:]+)'|`(dspex:[a-z_:]+)`/g)].map((m) => (m[1] ?? m[2])!));
    for (const name of mentioned) expect(names, name).toContain(name);
  });

  it('keeps the public types (compile-time: tsc checks these)', () => {
    expectTypeOf<TelemetryGroup>().toEqualTypeOf<'pool' | 'worker' | 'operation' | 'queue' | 'error' | 'session' | 'resource' | 'python' | 'advisor' | 'alert'>();
    expectTypeOf<TelemetryEventName>().toEqualTypeOf<
      | 'dspex:pool:init'
      | 'dspex:pool:terminate'
      | 'dspex:worker:init'
      | 'dspex:worker:terminate'
      | 'dspex:worker:checkout'
      | 'dspex:worker:checkin'
      | 'dspex:worker:health_check'
      | 'dspex:pool:queue:depth'
      | 'dspex:pool:queue:rejected'
      | 'dspex:pool:error'
      | 'dspex:pool:recovery'
      | 'dspex:pool:resize'
      | 'dspex:session:expire'
      | 'dspex:resource:sample'
      | 'dspex:python:metrics'
      | 'dspex:worker:recycle'
      | 'dspex:pool:configure'
      | 'dspex:advisor:tuning'
      | 'dspex:alert:pending'
      | 'dspex:alert:firing'
      | 'dspex:alert:resolved'
      | 'dspex:alert:notification'
    >();
    expectTypeOf<TelemetryEventMap['dspex:pool:init']>().toEqualTypeOf<PoolInitEvent>();
    expectTypeOf<TelemetryEventMap['dspex:worker:checkout']>().toEqualTypeOf<WorkerCheckoutEvent>();
    expectTypeOf<TelemetryEventMap['dspex:resource:sample']>().toEqualTypeOf<ResourceSampleEvent>();
    expectTypeOf(operationChannel).toEqualTypeOf<diagnostics_channel.TracingChannel<unknown, OperationContext>>();
    expectTypeOf<typeof OPERATION_CHANNEL>().toEqualTypeOf<'dspex:pool:operation'>();
  });
});
