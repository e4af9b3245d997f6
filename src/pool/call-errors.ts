/**
 * The errors a call that entered the pool fails with (errors.ts lists the categories and types).
 * Pure: each builds one {@link PythonBridgeError} from the facts at hand.
 *
 * @module
 */
import type { Call, CallWorker } from './call-queue.js';
import { PythonBridgeError, type ErrorDetails } from '../contract/errors.js';
import { readReplyError, type FrameError } from './protocol.js';

/** The error of a reply frame that carries `error` (Python raised, or refused the request). */
export function replyError(pool: string, worker: CallWorker, call: Call, raw: unknown): PythonBridgeError {
  const e = readReplyError(raw);
  const details = { pool, workerId: worker.workerId, pid: worker.pid, command: call.command, sessionId: call.sessionId, traceback: e.traceback };
  switch (e.kind) {
    case 'unknown_command':
      return new PythonBridgeError('invalid_request', 'unknown_command', e.message || `unknown command '${call.command}'`, { details });
    case 'bad_args':
      return new PythonBridgeError('invalid_request', 'bad_args', `bad arguments for '${call.command}': ${e.message}`, { details });
    case 'serialization':
      return new PythonBridgeError('invalid_request', 'not_serializable', `result of '${call.command}' is not JSON-serialisable: ${e.message}`, { details });
    default:
      return new PythonBridgeError('python', e.type, `${e.type}: ${e.message}`, { details });
  }
}

/** `worker` exited while serving `call`. */
export function crashError(pool: string, worker: CallWorker, call: Call | null): PythonBridgeError {
  const how = worker.signal ? `killed by ${worker.signal}` : `exited with code ${worker.exitCode}`;
  const tail = worker.stderrText();
  return new PythonBridgeError('worker', 'crashed', `worker ${worker.workerId} (pid ${worker.pid}) ${how} while serving '${call?.command ?? '?'}'${tail ? `\n--- stderr ---\n${tail}` : ''}`, {
    details: { pool, workerId: worker.workerId, pid: worker.pid, command: call?.command, sessionId: call?.sessionId, exitCode: worker.exitCode, signal: worker.signal, sent: true },
  });
}

/** `worker` broke the protocol (while serving `call`, or idle). */
export function protocolError(pool: string, worker: CallWorker, call: Call | null, err: Pick<FrameError, 'kind' | 'message'>): PythonBridgeError {
  const type = err.kind === 'frame_too_large' ? 'reply_too_large' : 'malformed_reply';
  return new PythonBridgeError('worker', type, `worker ${worker.workerId} (pid ${worker.pid}) sent an invalid reply: ${err.message}; it was killed and is being replaced`, {
    cause: err,
    details: { pool, workerId: worker.workerId, pid: worker.pid, command: call?.command, sessionId: call?.sessionId, sent: true },
  });
}

/**
 * `call` did not get an answer from `worker` within its `timeoutMs`. `graceMs` null: the worker
 * was killed; else it may finish the call for that long (its reply is dropped) before it is.
 */
export function operationTimeoutError(pool: string, worker: CallWorker, call: Call, graceMs: number | null = null, pythonStack: string | null = null): PythonBridgeError {
  const fate = graceMs === null ? 'was killed and is being replaced' : `may finish it within abortGraceMs (${graceMs} ms; its reply is discarded), else it is killed and replaced`;
  const details: ErrorDetails = { pool, workerId: worker.workerId, pid: worker.pid, command: call.command, sessionId: call.sessionId, timeoutMs: call.timeoutMs, sent: true };
  // Issue 19: what the hung worker was doing, taken just before the kill.
  if (pythonStack !== null) details.pythonStack = pythonStack;
  return new PythonBridgeError('timeout', 'operation', `'${call.command}' did not complete within ${call.timeoutMs} ms; worker ${worker.workerId} (pid ${worker.pid}) ${fate}`, { details });
}

/**
 * The worker that held the state of `call`'s session (slot `workerId`, process `pid`) is gone:
 * the call was not sent, and the session starts afresh with its next call.
 */
export function sessionLostError(pool: string, call: Call, workerId: number, pid: number): PythonBridgeError {
  return new PythonBridgeError(
    'worker',
    'session_lost',
    `session '${call.sessionId}' lost its state: worker ${workerId} (pid ${pid}) that held it is gone; '${call.command}' was not run, and the session's next call starts it afresh`,
    { details: { pool, workerId, pid, command: call.command, sessionId: call.sessionId, sent: false } },
  );
}

/** No worker became free for queued `call` within `timeoutMs`. */
export function checkoutTimeoutError(pool: string, call: Call, timeoutMs: number): PythonBridgeError {
  return new PythonBridgeError('timeout', 'checkout', `no worker of pool '${pool}' became free within ${timeoutMs} ms`, {
    details: { pool, command: call.command, sessionId: call.sessionId, timeoutMs },
  });
}

/** The caller's signal fired (`details.workerId`/`pid` are added when a worker had the call). */
export function abortError(pool: string, call: Call): PythonBridgeError {
  return new PythonBridgeError('aborted', 'aborted', `call to '${call.command}' was aborted`, {
    cause: call.signal?.reason,
    details: { pool, command: call.command, sessionId: call.sessionId, sent: call.worker !== null },
  });
}

/** The queue already holds `maxQueue` calls. */
export function queueFullError(pool: string, call: Call, queueDepth: number, maxQueue: number): PythonBridgeError {
  return new PythonBridgeError('overloaded', 'queue_full', `pool '${pool}' is overloaded: ${queueDepth} calls already waiting (maxQueue ${maxQueue})`, {
    details: { pool, command: call.command, sessionId: call.sessionId },
  });
}

/** The pool stopped before the call completed. */
export function stoppedError(pool: string): PythonBridgeError {
  return new PythonBridgeError('pool_unavailable', 'stopped', `pool '${pool}' stopped before the call completed`, { details: { pool } });
}
