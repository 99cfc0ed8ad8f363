/**
 * Version grouping: partners drop several timestamped versions of one report
 * (`REPORT_20251105120450.xlsx`, `REPORT_20251106.xlsx`); intake keeps only the newest. A version
 * suffix sits immediately before the extension; stripping it gives the group's base name.
 */

/**
 * The default suffixes: `[_.]YYYYMMDDHHMMSS` and `[_.]YYYYMMDD`. A pattern is a regular
 * expression matched at the end of the name without its extension, with named groups `date`
 * (8 digits, required), `time` (6 digits) and `ms` (fraction of a second).
 */
export const defaultVersionPatterns: readonly string[] = [
  '[_.](?<date>\\d{8})(?<time>\\d{6})',
  '[_.](?<date>\\d{8})',
];

/** What a name says about its version. */
export interface Version {
  /** The name with the version suffix removed (`REPORT.xlsx`); the name itself when unversioned. */
  readonly base: string;
  /** Parsed timestamp (UTC ms; an 8-digit date is that day's 00:00:00), or undefined. */
  readonly timestampMs: number | undefined;
}

/** A group of versions of one base name, newest first picked. */
export interface VersionGroup<F> {
  /** Folder (relative, '' at the root) + '/' + base name: what makes two files versions of one. */
  readonly key: string;
  readonly base: string;
  readonly newest: F;
  /** Every other member; they become archive candidates. */
  readonly older: F[];
}

/** Compiles version patterns, anchored at the end of the extension-less name. */
export function compileVersionPatterns(patterns: readonly string[]): RegExp[] {
  return patterns.map((p) => {
    const re = new RegExp(`(?:${p})$`);
    if (!p.includes('(?<date>')) throw new Error(`version pattern ${p} has no (?<date>…) group`);
    return re;
  });
}

/** Splits `name.ext` at its last dot; a leading dot (`.profile`) is not an extension. */
function splitExtension(name: string): { stem: string; ext: string } {
  const dot = name.lastIndexOf('.');
  if (dot <= 0) return { stem: name, ext: '' };
  return { stem: name.slice(0, dot), ext: name.slice(dot) };
}

/** Reads YYYYMMDD[HHMMSS][fraction] as UTC ms, or undefined when it is not a real moment. */
function parseTimestamp(date: string, time = '000000', fraction = ''): number | undefined {
  const num = (s: string, from: number, to: number) => Number(s.slice(from, to));
  const [y, mo, d] = [num(date, 0, 4), num(date, 4, 6), num(date, 6, 8)];
  const [h, mi, s] = [num(time, 0, 2), num(time, 2, 4), num(time, 4, 6)];
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return undefined;
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  // Date.UTC rolls 31 February over to March; a rolled date is not a real one.
  if (new Date(ms).getUTCDate() !== d) return undefined;
  const sub = fraction === '' ? 0 : Number(`0.${fraction}`) * 1000;
  return ms + sub;
}

/** The version a base name (no folders) carries under `patterns` (first match wins). */
export function parseVersion(name: string, patterns: readonly RegExp[]): Version {
  const { stem, ext } = splitExtension(name);
  for (const re of patterns) {
    const match = re.exec(stem);
    const groups = match?.groups;
    if (!match || !groups?.date) continue;
    // Digits that are not a real date (an 8-digit order number) are part of the name.
    const timestampMs = parseTimestamp(groups.date, groups.time, groups.ms);
    if (timestampMs === undefined) continue;
    return { base: stem.slice(0, match.index) + ext, timestampMs };
  }
  return { base: name, timestampMs: undefined };
}

/** True when `a` is a newer version than `b`: later timestamp, then the name that sorts last. */
function isNewer(a: { v: Version; name: string }, b: { v: Version; name: string }): boolean {
  const ta = a.v.timestampMs ?? Number.NEGATIVE_INFINITY;
  const tb = b.v.timestampMs ?? Number.NEGATIVE_INFINITY;
  if (ta !== tb) return ta > tb;
  return a.name > b.name;
}

/**
 * Groups files by folder + base name and picks each group's newest version. An unversioned
 * file in a group with dated versions counts as the oldest. Groups come back sorted by key.
 */
export function groupVersions<F extends { readonly relative: string }>(
  files: readonly F[],
  patterns: readonly RegExp[],
): VersionGroup<F>[] {
  const groups = new Map<
    string,
    { base: string; members: { file: F; v: Version; name: string }[] }
  >();
  for (const file of files) {
    const slash = file.relative.lastIndexOf('/');
    const folder = slash === -1 ? '' : file.relative.slice(0, slash);
    const name = file.relative.slice(slash + 1);
    const v = parseVersion(name, patterns);
    const key = `${folder}/${v.base}`;
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { base: v.base, members: [] }));
    group.members.push({ file, v, name });
  }
  const out: VersionGroup<F>[] = [];
  for (const [key, group] of [...groups].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    let newest = group.members[0];
    for (const m of group.members) if (newest && isNewer(m, newest)) newest = m;
    if (!newest) continue;
    const chosen = newest;
    out.push({
      key,
      base: group.base,
      newest: chosen.file,
      older: group.members.filter((m) => m !== chosen).map((m) => m.file),
    });
  }
  return out;
}
