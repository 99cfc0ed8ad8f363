/** Part (b) of the transfers benchmark: small files dropped into a continuous watch profile. */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Ferry } from '../src/app/index.ts';
import type { StoreKind } from '../src/db/index.ts';
import { adminUrlShown, postgresProblem } from '../test/helpers/stores.ts';
import type { Quantity, Report } from './run.ts';
import { missing, percentile, run, small, startNode } from './transfer-node.ts';

const lone = { files: 20, intervalMs: 250, timeoutMs: 60_000 };

/** Stable/detected/finished times (performance.now) by path relative to the watched source. */
interface Track {
  stable: Map<string, number>;
  detected: Map<string, number>;
  finished: Map<string, number>;
  failed: number;
  /** Resolves when every one of `keys` finished (or failed), or after `ms`. */
  until(keys: readonly string[], ms: number): Promise<void>;
  off(): void;
}

function track(ferry: Ferry, transferId: number): Track {
  let pending = new Set<string>();
  let settle: (() => void) | undefined;
  const t: Track = {
    stable: new Map(),
    detected: new Map(),
    finished: new Map(),
    failed: 0,
    async until(keys, ms) {
      pending = new Set(keys.filter((k) => !t.finished.has(k)));
      if (pending.size === 0) return;
      const limit = new AbortController();
      const all = new Promise<void>((resolve) => (settle = resolve));
      await Promise.race([all, sleep(ms, undefined, { signal: limit.signal }).catch(() => 0)]);
      limit.abort();
      settle = undefined;
    },
    off() {
      for (const off of offs) off();
    },
  };
  const offs = [
    ferry.bus.on('watch:file-detected', (e) => {
      if (e.transferId === transferId) t.detected.set(e.path, performance.now());
    }),
    ferry.bus.on('watch:file-finished', (e) => {
      if (e.transferId !== transferId) return;
      if (!e.ok) t.failed += 1;
      t.finished.set(e.path, e.ok ? performance.now() : Number.POSITIVE_INFINITY);
      if (pending.delete(e.path) && pending.size === 0) settle?.();
    }),
  ];
  return t;
}

/** Writes `count` distinct files of `small.bytes` under `dir`; their names. */
function writeTree(dir: string, count: number): string[] {
  mkdirSync(dir, { recursive: true });
  const content = randomBytes(small.bytes);
  return Array.from({ length: count }, (_, i) => {
    const name = `f${String(i).padStart(5, '0')}.bin`;
    content.writeUInt32LE(i, 0);
    writeFileSync(path.join(dir, name), content);
    return name;
  });
}

/** Latencies stable→verified in ms, sorted; a file not verified counts as infinitely late. */
function latencies(t: Track, keys: readonly string[], from: Map<string, number>): number[] {
  return keys
    .map((k) => (t.finished.get(k) ?? Number.POSITIVE_INFINITY) - (from.get(k) ?? Number.NaN))
    .sort((a, b) => a - b);
}

/** Lone files: written as `*.part` (ignored), renamed into place one at a time. */
async function dropLone(t: Track, src: string): Promise<string[]> {
  const content = randomBytes(small.bytes);
  const keys: string[] = [];
  for (let i = 0; i < lone.files; i++) {
    const name = `lone-${i}.bin`;
    content.writeUInt32LE(i, 0);
    await writeFile(path.join(src, `${name}.part`), content);
    await rename(path.join(src, `${name}.part`), path.join(src, name));
    t.stable.set(name, performance.now());
    keys.push(name);
    await sleep(lone.intervalMs);
  }
  await t.until(keys, lone.timeoutMs);
  return keys;
}

async function watchStore(
  report: Report,
  kind: StoreKind,
  root: string,
  peer: (tree: string) => Promise<Quantity & { name: string }>,
): Promise<void> {
  const volume = mkdtempSync(path.join(root, `watch-${kind}-`));
  const src = path.join(volume, 'src');
  const stage = path.join(volume, 'stage');
  mkdirSync(src);
  const names = writeTree(path.join(stage, 'bulk'), small.files);
  const rclone = await peer(path.join(stage, 'bulk'));
  const node = await startNode(kind, volume);
  const name = `transfers.watch.${kind}`;
  try {
    const id = await node.post({
      ...{ source_path: src, destination_path: path.join(volume, 'dst'), watch_mode_enabled: true },
      ...{ watch_continuous: true, settle_time_seconds: 0, poll_interval_seconds: 0.2 },
    });
    const t = track(node.ferry, id);
    try {
      const loneKeys = await dropLone(t, src);
      const loneMs = latencies(t, loneKeys, t.stable);
      report.figure(`${name}.lone.p50`, { value: percentile(loneMs, 0.5), unit: 'ms' });
      report.figure(`${name}.lone.p99`, { value: percentile(loneMs, 0.99), unit: 'ms' });
      const keys = names.map((n) => `bulk/${n}`);
      renameSync(path.join(stage, 'bulk'), path.join(src, 'bulk'));
      const dropped = performance.now();
      for (const k of keys) t.stable.set(k, dropped);
      await t.until(keys, small.limitMs);
      printBulk(report, name, t, keys, dropped, rclone);
    } finally {
      t.off();
    }
  } finally {
    await node.stop();
    rmSync(volume, { recursive: true, force: true });
  }
}

