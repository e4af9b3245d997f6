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
