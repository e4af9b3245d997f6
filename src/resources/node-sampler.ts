/**
 * Figures of the Node process itself: memory, V8 heap, event-loop delay and utilization, GC
 * pauses, active handles and requests, CPU. Owns an event-loop-delay histogram with its heartbeat
 * timer and a GC PerformanceObserver between `start()` and `stop()`; each `sample()` reports the
 * interval since the previous one and resets the interval counters.
 *
 * Event-loop delay: a heartbeat timer every `resolution` ms records how late it fires into a
 * native HDR histogram (`perf_hooks.createHistogram`). Not `monitorEventLoopDelay`, because its
 * `reset()` also forgets the time of its previous timer fire, so the first delay after every reset
 * is never recorded: a stall that starts within one resolution period after a sample, or that spans
 * a sample, vanishes (measured on Node 20: a 300 ms busy loop right after `reset()` shows as a
 * 10 ms max). Here the heartbeat keeps its own last-fire time across resets, and `sample()` counts
 * a stall still in progress (the sample itself running late) up to the moment of sampling.
 * Reported delays are beyond the resolution (an idle loop reads ~0, not ~10 ms).
 *
 * @module
 */
import { createHistogram, performance, PerformanceObserver, type EventLoopUtilization, type RecordableHistogram } from 'node:perf_hooks';
import v8 from 'node:v8';
import type { EventLoopDelayUs, NodeResources } from '../contract/resources.js';

/** Handle/request split of `process.getActiveResourcesInfo()` (pure). Request types are libuv `*Req*` wraps. */
export function countActiveResources(types: readonly string[]): { handles: number; requests: number } {
  let requests = 0;
  for (const t of types) if (t.includes('Req') || t === 'WriteWrap' || t === 'ShutdownWrap') requests++;
  return { handles: types.length - requests, requests };
}

/** The summary of an event-loop-delay histogram (recorded in ns), in microseconds; zeros when it holds no sample (pure). */
export function summarizeDelayHistogram(h: { count: number; percentile(p: number): number; max: number; mean: number }): EventLoopDelayUs {
  if (h.count === 0) return { p50: 0, p99: 0, max: 0, mean: 0 };
  return { p50: h.percentile(50) / 1000, p99: h.percentile(99) / 1000, max: h.max / 1000, mean: h.mean / 1000 };
}

/** Delay to record for a heartbeat `elapsedMs` after the previous one with period `resolutionMs`, in ns (≥ 1, as the histogram requires) (pure). */
export function heartbeatDelayNs(elapsedMs: number, resolutionMs: number): number {
  return Math.max(1, Math.round((elapsedMs - resolutionMs) * 1e6));
}

/** Options of {@link NodeSampler}. */
export interface NodeSamplerOptions {
  /** Period of the event-loop-delay heartbeat, ms (default 10). */
  eventLoopResolutionMs?: number;
  /** Unref the heartbeat timer so it does not keep the process alive (default true). */
  unref?: boolean;
}

/** Samples the Node process. */
export class NodeSampler {
  private readonly resolutionMs: number;
  private readonly unref: boolean;
  private histogram: RecordableHistogram | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private lastBeatMs = 0;
  private gcObserver: PerformanceObserver | null = null;
  private gcCount = 0;
  private gcPauseMs = 0;
  private lastElu: EventLoopUtilization = performance.eventLoopUtilization();
  private lastCpu: NodeJS.CpuUsage = process.cpuUsage();
  private lastHrNs: bigint = process.hrtime.bigint();

  constructor(options: NodeSamplerOptions = {}) {
    this.resolutionMs = Math.max(1, Math.round(options.eventLoopResolutionMs ?? 10));
    this.unref = options.unref ?? true;
  }

  /** Enable the histogram and the GC observer. Idempotent. */
  start(): void {
    if (this.histogram) return;
    const histogram = createHistogram();
    this.histogram = histogram;
    this.lastBeatMs = performance.now();
    this.heartbeat = setInterval(() => {
      const now = performance.now();
      histogram.record(heartbeatDelayNs(now - this.lastBeatMs, this.resolutionMs));
      this.lastBeatMs = now;
    }, this.resolutionMs);
    if (this.unref) this.heartbeat.unref();
    const observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        this.gcCount++;
        this.gcPauseMs += entry.duration;
      }
    });
    observer.observe({ entryTypes: ['gc'] });
    this.gcObserver = observer;
    this.lastElu = performance.eventLoopUtilization();
    this.lastCpu = process.cpuUsage();
    this.lastHrNs = process.hrtime.bigint();
  }

  /** Disable the histogram and disconnect the observer. Idempotent. */
  stop(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
    this.histogram = null;
    this.gcObserver?.disconnect();
    this.gcObserver = null;
  }

  /** True between start() and stop(). */
  get running(): boolean {
    return this.histogram !== null;
  }

  /** Figures for the interval since the previous call; resets the interval counters. */
  sample(): NodeResources {
    const mem = process.memoryUsage();
    const heap = v8.getHeapStatistics();
    const hrNs = process.hrtime.bigint();
    const elapsedUs = Number(hrNs - this.lastHrNs) / 1000;
    const cpu = process.cpuUsage(this.lastCpu);
    this.lastCpu = process.cpuUsage();
    this.lastHrNs = hrNs;
    const elu = performance.eventLoopUtilization(this.lastElu);
    this.lastElu = performance.eventLoopUtilization();
    let delay: EventLoopDelayUs = { p50: 0, p99: 0, max: 0, mean: 0 };
    if (this.histogram) {
      // A stall in progress (this sample runs late): count it up to now, in this interval.
      const now = performance.now();
      if (now - this.lastBeatMs > 2 * this.resolutionMs) {
        this.histogram.record(heartbeatDelayNs(now - this.lastBeatMs, this.resolutionMs));
        this.lastBeatMs = now;
      }
      delay = summarizeDelayHistogram(this.histogram);
      this.histogram.reset();
    }
    const { handles, requests } = countActiveResources(process.getActiveResourcesInfo());
    const out: NodeResources = {
      pid: process.pid,
      rssBytes: mem.rss,
      heapUsedBytes: mem.heapUsed,
      heapTotalBytes: mem.heapTotal,
      heapLimitBytes: heap.heap_size_limit,
      externalBytes: mem.external,
      arrayBuffersBytes: mem.arrayBuffers,
      eventLoopDelayUs: delay,
      eventLoopUtilization: Number.isFinite(elu.utilization) ? elu.utilization : 0,
      gcCount: this.gcCount,
      gcPauseMs: this.gcPauseMs,
      activeHandles: handles,
      activeRequests: requests,
      cpuPercent: elapsedUs > 0 ? ((cpu.user + cpu.system) / elapsedUs) * 100 : 0,
      uptimeMs: process.uptime() * 1000,
    };
    this.gcCount = 0;
    this.gcPauseMs = 0;
    return out;
  }
}