function printBulk(
  report: Report,
  name: string,
  t: Track,
  keys: readonly string[],
  dropped: number,
  rclone: Quantity & { name: string },
): void {
  const verified = keys.filter((k) => Number.isFinite(t.finished.get(k) ?? Infinity));
  const last = Math.max(dropped, ...verified.map((k) => t.finished.get(k) ?? 0));
  const complete = verified.length === keys.length;
  const elapsed = (complete ? last : performance.now()) - dropped;
  report.figure(
    `${name}.files`,
    { value: verified.length / (elapsed / 1000), unit: 'files/s' },
    rclone,
  );
  const lat = latencies(t, keys, t.stable);
  const wholeTree = {
    name: `${rclone.name}, whole tree`,
    value: keys.length / rclone.value,
    unit: 's',
  };
  for (const p of [0.5, 0.99]) {
    const v = percentile(lat, p);
    const q: Quantity = Number.isFinite(v)
      ? { value: v / 1000, unit: 's' }
      : { value: elapsed / 1000, unit: 's (at least: not verified when the limit came)' };
    report.figure(`${name}.bulk.p${p * 100}`, q, wholeTree);
  }
  const detectedLag = keys
    .map((k) => (t.detected.get(k) ?? Infinity) - dropped)
    .sort((a, b) => a - b);
  report.note(
    `${name}: ${verified.length}/${keys.length} verified in ${(elapsed / 1000).toFixed(1)} s` +
      (complete ? '' : ` (stopped at the ${small.limitMs / 1000} s limit)`) +
      `, ${t.failed} failed; ${t.detected.size - lone.files} detected, detection p50 ` +
      `${percentile(detectedLag, 0.5).toFixed(0)} ms after the drop; stable = the moment the ` +
      'file was renamed into place complete (settle 0); verified = watch:file-finished ok; ' +
      'the peer is one rclone run over the same tree, its whole time the upper bound of any ' +
      "file's latency",
  );
}

/** `rclone copy` of `tree` into a fresh folder; files/s. Measured once, reused for each store. */
function rclonePeer(
  report: Report,
  root: string,
): (tree: string) => Promise<Quantity & { name: string }> {
  let measured: (Quantity & { name: string }) | undefined;
  return async (tree) => {
    if (measured) return measured;
    const to = path.join(root, 'rclone-tree');
    try {
      const { ms } = await report.measure(() => run('rclone', ['copy', '--config', '', tree, to]));
      measured = { name: 'rclone copy', value: small.files / (ms / 1000), unit: 'files/s' };
      report.note(
        `transfers.watch: rclone copy of the ${small.files}-file tree took ${(ms / 1000).toFixed(2)} s (page cache warm, as for ferry)`,
      );
      return measured;
    } finally {
      rmSync(to, { recursive: true, force: true });
    }
  };
}

/** Part (b) on PGlite, then on PostgreSQL when one is reachable; rclone copy is the peer. */
export async function watchFolders(report: Report, root: string): Promise<void> {
  if (missing(['rclone']).size > 0) {
    report.note('transfers.watch: rclone not found; the watch figures print without a peer');
  }
  const peer =
    missing(['rclone']).size > 0
      ? () => Promise.resolve({ name: 'none (rclone missing)', value: Number.NaN, unit: 'files/s' })
      : rclonePeer(report, root);
  await watchStore(report, 'pglite', root, peer);
  const problem = await postgresProblem();
  if (problem !== undefined) {
    report.note(
      `transfers.watch.postgres: skipped, PostgreSQL at ${adminUrlShown} unreachable (${problem}); set FERRY_TEST_DATABASE_URL`,
    );
    return;
  }
  await watchStore(report, 'postgres', root, peer);
}
