/**
 * `sendAlert`: one notification to every channel at once. It never throws: a channel that throws
 * or rejects yields a `failed` result. Each channel's result is reported by `onResult` as soon as
 * it settles, so a channel that hangs delays nobody else's result; the returned promise resolves
 * when all have settled (channels bound their own time: timeouts, retries, `close()`).
 *
 * @module
 */
import type { AlertChannel, AlertNotification, DeliveryResult } from '../../contract/alerts.js';

/** One channel's outcome for one notification. */
export interface ChannelDelivery {
  /** The channel's display name (safe to log). */
  channel: string;
  type: string;
  result: DeliveryResult;
}

/** Options of {@link sendAlert}. */
export interface SendAlertOptions {
  /** Called once per channel, as soon as that channel's delivery settles (exceptions are swallowed). */
  onResult?: (delivery: ChannelDelivery) => void;
}

function failed(err: unknown): DeliveryResult {
  return { status: 'failed', attempts: 0, error: err instanceof Error ? err.message : String(err) };
}

/** Send `notification` to every channel concurrently; per-channel results in the channels' order. */
export function sendAlert(notification: AlertNotification, channels: readonly AlertChannel[], options: SendAlertOptions = {}): Promise<ChannelDelivery[]> {
  return Promise.all(
    channels.map(async (ch): Promise<ChannelDelivery> => {
      let result: DeliveryResult;
      try {
        result = await ch.send(notification);
      } catch (err) {
        result = failed(err);
      }
      const delivery: ChannelDelivery = { channel: ch.name, type: ch.type, result };
      try {
        options.onResult?.(delivery);
      } catch {
        // A throwing callback must not turn into a rejection of sendAlert.
      }
      return delivery;
    }),
  );
}
