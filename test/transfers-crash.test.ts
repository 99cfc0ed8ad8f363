/**
 * Crash safety of transfers with real processes: SIGKILL in the middle of a large copy, then a
 * restart. Nothing partial may appear under the final name, the source stays intact, and the
 * transfer completes; an active watch profile keeps working after the restart.
 */
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runNode, type Child } from './helpers/process.ts';
import { freshDatabase, storeKinds, tempDir } from './helpers/stores.ts';
import { sha256File, writeRandom } from './helpers/transfers.ts';

const MiB = 1024 * 1024;
const children: Child[] = [];
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.proc.exitCode === null && child.proc.signalCode === null) child.proc.kill('SIGKILL');
    await child.exited;
  }
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function api<T>(url: string, method = 'GET', body?: object): Promise<T> {
  const response = await fetch(url, {
    method,
    ...(body
      ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }
      : {}),
  });
  return (await response.json()) as T;
}

/** Polls until `check` returns a value: the state lives in another process, with no event to await. */
async function until<T>(
  check: () => Promise<T | undefined> | T | undefined,
  what: string,
  timeoutMs = 90_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.each(storeKinds)('transfer crash safety on %s', (kind) => {
  it('SIGKILL mid-copy, restart: no partial under the final name, source intact, transfer completes', async () => {
    const volume = tempDir('ferry-crash-');
    cleanups.push(volume.remove);
    const data = tempDir('ferry-crash-data-');
    cleanups.push(data.remove);
    const database = kind === 'postgres' ? await freshDatabase() : undefined;
    if (database) cleanups.push(database.drop);
    const src = path.join(volume.dir, 'src');
    const dst = path.join(volume.dir, 'dst');
    const watched = path.join(volume.dir, 'watched');
    for (const dir of [src, dst, watched]) mkdirSync(dir);
    const sourceSum = writeRandom(path.join(src, 'big.bin'), 64 * MiB);
    const env = {
      FERRY_DATA_DIR: data.dir,
      FERRY_DATABASE_URL: database?.url ?? '',
      FERRY_HTTP_PORT: '0',
      FERRY_VOLUMES: volume.dir,
      FERRY_AUTH_ANONYMOUS: 'loopback',
      FERRY_JOBS_RETRY_DELAY_SECONDS: '0',
      FERRY_JOBS_HEARTBEAT_SECONDS: '10',
      FERRY_TRANSFERS_POLL_INTERVAL_SECONDS: '0.2',
      FERRY_TRANSFERS_WATCH_LEASE_SECONDS: '2',
    };
    const slow = runNode('test/fixtures/slow-transfer-node.ts', [], env);
    children.push(slow);
    const [, url] = await slow.waitFor(/listening on (http:\/\/\S+)/, 60_000);
    const watch = await api<{ id: number }>(`${url}/transfers`, 'POST', {
      source_path: watched,
      destination_path: dst,
      watch_mode_enabled: true,
      watch_continuous: true,
      settle_time_seconds: 0,
    });
    const transfer = await api<{ id: number }>(`${url}/transfers`, 'POST', {
      source_path: path.join(src, 'big.bin'),
      destination_path: dst,
    });

    // Kill once the temp file holds part of the bytes.
    const partial = await until(
      () =>
        readdirSync(dst).find(
          (n) => n.endsWith('.part') && statSync(path.join(dst, n)).size >= 8 * MiB,
        ),
      'a partial temp file',
    );
    slow.proc.kill('SIGKILL');
    await slow.exited;
    expect(partial.startsWith('.big.bin.ferry-')).toBe(true);
    expect(existsSync(path.join(dst, 'big.bin'))).toBe(false);
    expect(sha256File(path.join(src, 'big.bin'))).toBe(sourceSum);

    const again = runNode('src/cli/main.ts', ['start'], env);
    children.push(again);
    const [, url2] = await again.waitFor(/listening on (http:\/\/\S+)/, 60_000);
    const done = await until(async () => {
      const t = await api<{ status: string; error_message: string | null }>(
        `${url2}/transfers/${transfer.id}`,
      );
      return ['completed', 'failed'].includes(t.status) ? t : undefined;
    }, 'the transfer to finish after restart');
    expect(done).toMatchObject({ status: 'completed', error_message: null });
    expect(sha256File(path.join(dst, 'big.bin'))).toBe(sourceSum);
    expect(sha256File(path.join(src, 'big.bin'))).toBe(sourceSum);
    expect(readdirSync(dst).filter((n) => n.endsWith('.part'))).toEqual([]);

    // The watch profile created before the crash is scanned again by the restarted node.
    const fileSum = writeRandom(path.join(watched, 'after-restart.bin'), 50 * 1024);
    // The file lands under its final name a moment before its row says so: wait on the row.
    await until(async () => {
      const history = await api<{ total_files_completed: number }>(
        `${url2}/transfers/${watch.id}/watch-history`,
      );
      return history.total_files_completed === 1 ? true : undefined;
    }, 'the watch profile to deliver after restart');
    expect(sha256File(path.join(dst, 'after-restart.bin'))).toBe(fileSum);
    again.proc.kill('SIGTERM');
    expect(await again.exited).toBe(0);
  });
});
