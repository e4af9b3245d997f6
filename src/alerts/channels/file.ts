/**
 * The file channel: every notification appended to a JSON Lines file and fsync'd before `send`
 * settles `sent`, rotated by size, and read back by {@link FileChannel.restore} so a restarted
 * manager resumes its alerts: no lost and no duplicated notifications across a restart.
 *
 * Format, one JSON object per line (`v: 1`):
 * - `{"v":1,"kind":"notification", ...AlertNotification}` for each notification;
 * - `{"v":1,"kind":"state","atMs":…,"alerts":[RestoredAlert…]}` at the head of every file a
 *   rotation starts: the alerts firing at that moment. So restore reads only the current file
 *   when it begins with a state record, and reads the rotated files (oldest first) only when it
 *   does not (the first file ever, or a crash between the rename and the first write). The state
 *   record and the notification that triggered the rotation are written with one write and one
 *   fsync, so a crash leaves either both or neither.
 *
 * Rotation: when a write would take the file past `maxBytes`, `path` becomes `path.1`, `path.1`
 * becomes `path.2`, … and `path.<maxFiles>` is overwritten; the directory is fsync'd after the
 * renames. A single record larger than `maxBytes` is written anyway (alone in its file).
 *
 * Restore semantics: per fingerprint, the last record wins. Firing alerts are returned as
 * `firing` with `lastNotifiedMs` of their last firing/repeat notification; an alert whose last
 * record is a resolution is returned as `resolved` (so the manager can tell "resolved, and that
 * was notified" from "never seen"; a manager may ignore those). A torn line — the process killed
 * mid-write leaves a last line without its newline — or any unparsable line is skipped with a
 * warning; the next append starts on a fresh line so the torn bytes never merge with a record.
 *
 * Memory is bounded: the firing set kept for state records holds at most
 * {@link MAX_ACTIVE_ALERTS} fingerprints, the ids remembered for de-duplication
 * {@link RECENT_IDS}. A notification whose `id` was already written (a retry after a restart) is
 * not written again and settles `sent` with `attempts: 0`.
 *
 * @module
 */
import { existsSync } from 'node:fs';
import { open, readFile, rename, unlink, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { AlertChannel, AlertNotification, ChannelStats, DeliveryResult, RestoredAlert } from '../../contract/alerts.js';
import { newCounters, toStats } from './delivery-queue.js';

/** Fingerprints of firing alerts kept for the state records, at most. */
export const MAX_ACTIVE_ALERTS = 10_000;
/** Notification ids remembered for de-duplication. */
export const RECENT_IDS = 1024;
/** Default rotation size: 10 MiB. */
export const DEFAULT_MAX_BYTES = 10 * 1024 * 1024;
/** Default number of rotated files kept. */
export const DEFAULT_MAX_FILES = 3;

/** Where the channel reports skipped lines and write failures (pino's shape). */
export interface FileChannelLogger {
  warn(obj: object, msg?: string): void;
}

/** Options of {@link FileChannel}. */
export interface FileChannelOptions {
  path: string;
  /** Rotate when a write would pass this size (default {@link DEFAULT_MAX_BYTES}). */
  maxBytes?: number;
  /** Rotated files kept: `path.1` … `path.<maxFiles>` (default {@link DEFAULT_MAX_FILES}; 0 keeps none). */
  maxFiles?: number;
  /** Display name (default `file:<path>`). */
  name?: string;
  logger?: FileChannelLogger;
}

/** The result of parsing one file's text. */
export interface ParsedJournal {
  /** Per fingerprint, the last known state (insertion order: first seen). */
  alerts: Map<string, RestoredAlert>;
  /** Notification ids seen, in order. */
  ids: string[];
  /** True when the first valid record is a state record (older files need not be read). */
  startsWithState: boolean;
  /** Lines skipped as unparsable: 1-based line numbers, and whether the torn one was the last. */
  skipped: { line: number; last: boolean }[];
}

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function applyNotification(alerts: Map<string, RestoredAlert>, rec: Json): void {
  const list = rec['alerts'];
  const ts = typeof rec['timestampMs'] === 'number' ? rec['timestampMs'] : 0;
  if (!Array.isArray(list)) return;
  for (const a of list as unknown[]) {
    if (!isObj(a) || typeof a['fingerprint'] !== 'string') continue;
    const fp = a['fingerprint'];
    const prev = alerts.get(fp);
    const status = a['status'] === 'resolved' ? 'resolved' : 'firing';
    alerts.delete(fp);
    alerts.set(fp, {
      fingerprint: fp,
      alertname: typeof a['alertname'] === 'string' ? a['alertname'] : '',
      status,
      labels: isObj(a['labels']) ? (a['labels'] as Record<string, string>) : {},
      startsAtMs: typeof a['startsAtMs'] === 'number' ? a['startsAtMs'] : 0,
      lastNotifiedMs: status === 'firing' ? ts : (prev?.lastNotifiedMs ?? ts),
    });
  }
}

/**
 * Parse a journal's text into per-fingerprint state, on top of `into` (state of older files).
 * Pure: no I/O, unparsable lines reported in `skipped`.
 */
export function parseJournal(text: string, into: Map<string, RestoredAlert> = new Map()): ParsedJournal {
  const out: ParsedJournal = { alerts: into, ids: [], startsWithState: false, skipped: [] };
  const lines = text.split('\n');
  let first = true;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    let rec: unknown;
    try {
      rec = JSON.parse(line);
    } catch {
      rec = undefined;
    }
    if (!isObj(rec) || rec['v'] !== 1) {
      out.skipped.push({ line: i + 1, last: i === lines.length - 1 });
      continue;
    }
    if (rec['kind'] === 'state') {
      if (first) out.startsWithState = true;
      // A state record is the complete firing set at its time: it replaces what came before.
      out.alerts.clear();
      const list = rec['alerts'];
      if (Array.isArray(list)) for (const a of list as unknown[]) if (isObj(a) && typeof a['fingerprint'] === 'string') out.alerts.set(a['fingerprint'], a as unknown as RestoredAlert);
    } else if (rec['kind'] === 'notification') {
      if (typeof rec['id'] === 'string') out.ids.push(rec['id']);
      applyNotification(out.alerts, rec);
    }
    first = false;
  }
  return out;
}

