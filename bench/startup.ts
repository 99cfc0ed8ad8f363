/**
 * Start-up time: how long `ferry start` on the embedded store takes until /health answers, on a
 * new data dir and on an existing one, beside what the store alone needs in a process of its own
 * (a bare PGlite creating or opening a data dir). Both sides pay for a Node process start.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { templatePath } from '../src/db/pglite-template.ts';
import type { Benchmark, Report } from './run.ts';

/** Rounds per side, each on fresh data dirs; the median round is the figure. */
const rounds = 3;
const startTimeoutMs = 120_000;
const stopTimeoutMs = 30_000;

const repoRoot = fileURLToPath(new URL('../', import.meta.url));
const cli = path.join(repoRoot, 'src', 'cli', 'main.ts');

/** A child with its output collected; `exited` resolves with the exit code or signal name. */
interface Child {
  readonly proc: ChildProcess;
  stdout(): string;
  stderr(): string;
  readonly exited: Promise<number | string>;
}

/** One round of one side: the first start (new data dir) and the restart (existing data dir). */
interface Round {
  firstMs: number;
  restartMs: number;
}

/** Every child still running, so a failed round can still end them. */
const running = new Set<Child>();

function spawnNode(args: string[], env: NodeJS.ProcessEnv): Child {
  const proc = spawn(process.execPath, args, { cwd: repoRoot, env, stdio: 'pipe' });
  let out = '';
  let err = '';
  proc.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  proc.stderr.on('data', (chunk: Buffer) => {
    err += chunk.toString();
  });
  const exited = new Promise<number | string>((resolve) => {
    proc.on('close', (code, signal) => {
      running.delete(child);
      resolve(code ?? signal ?? 'unknown');
    });
    proc.on('error', (error) => {
      err += `\nspawn error: ${error.message}`;
    });
  });
  const child: Child = { proc, stdout: () => out, stderr: () => err, exited };
  running.add(child);
  return child;
}

/** The environment of a Ferry child: embedded store, quiet log. */
function ferryEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    FERRY_LOG_LEVEL: 'warn',
    FERRY_DATABASE_URL: '',
  };
  delete env.DATABASE_URL;
  return env;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function exitedWithin(child: Child, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => {
      resolve(false);
    }, ms);
  });
  return Promise.race([child.exited.then(() => true as const), timeout]).finally(() => {
    clearTimeout(timer);
  });
}

function failure(what: string, child: Child): Error {
  return new Error(`${what}; stdout:\n${child.stdout()}\nstderr:\n${child.stderr()}`);
}

/** Starts Ferry on `dataDir`; timed from spawn until GET /health answers 200. */
async function startFerry(dataDir: string, report: Report): Promise<{ child: Child; ms: number }> {
  let child: Child | undefined;
  const { ms } = await report.measure(async () => {
    const started = spawnNode([cli, 'start', '--data-dir', dataDir, '--port', '0'], ferryEnv());
    child = started;
    const deadline = Date.now() + startTimeoutMs;
    let url: string | undefined;
    for (;;) {
      if (started.proc.exitCode !== null || started.proc.signalCode !== null) {
        throw failure('ferry exited before /health answered', started);
      }
      if (Date.now() > deadline) {
        throw failure(`/health did not answer within ${startTimeoutMs} ms`, started);
      }
      url ??= /listening on (http:\/\/\S+)/.exec(started.stdout())?.[1];
      if (url !== undefined) {
        const ok = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) }).then(
          async (response) => {
            await response.body?.cancel();
            return response.status === 200;
          },
          () => false,
        );
        if (ok) return;
      }
      await sleep(10);
    }
  });
  if (!child) throw new Error('ferry was not started');
  return { child, ms };
}

/** SIGTERM, then waits for the exit; SIGKILL when it does not come in time. */
async function stop(child: Child): Promise<number | string> {
  if (child.proc.exitCode === null && child.proc.signalCode === null) child.proc.kill('SIGTERM');
  if (!(await exitedWithin(child, stopTimeoutMs))) {
    child.proc.kill('SIGKILL');
    await child.exited;
    return `killed after ${stopTimeoutMs} ms`;
  }
  return child.exited;
}

/** Ferry: first start on a new data dir, stop, then the timed restart on the same dir. */
async function ferryRound(dir: string, report: Report, exits: (number | string)[]): Promise<Round> {
  const first = await startFerry(dir, report);
  exits.push(await stop(first.child));
  const restart = await startFerry(dir, report);
  exits.push(await stop(restart.child));
  return { firstMs: first.ms, restartMs: restart.ms };
}

