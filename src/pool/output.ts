/**
 * Bounded forwarding of a worker's stdout and stderr: what Python prints is split into lines and
 * handed on, within three bounds per worker, so a print loop can cost neither memory nor an
 * unbounded stream of log records:
 *
 * - a rate cap: a token bucket per stream (`linesPerSecond`, refilled continuously, at most
 *   `burstLines` saved up), so a print loop on stdout cannot starve a traceback on stderr. A line
 *   that finds its bucket empty is dropped whole; drops are counted per stream and reported at
 *   most once per {@link DROP_REPORT_INTERVAL_MS} per worker, in one report for both streams;
 * - a line-length cap: at most `maxLineBytes` of a line are kept (cut at a UTF-8 character
 *   boundary); the rest is read and discarded, and the line is forwarded marked as cut with its
 *   full length;
 * - the partial-line buffer (a line whose newline has not come yet) is the same bounded buffer:
 *   a 10 MB line without a newline holds `maxLineBytes`, not 10 MB.
 *
 * The pipes are always read to the end, whatever is dropped: a pipe Node stopped reading would
 * fill, and Python would block in `print()` while holding a call. Dropped bytes are never decoded
 * or copied (one `indexOf` per line), so reading what is dropped stays cheap.
 *
 * Pure apart from one timer per worker (armed only while drops wait to be reported, unref'd).
 *
 * @module
 */

/** The bounds (pool options `outputLinesPerSecond`, `outputBurstLines`, `outputMaxLineBytes`). */
export interface OutputLimits {
  /** Lines per second forwarded per stream of a worker, sustained. */
  linesPerSecond: number;
  /** Lines of a stream forwarded at once after a quiet spell (the bucket's size). */
  burstLines: number;
  /** Longest line forwarded, in bytes; longer lines are cut and marked. Also bounds a partial line. */
  maxLineBytes: number;
}

export type OutputStream = 'stdout' | 'stderr';

/** Lines dropped (not forwarded) per stream. */
export interface DroppedOutput {
  stdout: number;
  stderr: number;
}

/** Where a worker's bounded output goes. */
export interface OutputSink {
  /** One line; `cutFromBytes` is the line's full length when it was cut, else null. */
  line(stream: OutputStream, text: string, cutFromBytes: number | null): void;
  /** Lines dropped over the rate cap during the last `intervalMs`: one call per interval at most. */
  dropped(counts: DroppedOutput, intervalMs: number): void;
}

/** Dropped lines are reported at most this often per worker (one record, with counts per stream). */
export const DROP_REPORT_INTERVAL_MS = 1000;

const NEWLINE = 0x0a;

/** The bounds of one worker's output: its two line readers, its drop counts and their report. */
export class OutputGate {
  /** Lines dropped over the rate cap since this worker started (both streams). */
  linesDropped = 0;
  /** Lines cut to `maxLineBytes` since this worker started (both streams). */
  linesCut = 0;

  private readonly pending: DroppedOutput = { stdout: 0, stderr: 0 };
  private pendingSinceMs = 0;
  private reportTimer: NodeJS.Timeout | null = null;
  private openReaders = 0;

  constructor(
    readonly limits: Readonly<OutputLimits>,
    private readonly sink: OutputSink,
  ) {}

  /** A reader for one stream: feed it every chunk, then `end()` once. */
  reader(stream: OutputStream): LineReader {
    this.openReaders++;
    return new LineReader(this, stream);
  }

  /** A line was dropped over the rate cap; the report goes out at the end of the interval. */
  drop(stream: OutputStream): void {
    this.linesDropped++;
    if (this.pending.stdout + this.pending.stderr === 0) this.pendingSinceMs = performance.now();
    this.pending[stream]++;
    if (this.reportTimer === null) {
      this.reportTimer = setTimeout(() => this.report(), DROP_REPORT_INTERVAL_MS);
      this.reportTimer.unref();
    }
  }

  /** Forward one kept line. */
  emit(stream: OutputStream, text: string, cutFromBytes: number | null): void {
    if (cutFromBytes !== null) this.linesCut++;
    this.sink.line(stream, text, cutFromBytes);
  }

  /** A reader reached the end of its stream: once both have, report what is pending at once. */
  readerEnded(): void {
    if (--this.openReaders === 0) this.report();
  }