/** The JSON line of a notification. Pure. */
export function notificationLine(n: AlertNotification): string {
  return `${JSON.stringify({ v: 1, kind: 'notification', ...n })}\n`;
}

/** Appends notifications to a JSON Lines journal (see the module). */
export class FileChannel implements AlertChannel {
  readonly type = 'file';
  readonly name: string;
  readonly path: string;
  private readonly maxBytes: number;
  private readonly maxFiles: number;
  private readonly logger: FileChannelLogger | undefined;
  private readonly counters = newCounters();
  private fh: FileHandle | null = null;
  private size = 0;
  /** The file's last byte is not a newline (a torn record): the next write starts with one. */
  private needsNewline = false;
  private readonly active = new Map<string, RestoredAlert>();
  private readonly recentIds = new Set<string>();
  private loaded: Promise<RestoredAlert[]> | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  private queued = 0;
  private closed = false;

  constructor(options: FileChannelOptions) {
    this.path = options.path;
    this.maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
    this.maxFiles = options.maxFiles ?? DEFAULT_MAX_FILES;
    this.logger = options.logger;
    this.name = options.name ?? `file:${options.path}`;
  }

  /** Per fingerprint, the last known state in the journal (read once; see the module). */
  restore(): Promise<RestoredAlert[]> {
    this.loaded ??= this.load();
    return this.loaded;
  }

