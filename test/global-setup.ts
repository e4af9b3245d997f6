import { execFileSync } from 'node:child_process';

/** Fail fast with a clear message when the machine lacks what the suite needs. */
export default function setup(): void {
  try {
    execFileSync('python3', ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error('python3 is required by the test suite: run `make deps`');
  }
}
