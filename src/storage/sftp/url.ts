/**
 * `sftp://user@host[:port]/path` — where an SFTP endpoint lives. The path is the endpoint's
 * root on the server (absolute there); a password never appears in the URL (it comes from the
 * config's secrets).
 */

/** A parsed SFTP location. */
export interface SftpUrl {
  user: string;
  host: string;
  port: number;
  /** Absolute folder on the server, without a trailing slash ('/' for the server's root). */
  root: string;
}

/** The URL is not a usable SFTP location; `message` says why. */
export class SftpUrlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SftpUrlError';
  }
}

/** Parses and checks an SFTP URL. */
export function parseSftpUrl(text: string): SftpUrl {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new SftpUrlError(`not a URL: '${text}'`);
  }
  if (url.protocol !== 'sftp:') throw new SftpUrlError('must start with sftp://');
  if (url.password !== '') {
    throw new SftpUrlError('must not hold a password (use the endpoint’s password secret)');
  }
  if (url.username === '') throw new SftpUrlError('needs a user (sftp://user@host/path)');
  if (url.hostname === '') throw new SftpUrlError('needs a host');
  if (url.search !== '' || url.hash !== '') throw new SftpUrlError('must not have ? or #');
  const root = decodeURIComponent(url.pathname).replace(/\/+$/, '') || '/';
  if (root.split('/').some((s) => s === '..' || s === '.')) {
    throw new SftpUrlError('the path must not contain . or .. segments');
  }
  return {
    user: decodeURIComponent(url.username),
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port === '' ? 22 : Number(url.port),
    root,
  };
}

/** The display form of an SFTP location. */
export function formatSftpUrl(url: SftpUrl): string {
  const host = url.host.includes(':') ? `[${url.host}]` : url.host;
  const port = url.port === 22 ? '' : `:${url.port}`;
  return `sftp://${encodeURIComponent(url.user)}@${host}${port}${url.root}`;
}
