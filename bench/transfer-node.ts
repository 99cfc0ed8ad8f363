/** Pieces both halves of the transfers benchmark use: sizes, a command runner, a Ferry node. */
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { makeFerry, type Ferry } from '../src/app/index.ts';
import type { StoreKind } from '../src/db/index.ts';
import { testEnv } from '../test/helpers/stores.ts';
import type { Quantity } from './run.ts';

/** One mebibyte, in bytes. */
export const MiB = 1024 * 1024;

/** A positive integer from the environment (a quick run shrinks the sizes), else `fallback`. */
function fromEnv(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value <= 0) {
    throw new Error(`${name} must be a positive integer; got ${process.env[name] ?? ''}`);
  }
  return value;
}

/**
 * Part (a): the big file's size (FERRY_BENCH_FILE_MIB, default 2048), write block, measured
 * rounds, and the limit for one command.
 */
export const big = {
  bytes: fromEnv('FERRY_BENCH_FILE_MIB', 2048) * MiB,
  blockBytes: 64 * MiB,
  rounds: 3,
  timeoutMs: 300_000,
};
/**
 * Part (b): how many small files (FERRY_BENCH_SMALLFILES_COUNT, default 10,000), each one's
 * size, and the time limit of one bulk drop into a watch profile.
 */
export const small = {
  files: fromEnv('FERRY_BENCH_SMALLFILES_COUNT', 10_000),
  bytes: 50 * 1024,
  limitMs: 240_000,
};
const runFile = promisify(execFile);

/** Runs a command; its stdout. Fails on a non-zero exit. */
export async function run(command: string, args: string[]): Promise<string> {
  const { stdout } = await runFile(command, args, { timeout: big.timeoutMs, maxBuffer: MiB });
  return stdout;
}

/** The tools among `tools` that cannot be started here. */
export function missing(tools: readonly string[]): Set<string> {
  return new Set(tools.filter((t) => spawnSync(t, ['--version'], { stdio: 'ignore' }).error));
}

/** Writes `count` distinct files of `small.bytes` under `dir`; their names. */
export function writeTree(dir: string, count: number): string[] {
  mkdirSync(dir, { recursive: true });
  const content = randomBytes(small.bytes);
  return Array.from({ length: count }, (_, i) => {
    const name = `f${String(i).padStart(5, '0')}.bin`;
    content.writeUInt32LE(i, 0);
    writeFileSync(path.join(dir, name), content);
    return name;
  });
}

/** Flushes dirty pages and empties the page cache; the reason when that is not allowed. */
export function dropCaches(): string | undefined {
  spawnSync('sync');
  try {
    writeFileSync('/proc/sys/vm/drop_caches', '3');
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** The value at fraction `p` (0–1) of the ascending `sorted`; NaN when it is empty. */
export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? Number.NaN;
}

/** The rate of `bytes` moved in `ms` milliseconds, in MB/s. */
export const mbPerSecond = (bytes: number, ms: number): Quantity => ({
  value: bytes / 1e6 / (ms / 1000),
  unit: 'MB/s',
});

/** A Ferry on `kind` whose one volume is `volume`, with anonymous loopback access. */
export interface Node {
  ferry: Ferry;
  post(body: object): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Starts a {@link Node}; its store is set up for it and cleaned up by `stop()`. `extra` adds
 * FERRY_* settings (a FERRY_CONFIG file with endpoints, say).
 */
export async function startNode(
  kind: StoreKind,
  volume: string,
  extra: Record<string, string> = {},
): Promise<Node> {
  const env = await testEnv(kind, {
    FERRY_VOLUMES: volume,
    FERRY_AUTH_ANONYMOUS: 'loopback',
    FERRY_TRANSFERS_POLL_INTERVAL_SECONDS: '0.2',
    ...extra,
  });
  const ferry = makeFerry(env.config);
  try {
    await ferry.start();
  } catch (error) {
    await env.cleanup();
    throw error;
  }
  return {
    ferry,
    async post(body) {
      const http = ferry.http;
      if (!http) throw new Error('ferry has no HTTP server');
      const res = await http.inject({ method: 'POST', url: '/api/v1/transfers', payload: body });
      if (res.statusCode !== 201)
        throw new Error(`POST /api/v1/transfers: ${res.statusCode} ${res.body}`);
      return res.json<{ id: number }>().id;
    },
    async stop() {
      await ferry.stop();
      await env.cleanup();
    },
  };
}

/** Resolves with the final status of transfer `id` (listening starts before the POST). */
export function finalStatus(ferry: Ferry): { wait(id: number): Promise<string>; off(): void } {
  const seen = new Map<number, string>();
  const waiting = new Map<number, (status: string) => void>();
  const off = ferry.bus.on('transfer:status', (e) => {
    if (!['completed', 'failed', 'cancelled'].includes(e.status)) return;
    seen.set(e.transferId, e.status);
    waiting.get(e.transferId)?.(e.status);
  });
  return {
    off,
    wait(id) {
      const known = seen.get(id);
      if (known !== undefined) return Promise.resolve(known);
      const timeout = sleep(big.timeoutMs, 'timed out', { ref: false });
      return Promise.race([new Promise<string>((resolve) => waiting.set(id, resolve)), timeout]);
    },
  };
}
