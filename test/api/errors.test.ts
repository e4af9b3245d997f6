/** Error codes: one stable code per documented category and type, derived by a pure function. */
import { describe, expect, it } from 'vitest';
import { errorCategories, errorCode, errorTypes, PythonBridgeError } from '../../src/index.js';

describe('error codes', () => {
  it('every documented type has a distinct DSPEX_ code', () => {
    const codes = new Set<string>();
    let n = 0;
    for (const category of errorCategories) {
      for (const type of errorTypes[category]) {
        const code = errorCode(category, type);
        expect(code).toMatch(/^DSPEX_[A-Z_]+$/);
        codes.add(code);
        n++;
      }
    }
    expect(codes.size).toBe(n - 1 + 1); // distinct (aborted/aborted maps to DSPEX_ABORTED once)
    expect(errorCode('timeout', 'operation')).toBe('DSPEX_TIMEOUT_OPERATION');
    expect(errorCode('pool_unavailable', 'stopped')).toBe('DSPEX_POOL_UNAVAILABLE_STOPPED');
    expect(errorCode('aborted', 'aborted')).toBe('DSPEX_ABORTED');
  });

  it('Python exception classes share one code; an undocumented type is OTHER, never a new code', () => {
    expect(new PythonBridgeError('python', 'KeyError', 'k').code).toBe('DSPEX_PYTHON_EXCEPTION');
    expect(new PythonBridgeError('python', 'my.CustomError', 'k').code).toBe('DSPEX_PYTHON_EXCEPTION');
    expect(new PythonBridgeError('worker', 'something_new', 'x').code).toBe('DSPEX_WORKER_OTHER');
  });

  it('the error keeps category, type, details and cause', () => {
    const cause = new Error('root');
    const err = new PythonBridgeError('worker', 'crashed', 'gone', { details: { pool: 'p', workerId: 2 }, cause });
    expect([err.name, err.category, err.type, err.code, err.details, err.cause]).toEqual(['PythonBridgeError', 'worker', 'crashed', 'DSPEX_WORKER_CRASHED', { pool: 'p', workerId: 2 }, cause]);
    expect(err).toBeInstanceOf(Error);
    expect(err.stack).toContain('gone');
  });
});
