/** Part (b) of the transfers benchmark, watch half: small files dropped into a watch profile. */
import { randomBytes } from 'node:crypto';
import { mkdirSync, renameSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Ferry } from '../src/app/index.ts';
import type { Quantity, Report } from './run.ts';
import { percentile, small, type Node } from './transfer-node.ts';

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

/** The bulk drop's outcome: how many files were verified, and in how long. */
export interface BulkOutcome {
  verified: number;
  ms: number;
  complete: boolean;
}

/**
 * Part (b), watch half, on a running `node`: a watch profile over `volume/src` (settle 0, poll
 * 0.2 s); lone files first (their latency), then the staged tree `tree` (files `names`) renamed
 * into the watched folder at once. Prints the latencies; returns the bulk drop's throughput.
 */
export async function watchProfile(
  report: Report,
  node: Node,
  name: string,
  volume: string,
  tree: string,
  names: readonly string[],
  wholeTree?: { name: string; ms: number },
): Promise<BulkOutcome> {
  const src = path.join(volume, 'src');
  mkdirSync(src, { recursive: true });
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
    renameSync(tree, path.join(src, 'bulk'));
    const dropped = performance.now();
    for (const k of keys) t.stable.set(k, dropped);
    await t.until(keys, small.limitMs);
    return printBulk(report, name, t, keys, dropped, wholeTree);
  } finally {
    t.off();
  }
}

function printBulk(
  report: Report,
  name: string,
  t: Track,
  keys: readonly string[],
  dropped: number,
  wholeTree?: { name: string; ms: number },
): BulkOutcome {
  const verified = keys.filter((k) => Number.isFinite(t.finished.get(k) ?? Infinity));
  const last = Math.max(dropped, ...verified.map((k) => t.finished.get(k) ?? 0));
  const complete = verified.length === keys.length;
  const elapsed = (complete ? last : performance.now()) - dropped;
  const lat = latencies(t, keys, t.stable);
  for (const p of [0.5, 0.99]) {
    const v = percentile(lat, p);
    const q: Quantity = Number.isFinite(v)
      ? { value: v / 1000, unit: 's' }
      : { value: elapsed / 1000, unit: 's (at least: not verified when the limit came)' };
    // A peer's time for the whole tree bounds any one file's latency under that tool.
    const peer = wholeTree && {
      name: `${wholeTree.name}, whole tree`,
      value: wholeTree.ms / 1000,
      unit: 's',
    };
    report.figure(`${name}.bulk.p${p * 100}`, q, peer);
  }
  const detectedLag = keys
    .map((k) => (t.detected.get(k) ?? Infinity) - dropped)
    .sort((a, b) => a - b);
  report.note(
    `${name}: ${verified.length}/${keys.length} verified in ${(elapsed / 1000).toFixed(1)} s` +
      (complete ? '' : ` (stopped at the ${small.limitMs / 1000} s limit)`) +
      `, ${t.failed} failed; ${t.detected.size - lone.files} detected, detection p50 ` +
      `${percentile(detectedLag, 0.5).toFixed(0)} ms, p99 ` +
      `${percentile(detectedLag, 0.99).toFixed(0)} ms after the drop; stable = the moment the ` +
      'file was renamed into place complete (settle 0); verified = watch:file-finished ok',
  );
  return { verified: verified.length, ms: elapsed, complete };
}
