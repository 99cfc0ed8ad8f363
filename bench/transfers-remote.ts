/**
 * The transfers benchmark's remote half:
 *
 * (c) A capped one-off transfer (`max_bytes_per_second`) local→local: its rate over 10 s from
 *     its own progress events, beside the cap it was given.
 * (d) One file uploaded to a real OpenSSH server (SFTP) and a real Samba share (SMB) on
 *     loopback, each an endpoint of a Ferry node: a verified copy (the destination re-read over
 *     the protocol) beside `rclone copy` to the same server, configured on the fly (connection
 *     strings, no config file).
 */
import { spawnSync } from 'node:child_process';
import { chownSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { sambaProblem, startSamba, type SambaServer } from '../test/helpers/samba.ts';
import {
  sftpEndpointConfig,
  sshdProblem,
  startSshd,
  type SshServer,
} from '../test/helpers/sshd.ts';
import type { Report } from './run.ts';
import {
  finalStatus,
  mbPerSecond,
  MiB,
  missing,
  run,
  startNode,
  type Node,
} from './transfer-node.ts';

/** (c): the cap, how long the rate is measured, and the warm-up left out (the pacer's burst). */
export const capped = { bytesPerSecond: 25e6, windowMs: 10_000, warmupMs: 1000 };
/** (d): the uploaded file's size. */
export const remote = { bytes: 256 * MiB };

/** Random bytes, written with `head` so the bench holds no big buffer. */
function writeRandomFile(file: string, bytes: number): void {
  const made = spawnSync('sh', ['-c', `head -c ${bytes} /dev/urandom > '${file}'`]);
  if (made.status !== 0) throw new Error(`could not write ${file}: ${made.stderr.toString()}`);
}

/** Runs one transfer on `node` to its end; throws unless it completed. */
async function transfer(node: Node, body: object): Promise<void> {
  const status = finalStatus(node.ferry);
  try {
    const id = await node.post(body);
    const final = await status.wait(id);
    if (final !== 'completed') throw new Error(`transfer ${id} ended ${final}`);
  } finally {
    status.off();
  }
}

/** (c): the bytes a capped transfer moved between 1 s and 11 s after its first progress. */
export async function cappedRate(report: Report, root: string): Promise<void> {
  const { bytesPerSecond, windowMs, warmupMs } = capped;
  const seconds = (windowMs + warmupMs + 2000) / 1000;
  const bytes = Math.ceil((bytesPerSecond * seconds) / MiB) * MiB;
  const from = path.join(root, 'capped.bin');
  writeRandomFile(from, bytes);
  const dir = path.join(root, 'capped-dst');
  mkdirSync(dir);
  const node = await startNode('pglite', root);
  const samples: { at: number; bytes: number }[] = [];
  const off = node.ferry.bus.on('transfer:progress', (e) => {
    samples.push({ at: performance.now(), bytes: e.bytes });
  });
  try {
    await transfer(node, {
      source_path: from,
      destination_path: dir,
      max_bytes_per_second: bytesPerSecond,
    });
  } finally {
    off();
    await node.stop();
    rmSync(dir, { recursive: true, force: true });
    rmSync(from, { force: true });
  }
  const start = samples[0]?.at ?? 0;
  const first = samples.find((s) => s.at >= start + warmupMs);
  const last = samples.findLast((s) => s.at <= start + warmupMs + windowMs);
  if (!first || !last || last.at <= first.at) {
    report.note('transfers.capped: too few progress events to measure a rate');
    return;
  }
  const rate = (last.bytes - first.bytes) / ((last.at - first.at) / 1000);
  report.figure(
    'transfers.capped.rate',
    { value: rate / 1e6, unit: 'MB/s' },
    { name: 'its cap', value: bytesPerSecond / 1e6, unit: 'MB/s' },
  );
  report.note(
    `transfers.capped: ${bytes / MiB} MiB local→local with max_bytes_per_second ` +
      `${bytesPerSecond}; rate = bytes between the progress events ${((first.at - start) / 1000).toFixed(1)} s ` +
      `and ${((last.at - start) / 1000).toFixed(1)} s after the first (leaving out the pacer's ` +
      '100 ms burst at the start)',
  );
}

/** The servers and their rclone connection strings (no config file). */
interface Servers {
  sshd?: SshServer;
  samba?: SambaServer;
  /** Upload folder per endpoint on this machine, and as rclone names it. */
  targets: { name: 'partner' | 'share'; dir: string; rclone: string }[];
}

async function startServers(report: Report): Promise<Servers> {
  const servers: Servers = { targets: [] };
  const sshSkip = sshdProblem();
  if (sshSkip) report.note(`transfers.sftp: skipped, ${sshSkip}`);
  else {
    const sshd = await startSshd();
    servers.sshd = sshd;
    const connection =
      `:sftp,host=127.0.0.1,port=${sshd.port},user=${sshd.user},` +
      `key_file=${sshd.keyFile},known_hosts_file=${sshd.knownHostsFile}`;
    servers.targets.push({ name: 'partner', dir: sshd.root, rclone: `${connection}:${sshd.root}` });
  }
  const smbSkip = sambaProblem();
  if (smbSkip) report.note(`transfers.smb: skipped, ${smbSkip}`);
  else {
    const samba = await startSamba();
    servers.samba = samba;
    const dir = path.join(samba.shareDir, 'ep');
    mkdirSync(dir);
    chownSync(dir, samba.uid, samba.gid);
    const pass = (await run('rclone', ['obscure', samba.password])).trim();
    const connection = `:smb,host=127.0.0.1,port=${samba.port},user=ferrysmb,pass=${pass}`;
    servers.targets.push({ name: 'share', dir, rclone: `${connection}:share/ep` });
  }
  return servers;
}

/** (d): a verified upload to each server by Ferry, then by rclone, into fresh folders. */
export async function remoteCopies(report: Report, root: string): Promise<void> {
  if (missing(['rclone']).size > 0) report.note('transfers.remote: rclone not found, no peer');
  const servers = await startServers(report);
  const from = path.join(root, 'remote.bin');
  const config = path.join(root, 'endpoints.json');
  let node: Node | undefined;
  try {
    if (servers.targets.length === 0) return;
    writeRandomFile(from, remote.bytes);
    const endpoints = [];
    if (servers.sshd) endpoints.push(sftpEndpointConfig('partner', servers.sshd));
    if (servers.samba) {
      const { url, password } = servers.samba;
      endpoints.push({ name: 'share', url: `${url}/ep`, password });
    }
    writeFileSync(config, JSON.stringify({ endpoints }));
    node = await startNode('pglite', root, { FERRY_CONFIG: config });
    for (const target of servers.targets) {
      const ours = await report.measure(() =>
        transfer(node as Node, {
          source_path: from,
          destination_endpoint: target.name,
          destination_path: '/ferry',
        }),
      );
      const figure = target.name === 'partner' ? 'transfers.sftp' : 'transfers.smb';
      const rate = mbPerSecond(remote.bytes, ours.ms);
      if (missing(['rclone']).size > 0) {
        report.figure(`${figure}.upload`, rate);
      } else {
        const to = `${target.rclone}/rclone`;
        const copy = await report.measure(() => run('rclone', ['copy', from, to]));
        // The same re-read Ferry does: download what arrived and compare it with the source.
        const check = await report.measure(() => run('rclone', ['check', '--download', from, to]));
        report.figure(`${figure}.upload`, rate, {
          name: 'rclone copy',
          ...mbPerSecond(remote.bytes, copy.ms),
        });
        report.figure(`${figure}.upload`, rate, {
          name: 'rclone copy + check --download',
          ...mbPerSecond(remote.bytes, copy.ms + check.ms),
        });
      }
      for (const sub of ['ferry', 'rclone']) {
        rmSync(path.join(target.dir, sub), { recursive: true, force: true });
      }
    }
    report.note(
      `transfers.sftp/smb: one ${remote.bytes / MiB} MiB file from the local disk to a loopback ` +
        'server, one run each; ferry: hash while sending to a temp name, fsync (SFTP: ' +
        'fsync@openssh.com; SMB: none through smbclient), re-read the temp over the protocol ' +
        'and hash it, rename; rclone copy (v1.60): sends once, no re-read over the protocol, ' +
        'compares a hash only where the backend has one (SFTP: md5sum run over SSH where the ' +
        'server allows commands; SMB: size only); check --download then re-reads it all',
    );
  } finally {
    await node?.stop();
    rmSync(from, { force: true });
    await Promise.all([servers.sshd?.stop(), servers.samba?.stop()]);
  }
}
