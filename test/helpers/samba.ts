/**
 * A private Samba server for tests: its own config, state, lock, cache and passdb in a temp
 * folder, one share, listening on a free loopback port. Nothing of the system's Samba is used
 * or changed; the only trace left on the machine is one system user (`ferrysmb`, no home, no
 * shell) that Samba maps the SMB login to, created on first use and reused afterwards.
 * The temp folder is removed on stop() unless FERRY_TEST_KEEP=1.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** The Unix and SMB user the test share belongs to. */
export const sambaUser = 'ferrysmb';

/** How a started server is reached and inspected. */
export interface SambaServer {
  /** `smb://ferrysmb@127.0.0.1:<port>/share` */
  url: string;
  password: string;
  port: number;
  /** The share's folder on this machine, for fixtures written behind Samba's back. */
  shareDir: string;
  /** Owner for fixture files, so the SMB user may rename and delete them. */
  uid: number;
  gid: number;
  /** smbd's own output so far, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

const SBIN_PATH = `${process.env.PATH ?? ''}:/usr/sbin:/sbin:/usr/bin:/bin`;

function run(command: string, args: string[], input?: string) {
  return spawnSync(command, args, {
    input,
    encoding: 'utf8',
    env: { ...process.env, PATH: SBIN_PATH },
  });
}

function has(tool: string): boolean {
  return run('sh', ['-c', `command -v ${tool}`]).status === 0;
}

/** Why Samba tests cannot run here, or undefined when they can. */
export function sambaProblem(): string | undefined {
  const missing = ['smbd', 'pdbedit', 'smbclient'].filter((tool) => !has(tool));
  if (missing.length > 0) {
    return `${missing.join(', ')} not installed (Debian: apt-get install samba smbclient)`;
  }
  if (process.getuid?.() !== 0) return 'smbd must run as root to serve files as the test user';
  return undefined;
}

/** The test user's uid and gid, creating the user the first time. */
function ensureUser(): { uid: number; gid: number } {
  if (run('id', ['-u', sambaUser]).status !== 0) {
    const added = run('useradd', [
      '--system',
      '--no-create-home',
      '--shell',
      '/usr/sbin/nologin',
      sambaUser,
    ]);
    // Exit 9: another test process created it first, which is just as good.
    if (added.status !== 0 && added.status !== 9) {
      throw new Error(`useradd ${sambaUser} failed: ${added.stderr}`);
    }
  }
  return {
    uid: Number(run('id', ['-u', sambaUser]).stdout.trim()),
    gid: Number(run('id', ['-g', sambaUser]).stdout.trim()),
  };
}

/** A TCP port free on loopback right now. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) =>
    server.close(() => {
      resolve();
    }),
  );
  return port;
}

/** How the test server is configured. */
export interface SambaOptions {
  /** `mandatory` makes the server refuse unsigned sessions. */
  signing?: 'default' | 'mandatory';
  /** Require SMB3 encryption on every session. */
  encrypt?: boolean;
  password?: string;
}

function config(dir: string, port: number, options: SambaOptions): string {
  const d = (name: string) => path.join(dir, name);
  return `[global]
  server role = standalone server
  workgroup = WORKGROUP
  netbios name = FERRYTEST
  smb ports = ${port}
  bind interfaces only = yes
  interfaces = lo
  disable netbios = yes
  private dir = ${d('private')}
  lock directory = ${d('lock')}
  state directory = ${d('state')}
  cache directory = ${d('cache')}
  pid directory = ${d('pid')}
  ncalrpc dir = ${d('ncalrpc')}
  passdb backend = tdbsam:${d('private/passdb.tdb')}
  log file = ${d('log/smbd.log')}
  log level = 2
  load printers = no
  printing = bsd
  printcap name = /dev/null
  disable spoolss = yes
  map to guest = never
  server signing = ${options.signing ?? 'default'}
  server smb encrypt = ${options.encrypt === true ? 'required' : 'default'}
[share]
  path = ${d('share')}
  read only = no
`;
}

/** Resolves once smbd says it listens (its level-2 "waiting for connections" line). */
function waitForReady(smbd: ChildProcess, output: () => string): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      done(new Error(`smbd did not start within 20 s:\n${output()}`));
    }, 20_000);
    const check = () => {
      if (output().includes('waiting for connections')) done();
    };
    const exited = (code: number | null) => {
      done(new Error(`smbd exited (${String(code)}):\n${output()}`));
    };
    function done(error?: Error) {
      clearTimeout(timer);
      smbd.stdout?.off('data', check);
      smbd.stderr?.off('data', check);
      smbd.off('exit', exited);
      if (error) reject(error);
      else resolve();
    }
    smbd.stdout?.on('data', check);
    smbd.stderr?.on('data', check);
    smbd.once('exit', exited);
    check();
  });
}

