/** smbclient output as Samba 4.17 prints it (captured from real runs), read without a server. */
import { describe, expect, it } from 'vitest';
import { reasonOf, connectionFailure } from './failures.ts';
import {
  parseAllInfo,
  parseFreeSpace,
  parseListing,
  parseSmbTime,
  splitSections,
} from './output.ts';

const where = { location: 'smb://u@h/s', user: 'u', share: 's' };

describe('smbclient output', () => {
  it('splits a script into one section per command at the pwd sentinels', () => {
    const stdout = [
      'Try "help" to get a list of possible commands.',
      'Current directory is \\\\127.0.0.1\\share\\',
      'NT_STATUS_NO_SUCH_FILE listing \\nothere',
      'Current directory is \\\\127.0.0.1\\share\\',
      'Current directory is \\\\127.0.0.1\\share\\',
      '',
    ].join('\n');
    expect(splitSections(stdout)).toEqual([['NT_STATUS_NO_SUCH_FILE listing \\nothere'], []]);
  });

  it('reads UTC times to the second', () => {
    expect(parseSmbTime('Tue Jan  2 03:04:06 2024 UTC')).toBe(Date.UTC(2024, 0, 2, 3, 4, 6));
    expect(parseSmbTime('Sun Nov 22 02:13:19 2026')).toBe(Date.UTC(2026, 10, 22, 2, 13, 19));
    expect(parseSmbTime('Sun Nov 22 02:13:19 2026 CET')).toBeUndefined();
  });

  it('reads allinfo for files, folders and files without attribute letters', () => {
    const file = [
      'altname: AHOEZB~Q.BIN',
      'create_time:    Sun Nov 22 02:17:02 2026 UTC',
      'access_time:    Sun Nov 22 02:17:02 2026 UTC',
      'write_time:     Tue Jan  2 03:04:06 2024 UTC',
      'change_time:    Wed Jan  3 03:04:06 2024 UTC',
      'attributes:  (80)',
      'stream: [::$DATA], 3 bytes',
    ];
    expect(parseAllInfo(file)).toEqual({
      kind: 'file',
      mtimeMs: Date.UTC(2024, 0, 2, 3, 4, 6),
      ctimeMs: Date.UTC(2024, 0, 3, 3, 4, 6),
    });
    const dir = [
      'altname: a',
      'write_time:     Sun Nov 22 02:13:59 2026 UTC',
      'attributes: D (10)',
    ];
    expect(parseAllInfo(dir)?.kind).toBe('directory');
    expect(parseAllInfo(['NT_STATUS_OBJECT_NAME_NOT_FOUND getting alt name for \\x'])).toBe(
      undefined,
    );
  });

  it('reads a recursive listing with headings, long names and no attribute letters', () => {
    const lines = [
      '  .                                   D        0  Sun Nov 22 02:17:02 2026',
      '  ..                                  D        0  Sun Nov 22 02:14:33 2026',
      '  q                                   D        0  Sun Nov 22 02:17:02 2026',
      '  a name with  spaces and a long long tail.bin      N        3  Sun Nov 22 02:17:02 2026',
      '',
      '\\base\\p\\q',
      '  f1.txt                              A        2  Sun Nov  2 02:17:02 2026',
      '  semi;colon                                   12  Sun Nov 22 02:17:02 2026',
      '',
      '\t\t264212084 blocks of size 1024. 82582440 blocks available',
    ];
    expect(parseListing(lines, '\\base\\p')).toEqual([
      { segments: ['q'], directory: true, size: 0 },
      { segments: ['a name with  spaces and a long long tail.bin'], directory: false, size: 3 },
      { segments: ['q', 'f1.txt'], directory: false, size: 2 },
      { segments: ['q', 'semi;colon'], directory: false, size: 12 },
    ]);
    expect(parseFreeSpace(lines)).toBe(82582440 * 1024);
  });

  it('maps NT statuses and connection failures to storage reasons', () => {
    expect(reasonOf('NT_STATUS_OBJECT_NAME_COLLISION')).toBe('exists');
    expect(reasonOf('NT_STATUS_DISK_FULL')).toBe('no_space');
    expect(reasonOf('NT_STATUS_SHARING_VIOLATION')).toBe('io');
    const refused =
      'do_connect: Connection to 127.0.0.1 failed (Error NT_STATUS_CONNECTION_REFUSED)';
    expect(connectionFailure(refused, 'x', where)?.reason).toBe('unreachable');
    const dns = 'do_connect: Connection to nohost failed (Error NT_STATUS_UNSUCCESSFUL)';
    expect(connectionFailure(dns, 'x', where)?.reason).toBe('unreachable');
    const login = 'session setup failed: NT_STATUS_LOGON_FAILURE';
    expect(connectionFailure(login, 'x', where)?.reason).toBe('permission_denied');
    const share = 'tree connect failed: NT_STATUS_BAD_NETWORK_NAME';
    expect(connectionFailure(share, 'x', where)?.message).toContain('no share named s');
    expect(connectionFailure('NT_STATUS_NO_SUCH_FILE listing \\x', 'x', where)).toBeUndefined();
  });
});
