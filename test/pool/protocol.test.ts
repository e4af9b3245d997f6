import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { encodeFrame, FrameDecoder, FrameError, parseFrame, readReplyError, requestJson } from '../../src/pool/protocol.js';

function decodeAll(chunks: Buffer[], max = 1 << 20): string[] {
  const out: string[] = [];
  const d = new FrameDecoder(max, (t) => out.push(t));
  for (const c of chunks) d.push(c);
  return out;
}

describe('protocol framing', () => {
  it('round-trips frames split at any byte boundary, several frames per chunk', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'grapheme', maxLength: 200 }), { minLength: 1, maxLength: 8 }), fc.array(fc.nat(), { maxLength: 10 }), (texts, cuts) => {
        const jsons = texts.map((t) => JSON.stringify({ id: 1, t }));
        const all = Buffer.concat(jsons.map(encodeFrame));
        const points = [...new Set(cuts.map((c) => c % (all.length + 1)))].sort((a, b) => a - b);
        const chunks: Buffer[] = [];
        let prev = 0;
        for (const p of [...points, all.length]) {
          chunks.push(all.subarray(prev, p));
          prev = p;
        }
        expect(decodeAll(chunks)).toEqual(jsons);
      }),
    );
  });

  it('decodes byte-by-byte delivery and multi-byte UTF-8', () => {
    const json = JSON.stringify({ id: 7, s: 'héllo → 世界 🎉' });
    const buf = encodeFrame(json);
    expect(decodeAll([...buf].map((b) => Buffer.from([b])))).toEqual([json]);
  });

  it('reports midFrame while a frame is incomplete', () => {
    const d = new FrameDecoder(1024, () => {});
    const buf = encodeFrame('{"id":1}');
    d.push(buf.subarray(0, 2));
    expect(d.midFrame).toBe(true);
    d.push(buf.subarray(2));
    expect(d.midFrame).toBe(false);
  });

  it('throws frame_too_large when a header announces more than the limit', () => {
    const d = new FrameDecoder(100, () => {});
    const err = (() => {
      try {
        d.push(Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3]));
      } catch (e) {
        return e as FrameError;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(FrameError);
    expect(err?.kind).toBe('frame_too_large');
    expect(err?.announcedBytes).toBe(0xffffffff);
  });

  it('parseFrame rejects invalid JSON, non-objects and frames without an integer id', () => {
    expect(() => parseFrame('{nope')).toThrow(expect.objectContaining({ kind: 'invalid_json' }));
    expect(() => parseFrame('[1,2]')).toThrow(expect.objectContaining({ kind: 'not_an_object' }));
    expect(() => parseFrame('"s"')).toThrow(expect.objectContaining({ kind: 'not_an_object' }));
    expect(() => parseFrame('{"id":"1"}')).toThrow(expect.objectContaining({ kind: 'missing_id' }));
    expect(() => parseFrame('{"id":1.5}')).toThrow(expect.objectContaining({ kind: 'missing_id' }));
    expect(parseFrame('{"id":3,"result":null}')).toEqual({ id: 3, result: null });
  });

  it('requestJson builds the documented request object', () => {
    expect(JSON.parse(requestJson(5, '"echo"', '{"a":1}', null))).toEqual({ id: 5, command: 'echo', args: { a: 1 }, session_id: null });
    expect(JSON.parse(requestJson(6, '"x"', '[]', 'se"ss'))).toEqual({ id: 6, command: 'x', args: [], session_id: 'se"ss' });
    // The trace context is added only when given (frames without it are unchanged), and quoted safely.
    expect(requestJson(5, '"echo"', '{}', null, undefined)).toBe(requestJson(5, '"echo"', '{}', null));
    const tp = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    expect(JSON.parse(requestJson(7, '"echo"', '{}', null, tp))).toEqual({ id: 7, command: 'echo', args: {}, session_id: null, traceparent: tp });
    expect(JSON.parse(requestJson(8, '"echo"', '{}', null, 'a"b'))).toMatchObject({ traceparent: 'a"b' });
  });

  it('readReplyError tolerates anything Python might send', () => {
    expect(readReplyError(null)).toEqual({ type: 'Error', message: '', traceback: '', kind: 'exception' });
    expect(readReplyError({ type: 'KeyError', message: 'k', traceback: 'tb', kind: 'exception' }).type).toBe('KeyError');
    expect(readReplyError({ type: 5 }).type).toBe('Error');
  });
});
