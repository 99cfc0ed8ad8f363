/**
 * Runs smbclient, one process (one SMB session) per storage operation. smbclient is the only
 * SMB client reachable from Node that signs and speaks SMB3 (see docs/storage.md), and a
 * process per operation keeps every failure local to its operation.
 *
 * Commands go in on a pipe, never on the command line: `-c` splits on `;`, which SMB names may
 * contain. The password goes in the PASSWD environment variable, which only the same user can
 * read, never in argv, which every user can.
 *
 * Data travels through `/dev/fd/5`, which smbclient opens by name. Node gives children sockets,
 * which Linux will not open by name, so a `sh` wrapper puts a real pipe (with `cat`) in between.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { StorageError } from '../types.ts';
import { commandFailure, connectionFailure } from './failures.ts';
import { splitSections } from './output.ts';
import type { SmbUrl } from './url.ts';

/** What every operation of one SMB storage shares. */
export interface SmbContext {
  readonly url: SmbUrl;
  readonly password: string;
  /** How long to wait for any sign of life from the server. */
  readonly timeoutMs: number;
  /** The URL without secrets, for messages. */
  readonly location: string;
  /** Processes in flight; close() ends them. */
  readonly running: Set<Running>;
  readonly state: { closed: boolean };
}

/** How a process ended. */
export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Set when the process could not be started at all. */
  readonly error?: Error;
}

/** One smbclient run. */
export interface Running {
  readonly child: ChildProcess;
  /** Text stdout (script mode only). */
  stdout(): string;
  /** Every text line smbclient and the wrapper printed (stdout and stderr). */
  text(): string;
  readonly finished: Promise<Exit>;
  /** Ends the process (and its wrapper's pipeline). */
  kill(): void;
}

/**
 * script: commands on stdin, text on stdout and stderr.
 * read: commands on stdin, file bytes on stdout, text on stderr.
 * write: file bytes on stdin, text on stdout and stderr, commands on fd 3.
 */
export type Mode = 'script' | 'read' | 'write';

/**
 * SIGPIPE is ignored (and stays ignored across exec) so that a server closing the connection
 * makes smbclient report an NT status instead of dying silently with its output unflushed.
 */
const WRAPPERS: Record<Mode, string> = {
  script: `trap '' PIPE; exec smbclient "$@"`,
  // fd 5 is the pipe to cat; smbclient's own stdout goes to stderr so only bytes reach stdout.
  read: `trap '' PIPE; smbclient "$@" 5>&1 1>&2 | cat`,
  // cat copies stdin into the pipe smbclient reads as fd 5; smbclient's commands come on fd 3.
  write: `trap '' PIPE; cat | smbclient "$@" 5<&0 0<&3`,
};

function smbclientArgs(context: SmbContext): string[] {
  const { url } = context;
  const seconds = Math.max(1, Math.ceil(context.timeoutMs / 1000));
  const args = [`//${url.host}/${url.share}`, '-p', String(url.port), '-U', url.user];
  args.push('-t', String(seconds));
  if (url.domain !== undefined) args.push('-W', url.domain);
  if (context.password === '') args.push('-N');
  return args;
}

function smbclientEnv(context: SmbContext): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: process.env.HOME ?? '/',
    // The parsers read English month names and UTC times.
    LC_ALL: 'C.UTF-8',
    TZ: 'UTC',
    PASSWD: context.password,
  };
}

/** A StorageError when the storage was closed; operations refuse to start afterwards. */
export function closedError(context: SmbContext, path: string): StorageError {
  return new StorageError('io', path, `the SMB storage for ${context.location} is closed`);
}

