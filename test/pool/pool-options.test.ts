/**
 * Option edge cases of the pool: how `env.PYTHONPATH` merges with `pythonPath` and the inherited
 * PYTHONPATH, which `env` names are refused, the size bounds' messages, and that `getSession()`
 * hands out a copy.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { delimiter } from 'node:path';
import { PythonBridgeError, SessionPool, type PoolOptions, type SessionInfo } from '../../src/index.js';
import { resolvePoolOptions } from '../../src/pool/options-schema.js';
import { workerSpawnOptions } from '../../src/pool/worker-env.js';
import { FIXTURES, startPool, stopAll } from '../helpers/pools.js';
import { expectNoLeakedWorkers } from '../helpers/processes.js';

afterEach(async () => {
  await stopAll();
});
afterAll(async () => {
  await expectNoLeakedWorkers();
});

/** The typed error `new SessionPool(opts)` throws. */
function optionError(opts: PoolOptions): PythonBridgeError {
  try {
    new SessionPool(opts);
  } catch (err) {
    expect(err).toBeInstanceOf(PythonBridgeError);
    const e = err as PythonBridgeError;
    expect(e.category).toBe('invalid_request');
    expect(e.type).toBe('invalid_options');
    return e;
  }
  throw new Error(`expected ${JSON.stringify(opts)} to be refused`);
}

describe('PYTHONPATH', () => {
  const inherited = process.env['PYTHONPATH'];
  afterEach(() => {
    if (inherited === undefined) delete process.env['PYTHONPATH'];
    else process.env['PYTHONPATH'] = inherited;
  });
  const pythonPathOf = (opts: PoolOptions): string | undefined => workerSpawnOptions(resolvePoolOptions({ size: 1, ...opts })).env['PYTHONPATH'];

  it('merges pythonPath, then env.PYTHONPATH, then the inherited PYTHONPATH', () => {
    process.env['PYTHONPATH'] = '/inherited';
    expect(pythonPathOf({ pythonPath: ['/a', '/b'], env: { PYTHONPATH: `/c${delimiter}/d` } })).toBe(['/a', '/b', '/c', '/d', '/inherited'].join(delimiter));
    expect(pythonPathOf({ env: { PYTHONPATH: '/c' } })).toBe(['/c', '/inherited'].join(delimiter));
    expect(pythonPathOf({ pythonPath: ['/a'], env: { PYTHONPATH: '' } })).toBe(['/a', '/inherited'].join(delimiter));
    delete process.env['PYTHONPATH'];
    expect(pythonPathOf({ pythonPath: ['/a'], env: { PYTHONPATH: '/c' } })).toBe(['/a', '/c'].join(delimiter));
    expect(pythonPathOf({})).toBe('');
  });

  it('a module found only through env.PYTHONPATH imports in the workers', async () => {
    const pool = await startPool({ size: 1, pythonPath: [], env: { PYTHONPATH: FIXTURES }, pythonModules: ['slow_import'] });
    await expect(pool.executeAnonymous('slow_import.hello', { name: 'env' })).resolves.toBe('hello env');
  });
});

describe('env names', () => {
  it.each([['A=B'], ['='], [''], ['A\u0000B']])('env name %j is refused, naming env', (name) => {
    const e = optionError({ env: { [name]: 'x' } });
    expect(e.details.option).toBe('env');
    expect(e.message).toContain("invalid pool option 'env'");
    expect(e.message).toContain(JSON.stringify(name));
    expect(e.message).not.toContain('\u0000');
  });

  it('ordinary names (and a value containing =) are accepted', () => {
    expect(new SessionPool({ size: 1, env: { A_B: 'x=y', lower: '', 'dotted.name': '1' } }).options.env).toEqual({ A_B: 'x=y', lower: '', 'dotted.name': '1' });
  });
});

describe('size bounds', () => {
  it.each<[PoolOptions, string, RegExp]>([
    [{ size: 3, minSize: 4, maxSize: 2 }, 'maxSize', /maxSize \(2\) is smaller than minSize \(4\)$/],
    [{ size: 1, minSize: 4, maxSize: 2 }, 'maxSize', /maxSize \(2\) is smaller than minSize \(4\)$/],
    [{ size: 2, minSize: 3 }, 'minSize', /minSize \(3\) is larger than size \(2\)$/],
    [{ size: 4, maxSize: 2 }, 'maxSize', /maxSize \(2\) is smaller than size \(4\)$/],
    // A defaulted option is never blamed, and is shown as the default.
    [{ size: 100, minSize: 1000 }, 'minSize', /minSize \(1000\) is larger than maxSize \(100, the default\)$/],
    [{ minSize: 1000 }, 'minSize', /minSize \(1000\) is larger than maxSize \(\d+, the default\)$/],
    [{ maxSize: 1, size: 2 }, 'maxSize', /maxSize \(1\) is smaller than size \(2\)$/],
  ])('%j: names %s with the right pair', (opts, option, message) => {
    const e = optionError(opts);
    expect(e.details.option).toBe(option);
    expect(e.message).toContain(`invalid pool option '${option}'`);
    expect(e.message).toMatch(message);
  });

  it('a defaulted size is shown as the default', () => {
    const cpus = resolvePoolOptions({}).size;
    const e = optionError({ minSize: cpus + 1, maxSize: cpus + 1 });
    expect(e.details.option).toBe('minSize');
    expect(e.message).toMatch(new RegExp(`minSize \\(${cpus + 1}\\) is larger than size \\(${cpus}, the default\\)$`));
  });
});

describe('getSession', () => {
  it('returns a copy: changing it changes neither the registry nor later copies', async () => {
    const pool = await startPool({ size: 1 });
    await pool.executeInSession('s', 'echo', { n: 1 });
    const s = pool.getSession('s') as SessionInfo;
    expect(s.operations).toBe(1);
    s.operations = 999;
    s.workerId = 42;
    expect(pool.getSession('s')).toMatchObject({ operations: 1, workerId: 0 });
    await pool.executeInSession('s', 'echo', { n: 2 });
    expect(s.operations).toBe(999);
    expect(pool.getSession('s')!.operations).toBe(2);
    expect(pool.getSession('s')).not.toBe(pool.getSession('s'));
  });
});
