/**
 * A private OpenSSH server for tests: its own host key, an authorized client key, a known_hosts
 * file and a config in a temp folder, SFTP served by `internal-sftp`, listening on a free
 * loopback port. Nothing of the system's sshd is used or changed. The temp folder (and the
 * served folder in it) is removed on stop() unless FERRY_TEST_KEEP=1.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { freePort } from './samba.ts';

/** How a started server is reached and inspected. */
export interface SshServer {
  /** `sftp://<user>@127.0.0.1:<port><served folder>` */
  url: string;
  port: number;
  user: string;
  /** The folder the URL points at, for fixtures written behind the server's back. */
  root: string;
  /** Path of the client's private key (OpenSSH format, no passphrase). */
  keyFile: string;
  /** A private key the server does not authorize. */
  unauthorizedKeyFile: string;
  /** A known_hosts file that lists this server's host key. */
  knownHostsFile: string;
  /** A known_hosts file that lists a different key for the same host (a spoofed server). */
  wrongKnownHostsFile: string;
  /** sshd's own output so far, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

const SSHD = '/usr/sbin/sshd';

/** The `endpoints:` entry of a Ferry config that reaches `server` with its client key. */
export function sftpEndpointConfig(name: string, server: SshServer) {
  return {
    name,
    url: server.url,
    private_key: `file:${server.keyFile}`,
    known_hosts: server.knownHostsFile,
  };
}

/** Why SSH tests cannot run here, or undefined when they can. */
export function sshdProblem(): string | undefined {
  const sshd = spawnSync('sh', ['-c', `test -x ${SSHD} && command -v ssh-keygen`]);
  if (sshd.status !== 0)
    return 'sshd or ssh-keygen missing (Debian: apt-get install openssh-server)';
  return undefined;
}

function keygen(file: string): string {
  const made = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', file], {
    encoding: 'utf8',
  });
  if (made.status !== 0) throw new Error(`ssh-keygen failed: ${made.stderr}`);
  return readFileSync(`${file}.pub`, 'utf8').trim();
}

/** Resolves once sshd answers with its banner. */
async function waitForBanner(port: number, output: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const banner = await new Promise<string>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('data', (data) => {
        socket.destroy();
        resolve(data.toString());
      });
      socket.once('error', () => {
        resolve('');
      });
    });
    if (banner.startsWith('SSH-')) return;
    if (Date.now() > deadline) throw new Error(`sshd did not start within 20 s:\n${output()}`);
    // Not a timing assumption: the next connection attempt is the event we wait for.
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Starts a private sshd on a free loopback port, serving SFTP for the current user. */
export async function startSshd(): Promise<SshServer> {
  const dir = mkdtempSync(path.join(tmpdir(), 'ferry-sshd-'));
  chmodSync(dir, 0o755);
  const d = (name: string) => path.join(dir, name);
  const hostPub = keygen(d('host_key'));
  const clientPub = keygen(d('client_key'));
  const otherPub = keygen(d('other_host_key'));
  writeFileSync(d('authorized_keys'), `${clientPub}\n`, { mode: 0o600 });
  const root = d('root');
  mkdirSync(root);
  const port = await freePort();
  const entry = (pub: string) => `[127.0.0.1]:${port} ${pub.split(' ').slice(0, 2).join(' ')}\n`;
  writeFileSync(d('known_hosts'), entry(hostPub));
  writeFileSync(d('wrong_known_hosts'), entry(otherPub));
  writeFileSync(
    d('sshd_config'),
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${d('host_key')}`,
      `PidFile ${d('sshd.pid')}`,
      `AuthorizedKeysFile ${d('authorized_keys')}`,
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      'UsePAM no',
      // The temp folder is not owned the way StrictModes wants a home to be.
      'StrictModes no',
      'Subsystem sftp internal-sftp',
      'LogLevel ERROR',
      '',
    ].join('\n'),
  );
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const sshd = spawn(SSHD, ['-D', '-e', '-f', d('sshd_config')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  sshd.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  sshd.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) =>
    sshd.once('exit', () => {
      resolve();
    }),
  );
  const stop = async () => {
    if (sshd.exitCode === null && sshd.signalCode === null) sshd.kill('SIGTERM');
    await exited;
    if (process.env.FERRY_TEST_KEEP !== '1') rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForBanner(port, () => output);
  } catch (error) {
    await stop();
    throw error;
  }
  const user = userInfo().username;
  return {
    url: `sftp://${user}@127.0.0.1:${port}${root}`,
    port,
    user,
    root,
    keyFile: d('client_key'),
    unauthorizedKeyFile: d('other_host_key'),
    knownHostsFile: d('known_hosts'),
    wrongKnownHostsFile: d('wrong_known_hosts'),
    output: () => output,
    stop,
  };
}