function spawnFor(context: SmbContext, mode: Mode) {
  const args = smbclientArgs(context);
  const options = { env: smbclientEnv(context), detached: mode !== 'script' };
  if (mode === 'script') {
    return spawn('sh', ['-c', WRAPPERS.script, 'sh', ...args], {
      ...options,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
  }
  const stdio =
    mode === 'read'
      ? (['pipe', 'pipe', 'pipe'] as const)
      : (['pipe', 'pipe', 'pipe', 'pipe'] as const);
  return spawn('sh', ['-c', WRAPPERS[mode], 'sh', ...args], { ...options, stdio: [...stdio] });
}

/** Starts smbclient in `mode` and feeds it `commands`. */
export function startSmbclient(context: SmbContext, mode: Mode, commands: string[]): Running {
  const child = spawnFor(context, mode);
  let stdout = '';
  let text = '';
  const textStreams = mode === 'read' ? [child.stderr] : [child.stdout, child.stderr];
  for (const stream of textStreams) {
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      text += chunk;
      if (stream === child.stdout) stdout += chunk;
    });
  }
  const commandStream = mode === 'write' ? child.stdio[3] : child.stdin;
  // smbclient may exit before reading everything (it could not connect); the exit tells why.
  commandStream?.on('error', () => undefined);
  if (commandStream && 'end' in commandStream) {
    commandStream.end(commands.map((c) => `${c}\n`).join(''));
  }
  const finished = new Promise<Exit>((resolve) => {
    child.once('error', (error) => {
      resolve({ code: null, signal: null, error });
    });
    child.once('close', (code, signal) => {
      resolve({ code, signal });
    });
  });
  const running: Running = {
    child,
    stdout: () => stdout,
    text: () => text,
    finished,
    kill() {
      // Unread bytes in a paused data stream would hold 'close' back forever: drop them.
      if (mode === 'read') child.stdout.destroy();
      if (mode === 'write') child.stdin.destroy();
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
      try {
        // The wrappers run a pipeline in their own process group: end all of it.
        if (mode === 'script') child.kill('SIGKILL');
        else process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    },
  };
  context.running.add(running);
  void finished.then(() => context.running.delete(running));
  return running;
}

/** The failure smbclient printed (connection first, then any command), or undefined. */
export function printedFailure(
  context: SmbContext,
  running: Running,
  path: string,
  what: string,
): StorageError | undefined {
  const { url, location } = context;
  const where = { location, user: url.user, share: url.share };
  return (
    connectionFailure(running.text(), path, where) ??
    commandFailure(running.text().split('\n'), path, what)
  );
}

/** Why a run that did not finish its work failed, as a StorageError. */
export function runFailure(
  context: SmbContext,
  running: Running,
  exit: Exit,
  path: string,
  what: string,
): StorageError {
  if (exit.error) {
    const missing = (exit.error as NodeJS.ErrnoException).code === 'ENOENT';
    const message = missing
      ? 'smbclient is not installed (Debian/Ubuntu: apt-get install smbclient)'
      : exit.error.message;
    return new StorageError('io', path, `${what}: ${message}`, { cause: exit.error });
  }
  if (exit.code === 127 && /smbclient: (not found|command not found)/.test(running.text())) {
    return new StorageError(
      'io',
      path,
      `${what}: smbclient is not installed (apt-get install smbclient)`,
    );
  }
  if (context.state.closed) return closedError(context, path);
  const failure = connectionFailure(running.text(), path, {
    location: context.location,
    user: context.url.user,
    share: context.url.share,
  });
  if (failure) return failure;
  const tail = running.text().trim().split('\n').slice(-3).join(' | ');
  const how = exit.signal ? `signal ${exit.signal}` : `exit code ${String(exit.code)}`;
  return new StorageError('io', path, `${what}: smbclient ended early (${how}): ${tail}`);
}

/** Resolves `promise`, or rejects with 'unreachable' when `ms` pass first. */
export async function within<T>(
  context: SmbContext,
  promise: Promise<T>,
  path: string,
  what: string,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const message = `${what}: no answer from ${context.location} within ${context.timeoutMs} ms`;
      reject(new StorageError('unreachable', path, message));
    }, context.timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs `commands` in one session and returns each command's output lines. Output keeps the
 * watchdog alive, so a long listing is not cut off; silence for timeoutMs is 'unreachable'.
 */
export async function runScript(
  context: SmbContext,
  commands: string[],
  path: string,
  what: string,
): Promise<string[][]> {
  if (context.state.closed) throw closedError(context, path);
  const script = ['pwd', ...commands.flatMap((command) => [command, 'pwd'])];
  const running = startSmbclient(context, 'script', script);
  const watch: { timer?: NodeJS.Timeout; timedOut: boolean } = { timedOut: false };
  const arm = () => {
    clearTimeout(watch.timer);
    watch.timer = setTimeout(() => {
      watch.timedOut = true;
      running.kill();
    }, context.timeoutMs);
  };
  arm();
  running.child.stdout?.on('data', arm);
  running.child.stderr?.on('data', arm);
  const exit = await running.finished;
  clearTimeout(watch.timer);
  if (watch.timedOut) {
    const message = `${what}: no answer from ${context.location} within ${context.timeoutMs} ms`;
    throw new StorageError('unreachable', path, message);
  }
  const sections = splitSections(running.stdout());
  if (sections.length < commands.length) throw runFailure(context, running, exit, path, what);
  return sections;
}
