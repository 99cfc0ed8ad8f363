/**
 * Helpers for transfer tests: a Ferry on one store with a temp volume, files with known
 * content, and waits on domain events (never on sleeps).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach } from 'vitest';
import { makeFerry, type Ferry, type FerryParts } from '../../src/app/index.ts';
import type { StoreKind } from '../../src/db/index.ts';
import type { FerryEvents } from '../../src/bus/bus.ts';
import { tempDir, testEnv, type TestEnv } from './stores.ts';

/** The fields of API answers the transfer tests read. */
export interface TransferJson {
  id: number;
  status: string;
  code?: string;
  detail?: string;
  file_name: string | null;
  watch_cycle_count: number;
  watch_continuous: boolean;
  watch_job_id: string | null;
  error_message: string | null;
  total: number;
  items: {
    id: number;
    status: string;
    event: string;
    source_checksum: string;
    destination_checksum: string;
    checksum_match: boolean;
  }[];
  algorithm: string;
}

export interface FileJson {
  status: string;
  source_checksum: string | null;
  destination_checksum: string | null;
  checksum_match: boolean | null;
  error_code: string | null;
  attempts: number;
}

export interface HistoryJson {
  transfer_id: number;
  total_files_detected: number;
  total_files_completed: number;
  total_files_failed: number;
  files: FileJson[];
}

export interface TransferWorld {
  ferry: Ferry;
  env: TestEnv;
  /** The configured volume; sources and destinations live under it. */
  volume: string;
  src: string;
  dst: string;
  /** An in-process request; `T` names the answer's shape (not checked: the test asserts it). */
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- a cast by design
  request<T = TransferJson>(
    method: 'GET' | 'POST' | 'DELETE',
    url: string,
    body?: object,
  ): Promise<{ status: number; json: T }>;
  /** Resolves once `count` events of `name` match; rejects after `timeoutMs`. */
  collect<K extends keyof FerryEvents>(
    name: K,
    count: number,
    match?: (p: FerryEvents[K]) => boolean,
    timeoutMs?: number,
  ): Promise<FerryEvents[K][]>;
  /** Creates a continuous watch profile from `src` to `dst` (settle time 0), `more` on top. */
  watch(more?: object): Promise<{ status: number; json: TransferJson }>;
  /** Resolves with the status event that ends transfer `id` (completed, failed, cancelled). */
  ended(id: number, timeoutMs?: number): Promise<FerryEvents['transfer:status']>;
  /** Waits for transfer `id` to end, then reads it. */
  finished(id: number, timeoutMs?: number): Promise<TransferJson>;
  cleanup(): Promise<void>;
}

const finalStatuses = ['completed', 'failed', 'cancelled'];

/** A started Ferry with anonymous loopback access and one volume holding `src` and `dst`. */
export async function transferWorld(
  kind: StoreKind,
  parts: FerryParts = {},
  env: Record<string, string> = {},
): Promise<TransferWorld> {
  const volume = tempDir('ferry-volume-');
  const testEnvironment = await testEnv(kind, {
    FERRY_VOLUMES: volume.dir,
    FERRY_AUTH_ANONYMOUS: 'loopback',
    FERRY_TRANSFERS_POLL_INTERVAL_SECONDS: '0.2',
    FERRY_TRANSFERS_RETRY_DELAY_MS: '10',
    FERRY_TRANSFERS_WATCH_LEASE_SECONDS: '3',
    FERRY_JOBS_RETRY_DELAY_SECONDS: '0',
    ...env,
  });
  const ferry = makeFerry(testEnvironment.config, parts);
  await ferry.start();
  const src = path.join(volume.dir, 'src');
  const dst = path.join(volume.dir, 'dst');
  mkdirSync(src);
  mkdirSync(dst);
  const world: TransferWorld = {
    ferry,
    env: testEnvironment,
    volume: volume.dir,
    src,
    dst,
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- see above
    async request<T>(method: 'GET' | 'POST' | 'DELETE', url: string, body?: object) {
      const http = ferry.http;
      if (!http) throw new Error('no http');
      const response = await http.inject({ method, url, ...(body ? { payload: body } : {}) });
      return { status: response.statusCode, json: (response.body ? response.json() : {}) as T };
    },
    collect(name, count, match = () => true, timeoutMs = 30_000) {
      const seen: FerryEvents[typeof name][] = [];
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          off();
          reject(new Error(`timed out waiting for ${count} ${name} (saw ${seen.length})`));
        }, timeoutMs);
        const off = ferry.bus.on(name, (payload) => {
          if (!match(payload)) return;
          seen.push(payload);
          if (seen.length >= count) {
            clearTimeout(timer);
            off();
            resolve(seen);
          }
        });
      });
    },
    watch(more = {}) {
      return world.request('POST', '/transfers', {
        source_path: src,
        destination_path: dst,
        watch_mode_enabled: true,
        watch_continuous: true,
        settle_time_seconds: 0,
        ...more,
      });
    },
    async ended(id, timeoutMs) {
      const [end] = await world.collect(
        'transfer:status',
        1,
        (s) => s.transferId === id && finalStatuses.includes(s.status),
        timeoutMs,
      );
      if (!end) throw new Error(`transfer ${id} did not end`);
      return end;
    },
    async finished(id, timeoutMs) {
      await world.ended(id, timeoutMs);
      return (await world.request('GET', `/api/v1/transfers/${id}`)).json;
    },
    async cleanup() {
      await ferry.stop();
      await testEnvironment.cleanup();
      volume.remove();
    },
  };
  return world;
}

/**
 * The transfer tests' one setup: returns a starter for worlds (as `transferWorld`) and registers an
 * `afterEach` that stops and removes every world the test started.
 */
export function useTransferWorlds(): typeof transferWorld {
  const started: TransferWorld[] = [];
  afterEach(async () => {
    for (const world of started.splice(0)) await world.cleanup();
  });
  return async function startWorld(...args) {
    const world = await transferWorld(...args);
    started.push(world);
    return world;
  };
}

/** Writes `size` random bytes (parents created); returns the content's sha256. */
export function writeRandom(file: string, size: number): string {
  mkdirSync(path.dirname(file), { recursive: true });
  const content = randomBytes(size);
  writeFileSync(file, content);
  return sha256(content);
}

export function sha256(content: Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}

export function sha256File(file: string): string {
  return sha256(readFileSync(file));
}
