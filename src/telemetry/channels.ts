/**
 * The channel objects of the catalog and the group masks, both computed from the catalog
 * (`telemetryCatalog` in catalog.ts, through {@link telemetryEvents} and {@link telemetryGroups}).
 *
 * Channel objects are held at module level: a channel without a strong reference may be
 * garbage-collected with its subscribers (nodejs/node#42170).
 *
 * @module
 */
import diagnostics_channel from 'node:diagnostics_channel';
import {
  OPERATION_CHANNEL,
  telemetryEvents,
  telemetryGroups,
  type OperationContext,
  type TelemetryEventMap,
  type TelemetryEventName,
  type TelemetryGroup,
  type TelemetryPayload,
} from './catalog.js';

// ---------------------------------------------------------------------------------------------
// Channel objects
// ---------------------------------------------------------------------------------------------

/** The plain (non-tracing) channels of the catalog. */
const plainEvents = telemetryEvents.filter((e) => !e.tracing) as readonly { name: TelemetryEventName; group: TelemetryGroup }[];

/** The channel objects, held at module level (see the module note on garbage collection). */
export const channels: { readonly [K in TelemetryEventName]: diagnostics_channel.Channel } = Object.fromEntries(
  plainEvents.map((e) => [e.name, diagnostics_channel.channel(e.name)]),
) as typeof channels;

/** The tracing channel of pool operations. */
export const operationChannel: diagnostics_channel.TracingChannel<unknown, OperationContext> =
  diagnostics_channel.tracingChannel<TelemetryPayload<typeof OPERATION_CHANNEL>>(OPERATION_CHANNEL);

/** Subscribe to a catalog channel with a typed handler. Returns the function that unsubscribes. */
export function subscribe<K extends TelemetryEventName>(name: K, handler: (payload: TelemetryEventMap[K]) => void): () => void {
  const fn = handler as (message: unknown, name: string | symbol) => void;
  diagnostics_channel.subscribe(name, fn);
  return () => {
    diagnostics_channel.unsubscribe(name, fn);
  };
}

// ---------------------------------------------------------------------------------------------
// Group masks
// ---------------------------------------------------------------------------------------------

/** A set of enabled groups, as a bit mask (cheap to test on hot paths). */
export type TelemetryMask = number;

/** The bit of each group: 1 << its index in {@link telemetryGroups}. Internal (not re-exported). */
export const groupBits = Object.fromEntries(telemetryGroups.map((g, i) => [g, 1 << i])) as Record<TelemetryGroup, number>;

/** The group bit of each plain channel. Internal (not re-exported). */
export const channelBits = Object.fromEntries(plainEvents.map((e) => [e.name, groupBits[e.group]])) as Record<TelemetryEventName, number>;

/** Every group enabled. */
export const ALL_GROUPS: TelemetryMask = (1 << telemetryGroups.length) - 1;

/** The mask with the given groups switched off. */
export function telemetryMask(disabled: readonly TelemetryGroup[] = []): TelemetryMask {
  let mask = ALL_GROUPS;
  for (const g of disabled) mask &= ~groupBits[g];
  return mask;
}

/** True when `group` is enabled in `mask`. */
export function groupEnabled(mask: TelemetryMask, group: TelemetryGroup): boolean {
  return (mask & groupBits[group]) !== 0;
}

/**
 * True when publishing `name` would reach someone: the group is enabled and the channel has
 * subscribers. Call sites on hot paths test this before building a payload.
 */
export function observed(mask: TelemetryMask, name: TelemetryEventName): boolean {
  return (mask & channelBits[name]) !== 0 && channels[name].hasSubscribers;
}