  private async readText(path: string): Promise<string | null> {
    try {
      return await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  private async load(): Promise<RestoredAlert[]> {
    const current = (await this.readText(this.path)) ?? '';
    let parsed = parseJournal(current);
    const files: { path: string; parsed: ParsedJournal }[] = [];
    if (!parsed.startsWithState) {
      // Older files hold what the current one does not: replay them oldest first, then the current.
      const state = new Map<string, RestoredAlert>();
      for (let i = this.maxFiles; i >= 1; i--) {
        const text = await this.readText(`${this.path}.${i}`);
        if (text !== null) files.push({ path: `${this.path}.${i}`, parsed: parseJournal(text, state) });
      }
      parsed = parseJournal(current, state);
    }
    files.push({ path: this.path, parsed });
    for (const f of files) {
      for (const s of f.parsed.skipped) this.logger?.warn({ path: f.path, line: s.line, torn: s.last }, s.last ? 'alert journal: torn last line skipped (the process stopped mid-write)' : 'alert journal: unparsable line skipped');
      for (const id of f.parsed.ids) this.remember(id);
    }
    this.size = Buffer.byteLength(current);
    this.needsNewline = current.length > 0 && !current.endsWith('\n');
    for (const a of parsed.alerts.values()) if (a.status === 'firing') this.setActive(a);
    return [...parsed.alerts.values()];
  }

  private remember(id: string): void {
    this.recentIds.add(id);
    if (this.recentIds.size > RECENT_IDS) {
      const oldest = this.recentIds.values().next().value;
      if (oldest !== undefined) this.recentIds.delete(oldest);
    }
  }

  private setActive(a: RestoredAlert): void {
    this.active.delete(a.fingerprint);
    this.active.set(a.fingerprint, a);
    if (this.active.size > MAX_ACTIVE_ALERTS) {
      const oldest = this.active.keys().next().value;
      if (oldest !== undefined) this.active.delete(oldest);
    }
  }

  send(notification: AlertNotification): Promise<DeliveryResult> {
    if (this.closed) return Promise.resolve({ status: 'dropped', reason: 'closed' });
    this.queued++;
    // Writes are chained: one at a time, in order, each fsync'd before the next starts.
    const result = this.chain.then(() => this.write(notification));
    this.chain = result;
    return result.finally(() => {
      this.queued--;
    });
  }

  private async write(n: AlertNotification): Promise<DeliveryResult> {
    try {
      await this.restore();
      if (this.recentIds.has(n.id)) return { status: 'sent', attempts: 0 };
      let line = notificationLine(n);
      if (this.needsNewline) line = `\n${line}`;
      let bytes = Buffer.byteLength(line);
      if (this.size > 0 && this.size + bytes > this.maxBytes) {
        await this.rotate();
        line = this.stateLine(n.timestampMs) + notificationLine(n);
        bytes = Buffer.byteLength(line);
      }
      this.fh ??= await open(this.path, 'a');
      await this.fh.write(line);
      await this.fh.sync();
      this.size += bytes;
      this.needsNewline = false;
      this.remember(n.id);
      this.track(n);
      this.counters.sent++;
      this.counters.lastSentMs = Date.now();
      return { status: 'sent', attempts: 1 };
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      this.counters.failed++;
      this.counters.lastError = error;
      this.logger?.warn({ path: this.path, err: error }, 'alert journal: write failed');
      // Reopen on the next write: the handle may be the broken part. The size is re-read then.
      await this.fh?.close().catch(() => undefined);
      this.fh = null;
      this.loaded = null;
      return { status: 'failed', attempts: 1, error };
    }
  }

  private track(n: AlertNotification): void {
    for (const a of n.alerts) {
      if (a.status === 'resolved') this.active.delete(a.fingerprint);
      else this.setActive({ fingerprint: a.fingerprint, alertname: a.alertname, status: 'firing', labels: a.labels, startsAtMs: a.startsAtMs, lastNotifiedMs: n.timestampMs });
    }
  }

  private stateLine(atMs: number): string {
    return `${JSON.stringify({ v: 1, kind: 'state', atMs, alerts: [...this.active.values()] })}\n`;
  }

  private async rotate(): Promise<void> {
    await this.fh?.close();
    this.fh = null;
    if (this.maxFiles === 0) await unlink(this.path);
    else {
      for (let i = this.maxFiles - 1; i >= 1; i--) if (existsSync(`${this.path}.${i}`)) await rename(`${this.path}.${i}`, `${this.path}.${i + 1}`);
      await rename(this.path, `${this.path}.1`);
    }
    // The renames are durable only once the directory itself is synced.
    const dir = await open(dirname(this.path), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
    this.size = 0;
    this.needsNewline = false;
  }

  stats(): ChannelStats {
    return toStats(this.name, this.type, this.counters, this.queued);
  }

  /** Wait for the writes in progress, then close the file. */
  async close(): Promise<void> {
    this.closed = true;
    await this.chain.catch(() => undefined);
    await this.fh?.close().catch(() => undefined);
    this.fh = null;
  }
}
