/**
 * Verified transfers beside the tools people use for the same job, all measured in this run.
 *
 * (a) One large file local→local on the temp disk (2 GiB; FERRY_BENCH_FILE_MIB shrinks it):
 *     Ferry's verified copy (copyFile, xxh128 and sha256) and a one-off transfer through the
 *     whole server (HTTP inject → job → copy), beside `cp` + `sync` + `xxhsum -H2` (the same
 *     durability), `cp` + hashing the destination (`xxhsum -H2` / `sha256sum`), `rsync -c` and
 *     `rclone copy` into fresh destinations. The page cache is dropped before every run (as root).
 * (b) In transfers-small.ts: 10,000 × 50 KiB files (FERRY_BENCH_SMALLFILES_COUNT shrinks it) as a
 *     one-off folder transfer and dropped into a watch profile, on each store, beside
 *     `rclone copy`, `rsync -a --fsync` and `cp -r` + `sync`; the watch's latencies in
 *     transfers-watch.ts.
 * (c), (d) in transfers-remote.ts: a capped transfer's rate beside its cap; uploads to SFTP and
 *     SMB on loopback beside `rclone copy` to the same servers.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  rmSync,
  statfsSync,
  writeSync,
} from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { makeLocalStorage } from '../src/storage/index.ts';
import { copyFile } from '../src/transfers/index.ts';
import type { Benchmark, Report } from './run.ts';
import {
  big,
  dropCaches,
  finalStatus,
  mbPerSecond,
  MiB,
  missing,
  run,
  small,
  startNode,
  type Node,
} from './transfer-node.ts';
import { cappedRate, capped, remote, remoteCopies } from './transfers-remote.ts';
import { smallFiles } from './transfers-small.ts';

const local = makeLocalStorage();

/** Random bytes in 64 MiB blocks, each stamped with its index so no two blocks are equal. */
function writeBigFile(file: string, bytes: number): void {
  const block = randomBytes(big.blockBytes);
  const fd = openSync(file, 'w');
  try {
    for (let offset = 0; offset < bytes; offset += block.length) {
      block.writeUInt32LE(offset / block.length, 0);
      let done = 0;
      const length = Math.min(block.length, bytes - offset);
      while (done < length) done += writeSync(fd, block, done, length - done);
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** One way to copy the big file into a fresh folder; resolves with the digest it computed. */
interface Candidate {
  name: string;
  copy(from: string, dir: string): Promise<string | undefined>;
}

function ferryCopy(algorithm: 'xxh128' | 'sha256'): Candidate {
  return {
    name: `ferry copyFile ${algorithm}`,
    async copy(from, dir) {
      const to = path.join(dir, path.basename(from));
      const result = await copyFile({
        ...{ source: local, destination: local, from, to, algorithm },
        ...{ conflict: 'fail', tempTag: 'bench' },
      });
      return result.destinationChecksum;
    },
  };
}

/**
 * `cp`, then hashing the copy; `durable`: `sync FILE DIR` in between (fsync of the file and its
 * folder, the durability Ferry gives), so the hash reads what the disk was told to keep.
 */
function cpThenHash(tool: string, args: string[], durable = false): Candidate {
  return {
    name: `cp${durable ? ' + sync' : ''} + ${[tool, ...args].join(' ')}`,
    async copy(from, dir) {
      mkdirSync(dir);
      const to = path.join(dir, path.basename(from));
      await run('cp', [from, to]);
      if (durable) await run('sync', [to, dir]);
      return (await run(tool, [...args, to])).split(/\s/)[0];
    },
  };
}

function tool(name: string, command: string, args: string[]): Candidate {
  return {
    name,
    async copy(from, dir) {
      await run(command, [...args, from, `${dir}/`]);
      return undefined;
    },
  };
}

function serverCopy(node: Node): Candidate {
  return {
    name: 'ferry server one-off (xxh128)',
    async copy(from, dir) {
      mkdirSync(dir);
      const status = finalStatus(node.ferry);
      try {
        const id = await node.post({ source_path: from, destination_path: dir });
        const final = await status.wait(id);
        if (final !== 'completed') throw new Error(`transfer ${id} ended ${final}`);
      } finally {
        status.off();
      }
      return undefined;
    },
  };
}

/** Each candidate `big.rounds` times into fresh folders, order rotated per round, cache dropped. */
async function timeCandidates(
  report: Report,
  from: string,
  root: string,
  candidates: readonly Candidate[],
): Promise<Map<string, { ms: number[]; digests: Set<string> }>> {
  const times = new Map(
    candidates.map((c) => [c.name, { ms: [] as number[], digests: new Set<string>() }]),
  );
  for (let round = 0; round < big.rounds; round++) {
    const order = candidates.map((_, i) => candidates[(i + round) % candidates.length]);
    for (const candidate of order) {
      if (!candidate) continue;
      const dir = path.join(root, `dst-${round}`);
      const entry = times.get(candidate.name);
      dropCaches();
      try {
        const { value, ms } = await report.measure(() => candidate.copy(from, dir));
        entry?.ms.push(ms);
        if (value !== undefined) entry?.digests.add(value);
      } finally {
        rmSync(dir, { recursive: true, force: true });
        spawnSync('sync');
      }
    }
  }
  return times;
}

function bigFileBytes(report: Report, root: string): number {
  const s = statfsSync(root);
  const free = s.bavail * s.bsize;
  // Source + one destination + 1 GiB for the small-file part and headroom.
  const fits = Math.floor((free - 1024 * MiB) / 2 / big.blockBytes) * big.blockBytes;
  if (fits >= big.bytes) return big.bytes;
  report.note(
    `transfers.file: only ${(free / 2 ** 30).toFixed(1)} GiB free in ${root}; the file is ` +
      `scaled down from ${big.bytes / MiB} MiB to ${Math.max(0, fits) / MiB} MiB`,
  );
  return Math.max(0, fits);
}

async function bigFile(report: Report, root: string): Promise<void> {
  const bytes = bigFileBytes(report, root);
  if (bytes < MiB) {
    report.note('transfers.file: skipped, not enough free disk');
    return;
  }
  const from = path.join(root, 'big.bin');
  writeBigFile(from, bytes);
  const absent = missing(['cp', 'sync', 'xxhsum', 'sha256sum', 'rsync', 'rclone']);
  for (const t of absent) report.note(`transfers.file: ${t} not found; its peer is skipped`);
  const cacheProblem = dropCaches();
  report.note(
    cacheProblem === undefined
      ? `transfers.file: ${bytes / MiB} MiB of random 64 MiB blocks; page cache dropped (sync; ` +
          'echo 3 > /proc/sys/vm/drop_caches) before every run of every tool: the source is read ' +
          'cold; each verifying re-read finds the just-written file in the page cache'
      : `transfers.file: page cache NOT dropped (${cacheProblem}); the source is warm for all`,
  );
  const node = await startNode('pglite', root);
  try {
    const candidates: Candidate[] = [ferryCopy('xxh128'), serverCopy(node), ferryCopy('sha256')];
    if (!absent.has('cp') && !absent.has('xxhsum')) {
      candidates.push(cpThenHash('xxhsum', ['-H2'], true), cpThenHash('xxhsum', ['-H2']));
    }
    if (!absent.has('cp') && !absent.has('sha256sum')) candidates.push(cpThenHash('sha256sum', []));
    if (!absent.has('rsync')) candidates.push(tool('rsync -c', 'rsync', ['-c']));
    if (!absent.has('rclone'))
      candidates.push(tool('rclone copy', 'rclone', ['copy', '--config', '']));
    const times = await timeCandidates(report, from, root, candidates);
    printBigFile(report, bytes, times);
  } finally {
    await node.stop();
  }
}

function printBigFile(
  report: Report,
  bytes: number,
  times: Map<string, { ms: number[]; digests: Set<string> }>,
): void {
  const rate = (name: string) => {
    const t = times.get(name);
    return t && t.ms.length > 0 ? mbPerSecond(bytes, Math.min(...t.ms)) : undefined;
  };
  const pairs: [string, string, string][] = [
    ['transfers.file.xxh128', 'ferry copyFile xxh128', 'cp + sync + xxhsum -H2'],
    ['transfers.file.xxh128', 'ferry copyFile xxh128', 'cp + xxhsum -H2'],
    ['transfers.file.xxh128', 'ferry copyFile xxh128', 'rsync -c'],
    ['transfers.file.xxh128', 'ferry copyFile xxh128', 'rclone copy'],
    ['transfers.file.server', 'ferry server one-off (xxh128)', 'cp + sync + xxhsum -H2'],
    ['transfers.file.server', 'ferry server one-off (xxh128)', 'rsync -c'],
    ['transfers.file.sha256', 'ferry copyFile sha256', 'cp + sha256sum'],
  ];
  for (const [figure, ours, peer] of pairs) {
    const o = rate(ours);
    const p = rate(peer);
    if (o) report.figure(figure, o, p && { name: peer, ...p });
  }
  const rounds = [...times].map(
    ([n, t]) => `${n} ${t.ms.map((ms) => (ms / 1000).toFixed(2)).join('/')}`,
  );
  report.note(
    `transfers.file: seconds per round (the fastest of ${big.rounds} is the figure): ${rounds.join('; ')}`,
  );
  for (const algorithm of ['xxh128', 'sha256'] as const) {
    const peer = algorithm === 'xxh128' ? 'cp + xxhsum -H2' : 'cp + sha256sum';
    const digests = new Set([
      ...(times.get(`ferry copyFile ${algorithm}`)?.digests ?? []),
      ...(times.get(peer)?.digests ?? []),
      ...(algorithm === 'xxh128' ? (times.get('cp + sync + xxhsum -H2')?.digests ?? []) : []),
    ]);
    report.note(
      `transfers.file: ${algorithm} digests of ferry and ${peer} ${digests.size === 1 ? 'agree' : `DIFFER: ${[...digests].join(', ')}`}`,
    );
  }
  report.note(
    'transfers.file: what each does — ferry: one read feeds hash and write to a temp name, fsync, ' +
      're-read and hash the temp, rename, fsync the folder; cp + sync + xxhsum: copy, fsync the ' +
      'file and its folder (`sync FILE DIR`), hash the destination (the same durability as ' +
      'ferry); cp + hash: copy (no fsync), then hash the destination only; rsync -c: reads the source once to checksum it, again to send it, ' +
      'receiver checks an xxh128 of the bytes it wrote, temp + rename, no fsync; rclone copy ' +
      '(v1.60, local→local): one stream, writes the final name directly, no fsync, compares md5 ' +
      'of the bytes read with md5 of the bytes written (no re-read; --ignore-checksum skips it)',
  );
}

/** `npm run bench transfers`. */
export const transfersBenchmark: Benchmark = {
  name: 'transfers',
  description:
    `verified copy of one ${big.bytes / MiB} MiB file vs cp + sync + xxhsum, cp + hash, ` +
    `rsync -c, rclone copy; ${small.files} × ${small.bytes / 1024} KiB files as a one-off ` +
    'transfer and into a watch profile on each store vs rclone copy, rsync -a --fsync, ' +
    'cp -r + sync; ' +
    `a transfer capped at ${capped.bytesPerSecond / 1e6} MB/s vs its cap; ` +
    `${remote.bytes / MiB} MiB uploaded to SFTP and SMB vs rclone copy`,
  async run(report) {
    const root = mkdtempSync(path.join(tmpdir(), 'ferry-bench-transfers-'));
    const load = () => `load average ${loadavg()[0]?.toFixed(1)} on ${availableParallelism()} CPUs`;
    report.note(`transfers: ${load()} at the start (other work on this machine slows every tool)`);
    try {
      await bigFile(report, root);
      rmSync(path.join(root, 'big.bin'), { force: true });
      await smallFiles(report, root);
      await cappedRate(report, root);
      await remoteCopies(report, root);
      report.note(`transfers: ${load()} at the end`);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  },
};
