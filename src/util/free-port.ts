/**
 * A free loopback TCP port, for the throwaway servers of benchmarks and tests (a leaf module).
 *
 * @module
 */
import { createServer } from 'node:net';

/** A free loopback TCP port (the OS picks one; it is free again once this resolves). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}
