/** The default logger's destination (src/pool/default-logger.ts): bounded, never blocking, drops counted. */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { BoundedStderr } from '../../src/pool/default-logger.js';

/** A stand-in for a stderr pipe nobody reads: everything written stays pending. */
class StuckPipe extends EventEmitter {
  readonly chunks: string[] = [];
  writableLength = 0;
  write(chunk: string): boolean {
    this.chunks.push(chunk);
    this.writableLength += chunk.length;
    return false;
  }
  /** The reader catches up. */
  drain(): void {
    this.writableLength = 0;
  }
}

describe('default logger destination', () => {
  it('holds at most its bound for a stderr nobody reads, drops and counts the rest, then says how many it lost', () => {
    const pipe = new StuckPipe();
    const dest = new BoundedStderr(pipe, 1000);
    const record = `${JSON.stringify({ level: 30, msg: 'x'.repeat(80) })}\n`;
    for (let i = 0; i < 100; i++) dest.write(record);
    expect(pipe.writableLength).toBeLessThanOrEqual(1000);
    const written = pipe.chunks.length;
    expect(written).toBe(Math.floor(1000 / record.length));
    expect(dest.droppedTotal).toBe(100 - written);

    pipe.drain();
    dest.write(record);
    // One record reports the loss, then the record itself.
    expect(pipe.chunks).toHaveLength(written + 2);
    const note = JSON.parse(pipe.chunks[written]!) as Record<string, unknown>;
    expect(note).toMatchObject({ level: 40, name: 'dspex', droppedRecords: 100 - written });
    expect(note['msg']).toMatch(/log records dropped/);
    expect(pipe.chunks[written + 1]).toBe(record);
  });

  it('a broken stderr (EPIPE) does not throw: later records are dropped and counted', () => {
    const pipe = new StuckPipe();
    const dest = new BoundedStderr(pipe, 1000);
    pipe.emit('error', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    expect(() => dest.write('{"msg":"after"}\n')).not.toThrow();
    expect(pipe.chunks).toEqual([]);
    expect(dest.droppedTotal).toBe(1);
  });
});