/** A bare PGlite in a child: creates or opens `dataDir`, runs SELECT 1, closes; spawn to exit. */
async function bare(script: string, dataDir: string, report: Report): Promise<number> {
  const { ms } = await report.measure(async () => {
    const child = spawnNode([script, dataDir], { ...process.env });
    if (!(await exitedWithin(child, startTimeoutMs))) {
      await stop(child);
      throw failure(`bare PGlite did not finish within ${startTimeoutMs} ms`, child);
    }
    const code = await child.exited;
    if (code !== 0) throw failure(`bare PGlite exited with ${code}`, child);
  });
  return ms;
}

async function peerRound(script: string, dir: string, report: Report): Promise<Round> {
  // Ferry keeps PGlite in <data dir>/pglite; the peer uses the same place.
  const dataDir = path.join(dir, 'pglite');
  const firstMs = await bare(script, dataDir, report);
  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
    throw new Error(`bare PGlite left no data dir in ${dataDir}`);
  }
  const restartMs = await bare(script, dataDir, report);
  return { firstMs, restartMs };
}

function writePeerScript(folder: string): string {
  const pglite = import.meta.resolve('@electric-sql/pglite');
  const script = path.join(folder, 'bare-pglite.mjs');
  writeFileSync(
    script,
    [
      `import { PGlite } from ${JSON.stringify(pglite)};`,
      'const db = await PGlite.create(process.argv[2]);',
      "await db.query('SELECT 1');",
      'await db.close();',
      '',
    ].join('\n'),
  );
  return script;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted[Math.floor(sorted.length / 2)];
  if (middle === undefined) throw new Error('no rounds ran');
  return middle;
}

function seconds(ms: number): { value: number; unit: string } {
  return { value: ms / 1000, unit: 's' };
}

function times(values: number[]): string {
  return values.map((ms) => (ms / 1000).toFixed(2)).join('/');
}

async function endLeftovers(): Promise<void> {
  await Promise.all([...running].map((child) => stop(child)));
}

/** `ferry start` until /health answers, on a new and on an existing data dir. */
export const startupBenchmark: Benchmark = {
  name: 'startup',
  description:
    '`ferry start` on the embedded store, spawn until GET /health answers 200, on a new data ' +
    `dir and on an existing one; median of ${rounds} rounds per side, each on a fresh temp dir`,
  async run(report) {
    const template = templatePath();
    report.note(
      existsSync(template)
        ? `store template present (${template}): new data dirs are unpacked from it`
        : `store template missing (${template}): a new data dir runs initdb`,
    );
    const folder = mkdtempSync(path.join(tmpdir(), 'ferry-bench-startup-'));
    try {
      const script = writePeerScript(folder);
      const ferry: Round[] = [];
      const peer: Round[] = [];
      const exits: (number | string)[] = [];
      // Alternate who goes first, so warm-up (disk cache) and drifting load fall on both sides.
      for (let round = 0; round < rounds; round++) {
        const order = round % 2 === 0 ? (['ferry', 'peer'] as const) : (['peer', 'ferry'] as const);
        for (const which of order) {
          const dir = mkdtempSync(path.join(folder, `${which}-${round}-`));
          try {
            if (which === 'ferry') ferry.push(await ferryRound(dir, report, exits));
            else peer.push(await peerRound(script, dir, report));
          } finally {
            await endLeftovers();
            rmSync(dir, { recursive: true, force: true });
          }
        }
      }
      const first = ferry.map((r) => r.firstMs);
      const restart = ferry.map((r) => r.restartMs);
      const peerFirst = peer.map((r) => r.firstMs);
      const peerRestart = peer.map((r) => r.restartMs);
      report.figure('startup.first', seconds(median(first)), {
        name: 'bare PGlite initdb',
        ...seconds(median(peerFirst)),
      });
      report.figure('startup.restart', seconds(median(restart)), {
        name: 'bare PGlite open',
        ...seconds(median(peerRestart)),
      });
      report.note(
        `rounds (s): ferry first ${times(first)}, restart ${times(restart)}; ` +
          `bare PGlite initdb ${times(peerFirst)}, open ${times(peerRestart)}`,
      );
      const unclean = exits.filter((code) => code !== 0);
      report.note(
        unclean.length === 0
          ? `ferry exited 0 after SIGTERM in all ${exits.length} starts`
          : `ferry exits after SIGTERM: ${exits.join(', ')}`,
      );
    } finally {
      await endLeftovers();
      rmSync(folder, { recursive: true, force: true });
    }
  },
};
