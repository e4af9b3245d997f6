/**
 * Figures of the machine: CPU count, memory, load average, and CPU utilization between two
 * samples (from the `cpu` line of `/proc/stat`); plus the boot time that process start times are
 * relative to, and the page size that RSS pages are counted in.
 *
 * @module
 */
import os from 'node:os';
import { DEFAULT_PAGE_SIZE_BYTES, inferPageSizeBytes, parseStatm, procErrorText, type ProcReader, type SystemStat } from './proc.js';
import type { SystemResources } from '../contract/resources.js';

/** Machine figures that need no /proc (load average zero, utilization unknown): what a failed sample reports. */
export function systemWithoutProc(): SystemResources {
  return { cpuCount: os.availableParallelism(), totalMemBytes: os.totalmem(), freeMemBytes: os.freemem(), loadAvg: [0, 0, 0], cpuUtilization: null };
}

/**
 * The page size, inferred from this process's own `statm` (resident pages) and `status` (VmRSS,
 * bytes) under the reader's root; {@link DEFAULT_PAGE_SIZE_BYTES} when either cannot be read or the
 * figures are unusable.
 */
export function detectPageSizeBytes(reader: ProcReader): number {
  const statm = reader.readText('self/statm');
  const status = reader.readStatus(process.pid);
  if (!statm.ok || !status.ok) return DEFAULT_PAGE_SIZE_BYTES;
  const pages = parseStatm(statm.value, 1);
  const vmRss = status.value.rssBytes;
  if (!pages || vmRss === null) return DEFAULT_PAGE_SIZE_BYTES;
  return inferPageSizeBytes(pages.rssBytes, vmRss) ?? DEFAULT_PAGE_SIZE_BYTES;
}

/** Samples the machine; keeps the previous `/proc/stat` reading for the utilization between samples. */
export class SystemSampler {
  private readonly reader: ProcReader;
  private prev: SystemStat | null = null;

  constructor(reader: ProcReader) {
    this.reader = reader;
  }

  /** Figures now; utilization since the previous call (null on the first, or when `/proc/stat` cannot be read: then a warning). */
  sample(warnings: string[]): SystemResources {
    const load = os.loadavg();
    let cpuUtilization: number | null = null;
    const s = this.reader.readSystemStat();
    if (s.ok) {
      const prev = this.prev;
      if (prev && s.value.totalTicks > prev.totalTicks) {
        const total = s.value.totalTicks - prev.totalTicks;
        const idle = s.value.idleTicks - prev.idleTicks;
        cpuUtilization = Math.min(1, Math.max(0, 1 - idle / total));
      }
      this.prev = s.value;
    } else {
      warnings.push(procErrorText(s.error));
    }
    return {
      cpuCount: os.availableParallelism(),
      totalMemBytes: os.totalmem(),
      freeMemBytes: os.freemem(),
      loadAvg: [load[0] ?? 0, load[1] ?? 0, load[2] ?? 0],
      cpuUtilization,
    };
  }

  /** Boot time, ms since the epoch: now minus the uptime; else `btime` of the last `/proc/stat` read; else 0. */
  bootTimeMs(nowMs: number): number {
    const up = this.reader.readUptimeS();
    if (up.ok) return nowMs - up.value * 1000;
    const s = this.prev?.bootTimeS;
    return s != null ? s * 1000 : 0;
  }
}
