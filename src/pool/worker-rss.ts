/**
 * The resident memory of a worker process, read cheaply for `maxWorkerRssBytes`: one small read of
 * `/proc/PID/statm` (its second field is resident pages), about 10 µs, instead of the full
 * resource monitor (which this stage may not import: the pool sits below src/resources). Linux
 * only; elsewhere {@link readRssBytes} answers null and RSS recycling does nothing.
 *
 * @module
 */
import { closeSync, openSync, readSync } from 'node:fs';

const buf = Buffer.alloc(256);
let pageBytes = 0;

/** Resident pages from the text of a statm file (its second field), or null. Pure. */
export function parseStatmResidentPages(text: string): number | null {
  const fields = text.trim().split(/\s+/);
  const pages = Number(fields[1]);
  return fields.length >= 2 && Number.isInteger(pages) && pages >= 0 ? pages : null;
}

function readStatm(pid: number | 'self'): number | null {
  let fd = -1;
  try {
    fd = openSync(`/proc/${pid}/statm`, 'r');
    const n = readSync(fd, buf, 0, buf.length, 0);
    return parseStatmResidentPages(buf.toString('latin1', 0, n));
  } catch {
    return null; // gone, not Linux, or no permission
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

/**
 * The page size: this process's RSS (`process.memoryUsage.rss()`) over its resident pages, rounded
 * to the nearest power of two (the two reads are a few µs apart, so they agree to well under a
 * factor of √2). 4096 when it cannot be inferred.
 */
function pageSize(): number {
  if (pageBytes > 0) return pageBytes;
  const pages = readStatm('self');
  const rss = process.memoryUsage.rss();
  pageBytes = pages !== null && pages > 0 ? 2 ** Math.round(Math.log2(rss / pages)) : 4096;
  if (!(pageBytes >= 512 && pageBytes <= 1 << 30)) pageBytes = 4096;
  return pageBytes;
}

/** Resident memory of process `pid` in bytes, or null when it cannot be read. */
export function readRssBytes(pid: number): number | null {
  if (!(pid > 0)) return null;
  const pages = readStatm(pid);
  return pages === null ? null : pages * pageSize();
}
