/**
 * The SMB location a storage talks to: `smb://[domain;]user@host[:port]/share[/base/path]`.
 * The password never travels in the URL (it would end up in logs, `ps` output and config dumps);
 * it comes from config, the environment or a secret file and is passed separately.
 */

/** A parsed SMB URL. */
export interface SmbUrl {
  /** Host name or IP address (IPv6 without brackets). */
  readonly host: string;
  readonly port: number;
  readonly share: string;
  /** Folder inside the share that storage paths are relative to (empty: the share root). */
  readonly basePath: readonly string[];
  readonly user: string;
  /** Windows domain or workgroup, when one was given. */
  readonly domain?: string;
}

/** A URL that cannot name an SMB location; the message says what to change. */
export class SmbUrlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SmbUrlError';
  }
}

const FORMAT = 'expected smb://[domain;]user@host[:port]/share[/path]';
const PASSWORD_IN_URL =
  'it must not contain a password; pass the password separately (config, env or file)';

/** Characters SMB forbids in names, and which smbclient would read as wildcards. */
// eslint-disable-next-line no-control-regex -- control characters are what is being refused
const FORBIDDEN = /[\\/:*?"<>|\u0000-\u001f\u007f]/;

/** Why `name` cannot be one SMB path segment, or undefined when it can. */
export function segmentProblem(name: string): string | undefined {
  if (name === '') return 'an empty folder name (`//`)';
  if (name === '.' || name === '..') return `a \`${name}\` segment`;
  if (FORBIDDEN.test(name)) return 'a character SMB does not allow in names (\\ / : * ? " < > |)';
  return undefined;
}

function fail(problem: string): never {
  throw new SmbUrlError(`Invalid SMB URL: ${problem}; ${FORMAT}`);
}

function decode(part: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return fail(`the ${what} has a malformed %-escape`);
  }
}

function parseUserInfo(userInfo: string): { user: string; domain?: string } {
  // A ':' here means a password was written into the URL. Say so without echoing any of it.
  if (userInfo.includes(':')) fail(PASSWORD_IN_URL);
  const decoded = decode(userInfo, 'user name');
  const semicolon = decoded.indexOf(';');
  const domain = semicolon >= 0 ? decoded.slice(0, semicolon) : undefined;
  const user = semicolon >= 0 ? decoded.slice(semicolon + 1) : decoded;
  if (user === '') fail('the user name is missing');
  // smbclient reads `user%password` and `DOMAIN\user` out of its -U argument.
  if (/[%\\]/.test(user)) fail('the user name must not contain `%` or `\\` (use `domain;user`)');
  if (domain === '') fail('the domain before `;` is empty');
  return domain === undefined ? { user } : { user, domain };
}

function parseHostPort(hostPort: string): { host: string; port: number } {
  let host: string;
  let portText: string | undefined;
  if (hostPort.startsWith('[')) {
    const close = hostPort.indexOf(']');
    if (close < 0) fail('the IPv6 address is missing its closing `]`');
    host = hostPort.slice(1, close);
    const rest = hostPort.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':')) fail('unexpected text after the IPv6 address');
    portText = rest === '' ? undefined : rest.slice(1);
    if (!/^[0-9a-fA-F:.]+$/.test(host)) fail('the IPv6 address is not valid');
  } else {
    const colon = hostPort.lastIndexOf(':');
    host = colon >= 0 ? hostPort.slice(0, colon) : hostPort;
    portText = colon >= 0 ? hostPort.slice(colon + 1) : undefined;
    if (host === '') fail('the host is missing');
    if (!/^[A-Za-z0-9._-]+$/.test(host)) fail('the host name has characters a host cannot have');
  }
  if (portText === undefined) return { host, port: 445 };
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= 1 && port <= 65535)) fail('the port must be a number from 1 to 65535');
  return { host, port };
}

function parseSegments(pathText: string): string[] {
  const parts = pathText.split('/');
  // One trailing slash is harmless (`…/share/`); an empty segment elsewhere is a typo.
  if (parts.length > 1 && parts.at(-1) === '') parts.pop();
  return parts.map((part, index) => {
    const name = decode(part, index === 0 ? 'share name' : 'path');
    const problem = segmentProblem(name);
    if (problem !== undefined) {
      fail(index === 0 ? 'the share name is missing' : `the path has ${problem}`);
    }
    return name;
  });
}

/**
 * Parses `smb://[domain;]user@host[:port]/share[/base/path]`. `domain` applies when the URL has
 * none. Throws SmbUrlError naming the problem; the message never repeats a password.
 */
export function parseSmbUrl(url: string, options: { domain?: string } = {}): SmbUrl {
  if (!/^smb:\/\//i.test(url)) fail('it must start with smb://');
  const rest = url.slice('smb://'.length);
  // `user:secret@` where the secret holds `/`, `?` or `#` would split in the wrong place below.
  if (/^[^/@:]*:[^@]*@/.test(rest)) fail(PASSWORD_IN_URL);
  if (/[?#]/.test(rest)) fail('query strings and fragments (`?`, `#`) are not supported');
  const slash = rest.indexOf('/');
  const authority = slash >= 0 ? rest.slice(0, slash) : rest;
  const at = authority.lastIndexOf('@');
  if (at < 0) fail('the user name is missing (smb://user@host/share)');
  const { user, domain } = parseUserInfo(authority.slice(0, at));
  const { host, port } = parseHostPort(authority.slice(at + 1));
  if (slash < 0 || slash === rest.length - 1) fail('the share name is missing');
  const [share = '', ...basePath] = parseSegments(rest.slice(slash + 1));
  if (domain !== undefined && options.domain !== undefined && domain !== options.domain) {
    fail(`the URL names domain ${domain} but the domain option says ${options.domain}`);
  }
  const chosenDomain = domain ?? options.domain;
  return {
    host,
    port,
    share,
    basePath,
    user,
    ...(chosenDomain === undefined ? {} : { domain: chosenDomain }),
  };
}

/** The URL written back without secrets, for logs and `Storage.location`. */
export function formatSmbUrl(url: SmbUrl): string {
  const user = encodeURIComponent(url.user);
  const who = url.domain === undefined ? user : `${encodeURIComponent(url.domain)};${user}`;
  const host = url.host.includes(':') ? `[${url.host}]` : url.host;
  const port = url.port === 445 ? '' : `:${url.port}`;
  const segments = [url.share, ...url.basePath].map(encodeURIComponent).join('/');
  return `smb://${who}@${host}${port}/${segments}`;
}
