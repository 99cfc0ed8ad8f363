/** Runs Ferry entry points as real child processes on Node 24 (process.execPath). */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** A child process with its output collected and helpers to wait on it. */
export interface Child {
  proc: ChildProcessWithoutNullStreams;
  stdout(): string;
  stderr(): string;
  /** Resolves when stdout has a line matching `pattern`; rejects if the process exits first. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Resolves with the exit code (or signal name) once the process ended. */
  exited: Promise<number | string>;
}

/**
 * Node's flag for the repository's own processes: `ferry/client` (package.json `exports`)
 * resolves to the SDK's TypeScript source, not to the dist/ an installed package has.
 */
export const sourceCondition = '--conditions=ferry-source';

export function runNode(script: string, args: string[], env: Record<string, string> = {}): Child {
  return runProgram(process.execPath, [sourceCondition, script, ...args], env);
}

/** Runs any program (an installed `ferry`, npm) with `env` over the test's environment. */
export function runProgram(
  command: string,
  args: string[],
  env: Record<string, string> = {},
  cwd = repoRoot,
): Child {
  const proc = spawn(command, args, {
    cwd,
    // A loaded test machine lags: only the tests of shedding itself (which set it) may shed.
    env: {
      ...process.env,
      FERRY_LOG_LEVEL: 'warn',
      FERRY_LIMITS_SHED_EVENT_LOOP_DELAY_MS: '60000',
      ...env,
    },
  });
  let out = '';
  let err = '';
  const waiters = new Set<() => void>();
  proc.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    for (const w of waiters) w();
  });
  proc.stderr.on('data', (chunk: Buffer) => {
    err += chunk.toString();
  });
  const exited = new Promise<number | string>((resolve) => {
    proc.on('exit', (code, signal) => {
      resolve(code ?? signal ?? 'unknown');
      for (const w of waiters) w();
    });
  });
  return {
    proc,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor(pattern, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out waiting for ${pattern}; stdout:\n${out}\nstderr:\n${err}`));
        }, timeoutMs);
        const check = () => {
          const match = pattern.exec(out);
          if (match) {
            clearTimeout(timer);
            waiters.delete(check);
            resolve(match);
          } else if (proc.exitCode !== null || proc.signalCode !== null) {
            clearTimeout(timer);
            waiters.delete(check);
            reject(
              new Error(
                `process exited (${proc.exitCode ?? proc.signalCode}) before ${pattern}; stderr:\n${err}`,
              ),
            );
          }
        };
        waiters.add(check);
        check();
      });
    },
  };
}

/**
 * Polls until `check` returns a value: the state lives in another process, with no event to
 * await. Rejects naming `what` after `timeoutMs`.
 */
export async function until<T>(
  check: () => Promise<T | undefined> | T | undefined,
  what: string,
  timeoutMs = 90_000,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
