/** The processes a test file starts, killed and cleaned up after each test. */
import { afterEach } from 'vitest';
import type { Child } from './process.ts';

/**
 * Child processes and cleanups of a test file: after each test, children still running are
 * SIGKILLed and awaited, then cleanups run newest first.
 */
export function useProcesses(): {
  children: Child[];
  cleanups: (() => Promise<void> | void)[];
} {
  const children: Child[] = [];
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const child of children.splice(0)) {
      if (child.proc.exitCode === null && child.proc.signalCode === null)
        child.proc.kill('SIGKILL');
      await child.exited;
    }
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  return { children, cleanups };
}
