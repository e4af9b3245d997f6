/**
 * Publishes a host's report (host-report.ts) to the fleet's metrics stream once a second, with
 * bounded retention (`XADD … MAXLEN ~ n`: Redis trims whole macro nodes, so the bound costs
 * nothing per entry). A failed publish (Redis away) is skipped, never queued: the next second's
 * report supersedes it.
 *
 * @module
 */
import type { Redis } from 'ioredis';
import { buildHostReport, type ReportSource } from './host-report.js';

/** Options of {@link MetricsPublisher}. */
export interface MetricsPublisherOptions {
  redis: Redis;
  stream: string;
  hostId: string;
  incarnation: string;
  collector: ReportSource;
  intervalMs: number;
  maxLen: number;
  hostTtlMs: number;
}

/** Owns the publish timer. */
export class MetricsPublisher {
  private timer: NodeJS.Timeout | null = null;
  private inFlight = false;
  /** Reports published since start. */
  published = 0;
  /** Reports skipped (Redis unreachable, or the previous one still in flight). */
  skipped = 0;

  constructor(private readonly o: MetricsPublisherOptions) {}

  start(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => void this.publishOnce(), this.o.intervalMs);
    this.timer.unref();
    void this.publishOnce();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** Build and publish one report now. */
  async publishOnce(): Promise<void> {
    if (this.inFlight || this.o.redis.status !== 'ready') {
      this.skipped++;
      return;
    }
    this.inFlight = true;
    try {
      const report = buildHostReport(this.o.collector, this.o.hostId, this.o.incarnation, this.o.hostTtlMs, Date.now());
      await this.o.redis.xadd(this.o.stream, 'MAXLEN', '~', String(this.o.maxLen), '*', 'host', this.o.hostId, 'report', JSON.stringify(report));
      this.published++;
    } catch {
      this.skipped++;
    } finally {
      this.inFlight = false;
    }
  }
}
