import { PythonBridgeError } from '../../src/index.js';

/** The PythonBridgeError `fn` throws synchronously (anything else, or nothing, fails the test). */
export function thrownBridgeError(fn: () => unknown): PythonBridgeError {
  try {
    fn();
  } catch (err) {
    if (err instanceof PythonBridgeError) return err;
    throw err;
  }
  throw new Error('did not throw');
}

/** Await a rejection and return the PythonBridgeError (anything else, or a resolution, fails the test). */
export async function rejection(p: Promise<unknown>): Promise<PythonBridgeError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof PythonBridgeError) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}