/** Starts a private smbd on a free loopback port. */
export async function startSamba(options: SambaOptions = {}): Promise<SambaServer> {
  const password = options.password ?? 'ferry-test-Pw1';
  const { uid, gid } = ensureUser();
  const dir = mkdtempSync(path.join(tmpdir(), 'ferry-samba-'));
  // mkdtemp makes 0700; the share user must be able to reach the share inside it.
  chmodSync(dir, 0o755);
  for (const sub of ['private', 'lock', 'state', 'cache', 'pid', 'ncalrpc', 'log', 'share']) {
    mkdirSync(path.join(dir, sub), { mode: sub === 'private' ? 0o700 : 0o755 });
  }
  const shareDir = path.join(dir, 'share');
  chownSync(shareDir, uid, gid);
  const port = await freePort();
  const conf = path.join(dir, 'smb.conf');
  writeFileSync(conf, config(dir, port, options));
  const added = run(
    'pdbedit',
    ['-s', conf, '-a', '-u', sambaUser, '-t'],
    `${password}\n${password}\n`,
  );
  if (added.status !== 0) throw new Error(`pdbedit failed: ${added.stderr}${added.stdout}`);

  const smbd = spawn('smbd', ['--foreground', '--no-process-group', '--debug-stdout', '-s', conf], {
    env: { ...process.env, PATH: SBIN_PATH },
    stdio: ['ignore', 'pipe', 'pipe'],
    // smbd signals its whole process group when it stops; in ours that would be the test runner.
    detached: true,
  });
  let output = '';
  smbd.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  smbd.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) =>
    smbd.once('exit', () => {
      resolve();
    }),
  );
  const stop = async () => {
    if (smbd.exitCode === null && smbd.signalCode === null) smbd.kill('SIGTERM');
    await exited;
    if (process.env.FERRY_TEST_KEEP !== '1') rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForReady(smbd, () => output);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    url: `smb://${sambaUser}@127.0.0.1:${port}/share`,
    password,
    port,
    shareDir,
    uid,
    gid,
    output: () => output,
    stop,
  };
}

/**
 * The SecurityMode an SMB2 server answers a NEGOTIATE with (bit 0x01: signing enabled, 0x02:
 * signing required). Asked with a hand-built request, so it checks the server's configuration
 * independently of the client under test (smbclient signs whenever asked, so it cannot tell).
 */
export async function negotiateSecurityMode(port: number): Promise<number> {
  const dialects = [0x0202, 0x0210, 0x0300, 0x0302];
  const header = Buffer.alloc(64);
  header.write('\xfeSMB', 0, 'latin1');
  header.writeUInt16LE(64, 4); // StructureSize
  header.writeUInt16LE(1, 14); // CreditRequest; Command 0 is NEGOTIATE
  const body = Buffer.alloc(36 + dialects.length * 2);
  body.writeUInt16LE(36, 0); // StructureSize
  body.writeUInt16LE(dialects.length, 2);
  body.writeUInt16LE(1, 4); // SecurityMode: signing enabled, not required
  dialects.forEach((dialect, i) => body.writeUInt16LE(dialect, 36 + i * 2));
  const length = Buffer.alloc(4);
  length.writeUInt32BE(header.length + body.length, 0); // NetBIOS session message
  const socket = net.connect(port, '127.0.0.1');
  try {
    socket.write(Buffer.concat([length, header, body]));
    let received = Buffer.alloc(0);
    for await (const chunk of socket) {
      received = Buffer.concat([received, chunk as Buffer]);
      if (received.length >= 4 + 64 + 4) break;
    }
    return received.readUInt16LE(4 + 64 + 2);
  } finally {
    socket.destroy();
  }
}