  /** Report the pending drop counts (if any) and disarm the timer. */
  report(): void {
    if (this.reportTimer) clearTimeout(this.reportTimer);
    this.reportTimer = null;
    const { stdout, stderr } = this.pending;
    if (stdout + stderr === 0) return;
    this.pending.stdout = 0;
    this.pending.stderr = 0;
    this.sink.dropped({ stdout, stderr }, Math.round(performance.now() - this.pendingSinceMs));
  }
}

/**
 * Splits one stream into lines within the gate's bounds, with the stream's token bucket. Memory:
 * one buffer, grown on demand up to `maxLineBytes`, whatever the chunks or lines look like.
 */
export class LineReader {
  private tokens: number;
  private refilledAtMs = performance.now();
  /** Inside a line (bytes seen, newline not yet). */
  private open = false;
  /** The open line is forwarded (it got a token when it started). */
  private keep = false;
  /** Bytes of the open line kept in `buf`, and seen in all. */
  private kept = 0;
  private seen = 0;
  private buf: Buffer | null = null;

  constructor(
    private readonly gate: OutputGate,
    private readonly stream: OutputStream,
  ) {
    this.tokens = gate.limits.burstLines;
  }

  push(chunk: Buffer): void {
    this.refill();
    const len = chunk.length;
    let pos = 0;
    while (pos < len) {
      if (!this.open) {
        this.open = true;
        this.keep = this.admit();
        this.kept = 0;
        this.seen = 0;
      }
      const nl = chunk.indexOf(NEWLINE, pos);
      const end = nl === -1 ? len : nl;
      if (this.keep) this.copy(chunk, pos, end);
      this.seen += end - pos;
      if (nl === -1) return;
      this.finish();
      pos = nl + 1;
    }
  }

  /** The stream ended: a last line without a newline is still a line. */
  end(): void {
    if (this.open) this.finish();
    this.buf = null;
    this.gate.readerEnded();
  }

  /** Top the bucket up for the time since the last refill (once per chunk, not per line). */
  private refill(): void {
    const now = performance.now();
    const { linesPerSecond, burstLines } = this.gate.limits;
    this.tokens = Math.min(burstLines, this.tokens + ((now - this.refilledAtMs) * linesPerSecond) / 1000);
    this.refilledAtMs = now;
  }

  /** A new line starts: may it be forwarded? */
  private admit(): boolean {
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  private copy(chunk: Buffer, from: number, to: number): void {
    const max = this.gate.limits.maxLineBytes;
    const n = Math.min(to - from, max - this.kept);
    if (n <= 0) return;
    const need = this.kept + n;
    if (this.buf === null || this.buf.length < need) {
      // Its own memory (not a slice of the shared pool slab): it lives as long as the stream.
      const grown = Buffer.allocUnsafeSlow(Math.min(max, Math.max(need, (this.buf?.length ?? 0) * 2, 256)));
      if (this.buf !== null) this.buf.copy(grown, 0, 0, this.kept);
      this.buf = grown;
    }
    chunk.copy(this.buf, this.kept, from, from + n);
    this.kept = need;
  }

  private finish(): void {
    this.open = false;
    if (!this.keep) {
      this.gate.drop(this.stream);
      return;
    }
    const cut = this.seen > this.kept;
    const buf = this.buf;
    const text = buf === null ? '' : buf.toString('utf8', 0, cut ? utf8Boundary(buf, this.kept) : this.kept);
    this.gate.emit(this.stream, text, cut ? this.seen : null);
  }
}

/**
 * The largest `n' <= n` such that `buf[0, n')` does not end inside a UTF-8 character: a line cut
 * mid-character loses that character rather than gaining a replacement character.
 */
export function utf8Boundary(buf: Buffer, n: number): number {
  // Step back over at most 3 continuation bytes (10xxxxxx) to the lead byte of the last character.
  let lead = n - 1;
  while (lead >= 0 && n - lead <= 3 && ((buf[lead] ?? 0) & 0xc0) === 0x80) lead--;
  if (lead < 0) return n;
  const b = buf[lead] ?? 0;
  const size = b < 0x80 ? 1 : b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
  return lead + size > n ? lead : n;
}
