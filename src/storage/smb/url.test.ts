import { describe, expect, it } from 'vitest';
import { formatSmbUrl, parseSmbUrl, SmbUrlError } from './url.ts';

function problemOf(url: string, options: { domain?: string } = {}): string {
  try {
    parseSmbUrl(url, options);
  } catch (error) {
    expect(error).toBeInstanceOf(SmbUrlError);
    return (error as Error).message;
  }
  return expect.unreachable(`${url} was accepted`);
}

describe('parseSmbUrl', () => {
  it('reads user, host, default port, share and base path', () => {
    expect(parseSmbUrl('smb://alice@files.example.com/drop/partners/in')).toEqual({
      host: 'files.example.com',
      port: 445,
      share: 'drop',
      basePath: ['partners', 'in'],
      user: 'alice',
    });
  });

  it('reads a domain, a port, IPv6 and %-escapes; one trailing slash is fine', () => {
    expect(parseSmbUrl('smb://CORP;bob@[::1]:4455/My%20Share/a%3Bb/')).toEqual({
      host: '::1',
      port: 4455,
      share: 'My Share',
      basePath: ['a;b'],
      user: 'bob',
      domain: 'CORP',
    });
    expect(parseSmbUrl('smb://bob@h/s', { domain: 'CORP' }).domain).toBe('CORP');
  });

  it('refuses a password in the URL without repeating it', () => {
    const message = problemOf('smb://alice:Sup3rSecret@host/share');
    expect(message).toContain('must not contain a password');
    expect(message).not.toContain('Sup3rSecret');
    // A password with a slash must not leak through the host or port message either.
    for (const url of ['smb://alice:pa/ss@host/share', 'smb://alice:p?a#s@host/share']) {
      const message = problemOf(url);
      expect(message).toContain('must not contain a password');
      expect(message).not.toMatch(/pa\/ss|p\?a/);
    }
  });

  it.each([
    ['http://alice@host/share', 'must start with smb://'],
    ['smb://host/share', 'user name is missing'],
    ['smb://@host/share', 'user name is missing'],
    ['smb://a%25b@host/share', 'must not contain `%`'],
    ['smb://alice@host', 'share name is missing'],
    ['smb://alice@host/', 'share name is missing'],
    ['smb://alice@/share', 'host is missing'],
    ['smb://alice@ho st/share', 'host name has characters'],
    ['smb://alice@host:0/share', 'port must be a number'],
    ['smb://alice@host:99999/share', 'port must be a number'],
    ['smb://alice@host:x/share', 'port must be a number'],
    ['smb://alice@[::1/share', 'closing `]`'],
    ['smb://alice@host/share/../other', 'a `..` segment'],
    ['smb://alice@host/share//x', 'empty folder name'],
    ['smb://alice@host/share/a*b', 'does not allow'],
    ['smb://alice@host/share/%E0%A4%A', 'malformed %-escape'],
    ['smb://alice@host/share?x=1', 'query strings'],
    ['smb://;alice@host/share', 'domain before `;` is empty'],
  ])('refuses %s (%s)', (url, expected) => {
    const message = problemOf(url);
    expect(message).toContain(expected);
    expect(message).toContain('expected smb://[domain;]user@host[:port]/share[/path]');
  });

  it('refuses a domain option that contradicts the URL', () => {
    expect(problemOf('smb://A;bob@h/s', { domain: 'B' })).toContain('domain option says B');
  });
});

describe('formatSmbUrl', () => {
  it('writes the URL back without secrets, round-tripping through the parser', () => {
    for (const url of [
      'smb://alice@host/share',
      'smb://CORP;bob@[::1]:4455/My%20Share/a%3Bb',
      'smb://carol@10.0.0.5:1445/s/deep/er',
    ]) {
      expect(formatSmbUrl(parseSmbUrl(url))).toBe(url);
    }
  });
});
