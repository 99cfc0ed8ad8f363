/**
 * Part (b) of the transfers benchmark: `small.files` × 50 KiB files (an image sequence, a
 * document drop). On each store: a one-off folder transfer through the API, then the same tree
 * dropped into a watch profile; each beside `rclone copy`, `rsync -a --fsync` and `cp -r` +
 * `sync` of a tree like it, timed in the same run. Everything reads a warm page cache (the tree
 * was just written), Ferry and the peers alike.
 *
 * Nothing is deleted until every run ended: ext4 passes over inodes freed in the last minute
 * when it allocates new ones (without a journal, as on this machine's disk, it checks each), so a
 * run right after 10,000 deletions pays for them — whichever tool came next, not the tool itself.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { StoreKind } from '../src/db/index.ts';
import { adminUrlShown, postgresProblem } from '../test/helpers/stores.ts';
import type { Report } from './run.ts';
import {
  finalStatus,
  missing,
  run,
  small,
  startNode,
  writeTree,
  type Node,
} from './transfer-node.ts';
import { watchProfile } from './transfers-watch.ts';

/** A peer's time for the whole tree. */
interface PeerTime {
  name: string;
  ms: number;
}

/** The peers: each copies `tree` into the fresh folder `to` (created by the tool). */
const peers: { name: string; tools: string[]; copy(tree: string, to: string): Promise<void> }[] = [
  {
    name: 'rclone copy',
    tools: ['rclone'],
    async copy(tree, to) {
      await run('rclone', ['copy', '--config', '', tree, to]);
    },
  },
  {
    // --fsync: every file fsynced (rsync 3.2.4+), the nearest a stock tool comes to Ferry's.
    name: 'rsync -a --fsync',
    tools: ['rsync'],
    async copy(tree, to) {
      await run('rsync', ['-a', '--fsync', `${tree}/`, `${to}/`]);
    },
  },
  {
    name: 'cp -r + sync',
    tools: ['cp', 'sync'],
    async copy(tree, to) {
      await run('cp', ['-r', tree, to]);
      await run('sync', []);
    },
  },
];

/** Each peer once over `tree` into its own folder (kept until the end), the disk flushed first. */
async function timePeers(report: Report, root: string, tree: string): Promise<PeerTime[]> {
  const times: PeerTime[] = [];
  for (const peer of peers) {
    const absent = missing(peer.tools);
    if (absent.size > 0) {
      report.note(
        `transfers.smallfiles: ${[...absent].join(', ')} not found; ${peer.name} skipped`,
      );
      continue;
    }
    const to = path.join(root, `peer-copy-${String(times.length)}`);
    spawnSync('sync');
    const { ms } = await report.measure(() => peer.copy(tree, to));
    times.push({ name: peer.name, ms });
  }
  spawnSync('sync');
  report.note(
    `transfers.smallfiles: peers over the same ${small.files}-file tree, seconds: ` +
      times.map((p) => `${p.name} ${(p.ms / 1000).toFixed(2)}`).join('; ') +
      ' (rclone: no fsync; rsync --fsync: each file fsynced, folders not; cp -r + sync: one ' +
      'sync of every dirty page on the machine at the end)',
  );
  return times;
}

/** `figure` in files/s, once per peer (ratio ferry/peer: above 1 means Ferry is faster). */
function againstPeers(
  report: Report,
  figure: string,
  files: number,
  ms: number,
  times: readonly PeerTime[],
): void {
  const ours = { value: files / (ms / 1000), unit: 'files/s' };
  if (times.length === 0) report.figure(figure, ours);
  for (const p of times) {
    report.figure(figure, ours, {
      name: p.name,
      value: small.files / (p.ms / 1000),
      unit: 'files/s',
    });
  }
}

/** A one-off folder transfer of `tree` through the API into a fresh folder; its wall time. */
async function oneOff(node: Node, tree: string, to: string): Promise<number> {
  mkdirSync(to);
  const status = finalStatus(node.ferry);
  try {
    const started = performance.now();
    const id = await node.post({ source_path: tree, destination_path: to });
    const final = await status.wait(id);
    const ms = performance.now() - started;
    if (final !== 'completed') throw new Error(`one-off transfer ${id} ended ${final}`);
    return ms;
  } finally {
    status.off();
  }
}

/**
 * Both halves on one store; the peers are timed on the first store's tree and reused. The
 * store's volume stays (the caller removes it once every run ended).
 */
async function onStore(
  report: Report,
  kind: StoreKind,
  volume: string,
  timed: { peers?: PeerTime[] },
): Promise<void> {
  const root = path.dirname(volume);
  const tree = path.join(volume, 'stage', 'bulk');
  const names = writeTree(tree, small.files);
  spawnSync('sync');
  timed.peers ??= await timePeers(report, root, tree);
  const node = await startNode(kind, volume);
  try {
    const oneOffDir = path.join(volume, 'oneoff');
    const ms = await oneOff(node, tree, oneOffDir);
    const copied = readdirSync(oneOffDir).length;
    if (copied !== small.files) throw new Error(`one-off copied ${copied}/${small.files} files`);
    againstPeers(report, `transfers.smallfiles.oneoff.${kind}`, small.files, ms, timed.peers);
    report.note(
      `transfers.smallfiles.oneoff.${kind}: ${small.files} files verified in ` +
        `${(ms / 1000).toFixed(2)} s (POST to status completed, default transfers.concurrency)`,
    );
    spawnSync('sync');
    const rclone = timed.peers.find((p) => p.name === 'rclone copy');
    const name = `transfers.watch.${kind}`;
    const bulk = await watchProfile(report, node, name, volume, tree, names, rclone);
    const figure = `transfers.smallfiles.watch.${kind}`;
    againstPeers(report, figure, bulk.verified, bulk.ms, timed.peers);
    report.figure(
      figure,
      { value: bulk.verified / (bulk.ms / 1000), unit: 'files/s' },
      { name: `one-off on ${kind}`, value: small.files / (ms / 1000), unit: 'files/s' },
    );
  } finally {
    await node.stop();
  }
}

/** Part (b) on PGlite, then on PostgreSQL when one is reachable. */
export async function smallFiles(report: Report, root: string): Promise<void> {
  const timed: { peers?: PeerTime[] } = {};
  const scratch = mkdtempSync(path.join(root, 'small-'));
  try {
    await onStore(report, 'pglite', mkdtempSync(path.join(scratch, 'pglite-')), timed);
    const problem = await postgresProblem();
    if (problem !== undefined) {
      report.note(
        `transfers.smallfiles.*.postgres: skipped, PostgreSQL at ${adminUrlShown} unreachable ` +
          `(${problem}); set FERRY_TEST_DATABASE_URL`,
      );
      return;
    }
    await onStore(report, 'postgres', mkdtempSync(path.join(scratch, 'postgres-')), timed);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
