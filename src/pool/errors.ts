/**
 * The pool's errors: {@link PythonBridgeError} and its categories live in the leaf module
 * `src/contract/errors.ts` (every stage throws them); this module keeps the pool's import path.
 *
 * @module
 */
export { PythonBridgeError, isPythonBridgeError, errorCategories, type ErrorCategory, type ErrorDetails, type PythonBridgeErrorOptions } from '../contract/errors.js';
