/**
 * One SSH connection with one SFTP channel, opened on first use and again after it dropped.
 * Every SFTP call goes through `call`, which maps protocol and connection failures to
 * StorageError reasons. SFTP multiplexes requests, so concurrent operations share the channel.
 */
import { readFileSync } from 'node:fs';
import { Client, type SFTPWrapper } from 'ssh2';
import { StorageError, type StorageFailure } from '../types.ts';
import { knownHostAccepts } from './known-hosts.ts';
import { formatSftpUrl, type SftpUrl } from './url.ts';

/** How to reach and trust one SFTP server. */
export interface SftpConnectOptions {
  url: SftpUrl;
  /** Private key text (OpenSSH or PEM); tried before the password. */
  privateKey?: string;
  passphrase?: string;
  password?: string;
  /** Text of a known_hosts file; the server's key must be listed in it for its host. */
  knownHosts: string;
  timeoutMs?: number;
}

/** SFTP status codes (draft-ietf-secsh-filexfer-02) and what they mean to Ferry. */
const statusReasons: Record<number, StorageFailure> = {
  2: 'not_found',
  3: 'permission_denied',
  4: 'io',
  6: 'unreachable',
  7: 'unreachable',
};

/** Maps an ssh2 error to a StorageError for `path`. */
export function sftpError(error: unknown, path: string): StorageError {
  if (error instanceof StorageError) return error;
  const e = error as { code?: unknown; level?: unknown; message?: unknown };
  const message = typeof e.message === 'string' ? e.message : String(error);
  let reason: StorageFailure = 'io';
  if (typeof e.code === 'number') reason = statusReasons[e.code] ?? 'io';
  else if (e.level === 'client-authentication' || /Host denied/i.test(message)) {
    reason = 'permission_denied';
  } else if (
    typeof e.code === 'string' ||
    e.level === 'client-socket' ||
    e.level === 'client-timeout'
  ) {
    reason = 'unreachable';
  }
  return new StorageError(reason, path, `sftp: ${message}`, { cause: error });
}

/** A lazily (re)connected SFTP channel. */
export interface SftpSession {
  /** Runs one SFTP request; failures become StorageErrors naming `path`. */
  call<T>(
    path: string,
    run: (sftp: SFTPWrapper, done: (err: Error | undefined | null, value?: T) => void) => void,
  ): Promise<T>;
  /** The channel itself (connecting when needed), for batched requests. */
  channel(path: string): Promise<SFTPWrapper>;
  close(): Promise<void>;
}

/** Reads a secret-bearing file once at startup (keys, known_hosts). */
export function readText(file: string): string {
  return readFileSync(file, 'utf8');
}

export function makeSftpSession(options: SftpConnectOptions): SftpSession {
  let current: Promise<{ client: Client; sftp: SFTPWrapper }> | undefined;
  let attempt: typeof current;
  let closed = false;
  const where = formatSftpUrl(options.url);

  function connect(): Promise<{ client: Client; sftp: SFTPWrapper }> {
    return new Promise((resolve, reject) => {
      const client = new Client();
      const forget = () => {
        if (current === attempt) current = undefined;
      };
      client.once('ready', () => {
        client.sftp((err, sftp) => {
          if (err) {
            client.end();
            reject(err);
            return;
          }
          resolve({ client, sftp });
        });
      });
      client.once('error', (err) => {
        forget();
        reject(err);
      });
      client.once('close', forget);
      client.connect({
        host: options.url.host,
        port: options.url.port,
        username: options.url.user,
        ...(options.privateKey === undefined ? {} : { privateKey: options.privateKey }),
        ...(options.passphrase === undefined ? {} : { passphrase: options.passphrase }),
        ...(options.password === undefined ? {} : { password: options.password }),
        readyTimeout: options.timeoutMs ?? 20_000,
        // The raw key (SSH wire form) must be listed for this host: never trust on first use.
        hostVerifier: (key: Buffer) =>
          knownHostAccepts(options.knownHosts, options.url.host, options.url.port, key),
      });
    });
  }

  async function channel(path: string): Promise<SFTPWrapper> {
    if (closed) throw new StorageError('unreachable', path, `${where} is closed`);
    if (!current) {
      attempt = connect();
      current = attempt;
      attempt.catch(() => {
        if (current === attempt) current = undefined;
      });
    }
    try {
      return (await current).sftp;
    } catch (error) {
      throw sftpError(error, path);
    }
  }

  return {
    channel,
    async call(path, run) {
      const sftp = await channel(path);
      return new Promise((resolve, reject) => {
        run(sftp, (err, value) => {
          if (err) reject(sftpError(err, path));
          else resolve(value as never);
        });
      });
    },
    async close() {
      closed = true;
      const open = current;
      current = undefined;
      if (!open) return;
      const { client } = await open.catch(() => ({ client: undefined }));
      if (!client) return;
      await new Promise<void>((resolve) => {
        client.once('close', () => {
          resolve();
        });
        client.end();
      });
    },
  };
}
