/**
 * Readers for smbclient's text output (Samba 4.x, run with TZ=UTC): `allinfo` blocks, `ls`
 * listings (recursive ones carry a `\dir\sub` heading per folder) and the free-space line.
 * smbclient prints times to the second: `allinfo` rounds to the nearest second, `ls` truncates,
 * so every time Ferry reports comes from `allinfo` and list and stat always agree.
 */

/** The line `pwd` prints; sent between commands so each command's output can be told apart. */
const SENTINEL = /^Current directory is \\\\/;

/**
 * Splits a script's stdout into one section per command. The script starts with a sentinel,
 * so whatever smbclient prints before the first command is dropped.
 */
export function splitSections(stdout: string): string[][] {
  const sections: string[][] = [];
  let current: string[] | undefined;
  for (const line of stdout.split('\n')) {
    if (SENTINEL.test(line)) {
      if (current) sections.push(current);
      current = [];
    } else {
      current?.push(line);
    }
  }
  return sections;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const TIME = /^\w{3} (\w{3}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (\d{4})(?: (UTC|GMT))?$/;

/** Milliseconds since the epoch for `Sun Nov 22 02:13:19 2026 [UTC]`, or undefined. */
export function parseSmbTime(text: string): number | undefined {
  const m = TIME.exec(text.trim());
  if (!m) return undefined;
  const month = MONTHS.indexOf(m[1] ?? '');
  if (month < 0) return undefined;
  const [day, hour, minute, second, year] = [m[2], m[3], m[4], m[5], m[6]].map(Number);
  return Date.UTC(year ?? 0, month, day, hour, minute, second);
}

/** What `allinfo` says about one path. */
export interface AllInfo {
  readonly kind: 'file' | 'directory';
  readonly mtimeMs: number;
  readonly ctimeMs: number;
}

/** Reads an `allinfo` section; undefined when it holds no answer (an error line instead). */
export function parseAllInfo(lines: readonly string[]): AllInfo | undefined {
  const fields = new Map<string, string>();
  for (const line of lines) {
    const m = /^(\w+):\s+(.*)$/.exec(line);
    if (m?.[1] !== undefined && m[2] !== undefined) fields.set(m[1], m[2]);
  }
  const mtimeMs = parseSmbTime(fields.get('write_time') ?? '');
  const attributes = /^([A-Z]*)\s*\(([0-9a-f]+)\)$/.exec(fields.get('attributes') ?? '');
  if (mtimeMs === undefined || !attributes) return undefined;
  // FILE_ATTRIBUTE_DIRECTORY; the hex value is authoritative, the letters are for people.
  const directory = (parseInt(attributes[2] ?? '0', 16) & 0x10) !== 0;
  const change = parseSmbTime(fields.get('change_time') ?? '');
  // A server that keeps no change time reports 0 (1970 or 1601); the write time stands in.
  return {
    kind: directory ? 'directory' : 'file',
    mtimeMs,
    ctimeMs: change !== undefined && change > 0 ? change : mtimeMs,
  };
}

/** One `ls` entry. */
export interface ListedEntry {
  /** Segments of the entry's folder below the listed folder, then its name. */
  readonly segments: readonly string[];
  readonly directory: boolean;
  readonly size: number;
}

const ENTRY = /^ {2}(.+?)\s+([A-Z]*)\s+(\d+) {2}\w{3} \w{3} +\d{1,2} \d{2}:\d{2}:\d{2} \d{4}$/;

/**
 * Reads `ls` output. Entries before the first heading belong to the listed folder; a heading
 * (`\share-relative\path`) switches to that folder, given relative to `listed` (smbclient's
 * remote form of the listed folder). `.` and `..` are dropped.
 */
export function parseListing(lines: readonly string[], listed: string): ListedEntry[] {
  const prefix = listed === '' ? [] : listed.slice(1).split('\\');
  const entries: ListedEntry[] = [];
  let folder: string[] = [];
  for (const line of lines) {
    if (line.startsWith('\\')) {
      const heading = line.slice(1).split('\\');
      folder = heading.slice(prefix.length);
      continue;
    }
    const m = ENTRY.exec(line);
    if (!m?.[1] || m[1] === '.' || m[1] === '..') continue;
    entries.push({
      segments: [...folder, m[1]],
      directory: (m[2] ?? '').includes('D'),
      size: Number(m[3]),
    });
  }
  return entries;
}

/** Free bytes from `N blocks of size B. M blocks available`, or undefined. */
export function parseFreeSpace(lines: readonly string[]): number | undefined {
  for (const line of lines) {
    const m = /(\d+) blocks of size (\d+)\. (\d+) blocks available/.exec(line);
    if (m) return Number(m[3]) * Number(m[2]);
  }
  return undefined;
}
