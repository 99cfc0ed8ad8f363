/**
 * Storage on an SMB share through smbclient (Samba's client): SMB2 and SMB3, signing and
 * encryption as the server asks. Paths are relative to the URL's base folder. Times have
 * one-second resolution (smbclient prints no finer); see docs/storage.md for the limits.
 */
import { StorageError, type FileInfo, type Storage } from '../types.ts';
import { commandFailure, statusLine, reasonOf } from './failures.ts';
import { parseAllInfo, parseFreeSpace, parseListing, type ListedEntry } from './output.ts';
import {
  childPath,
  fromSegments,
  parentOf,
  quoted,
  resolveSmbPath,
  type SmbPath,
} from './paths.ts';
import { runScript, type SmbContext } from './process.ts';
import { openSmbWrite, readSmbFile } from './transfer.ts';
import { formatSmbUrl, parseSmbUrl } from './url.ts';

/** How to reach one SMB location. */
export interface SmbStorageOptions {
  /** `smb://[domain;]user@host[:port]/share[/base/path]`, without a password. */
  url: string;
  password: string;
  /** Domain or workgroup, when the URL does not name one. */
  domain?: string;
  /** How long the server may stay silent before an operation fails as 'unreachable'. */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/** True when a section failed because nothing is at that path. */
function isMissing(lines: readonly string[]): boolean {
  const found = statusLine(lines);
  return found !== undefined && reasonOf(found.status) === 'not_found';
}

/** Stats one path: `allinfo` for kind and times, `ls` for the size. */
async function statPath(context: SmbContext, p: SmbPath): Promise<FileInfo | undefined> {
  const commands = [`allinfo ${quoted(p.remote)}`];
  if (p.remote !== '') commands.push(`ls ${quoted(p.remote)}`);
  const [info = [], listing = []] = await runScript(context, commands, p.path, `stat ${p.path}`);
  if (isMissing(info)) return undefined;
  const parsed = parseAllInfo(info);
  if (!parsed) throw commandFailure(info, p.path, `stat ${p.path}`) ?? unreadable(p, info);
  const entry = parseListing(listing, '')[0];
  const size = parsed.kind === 'file' ? (entry?.size ?? 0) : 0;
  return { path: p.path, size, ...parsed };
}

function unreadable(p: SmbPath, lines: readonly string[]): StorageError {
  return new StorageError('io', p.path, `unreadable smbclient output: ${lines.join(' | ')}`);
}

/**
 * `ls` of a folder (recursive or not): its files as segments below it, with sizes. The folder
 * is checked with `allinfo` first: an empty volume root on Windows lists no `.` and `..`, so
 * "no such file" from `ls` alone cannot tell an empty folder from a missing one.
 */
async function listFolder(
  context: SmbContext,
  dir: SmbPath,
  recursive: boolean,
): Promise<ListedEntry[]> {
  const mask = `${dir.remote}\\*`;
  const commands = [`allinfo ${quoted(dir.remote)}`, ...(recursive ? ['recurse'] : [])];
  commands.push(`ls ${quoted(mask)}`);
  const sections = await runScript(context, commands, dir.path, `list ${dir.path}`);
  const [info = []] = sections;
  const lines = sections.at(-1) ?? [];
  const kind = parseAllInfo(info)?.kind;
  if (kind !== 'directory') {
    const failure = commandFailure(info, dir.path, `list ${dir.path}`);
    if (failure && failure.reason !== 'not_found') throw failure;
    const what = kind === 'file' ? 'a file, not a folder' : 'no such folder';
    throw new StorageError('not_found', dir.path, `list ${dir.path}: ${what}`);
  }
  for (const line of lines) {
    const found = statusLine([line]);
    if (!found) continue;
    const reason = reasonOf(found.status);
    // A subfolder deleted while the listing runs is simply gone, as on a local disk.
    if (reason === 'not_found' && !found.line.endsWith(`listing ${mask}`)) continue;
    if (reason === 'not_found') return [];
    throw new StorageError(reason, dir.path, `list ${dir.path} failed: ${found.line}`);
  }
  return parseListing(lines, dir.remote).filter((entry) => !entry.directory);
}

/** `allinfo` for every listed file in one session; files gone meanwhile are left out. */
async function withTimes(
  context: SmbContext,
  dir: SmbPath,
  entries: ListedEntry[],
): Promise<FileInfo[]> {
  if (entries.length === 0) return [];
  const files = entries.map((entry) =>
    fromSegments(context.url, [...dir.segments, ...entry.segments]),
  );
  const commands = files.map((file) => `allinfo ${quoted(file.remote)}`);
  const sections = await runScript(context, commands, dir.path, `list ${dir.path}`);
  const out: FileInfo[] = [];
  entries.forEach((entry, index) => {
    const lines = sections[index] ?? [];
    const info = parseAllInfo(lines);
    if (!info) {
      if (isMissing(lines)) return;
      throw commandFailure(lines, dir.path, `list ${dir.path}`) ?? unreadable(dir, lines);
    }
    const relative = entry.segments.join('/');
    out.push({ ...info, path: childPath(dir.path, relative), size: entry.size });
  });
  return out;
}

/** Renames within the share; the server refuses to replace unless asked, atomically. */
async function renamePath(
  context: SmbContext,
  from: SmbPath,
  to: SmbPath,
  overwrite: boolean,
): Promise<void> {
  const parent = parentOf(context.url, to);
  const commands =
    parent.remote === '' ? [] : ['recurse', `mkdir ${quoted(parent.remote)}`, 'recurse'];
  commands.push(`rename ${quoted(from.remote)} ${quoted(to.remote)}${overwrite ? ' -f' : ''}`);
  const sections = await runScript(context, commands, to.path, `rename ${from.path}`);
  const lines = sections.at(-1) ?? [];
  const found = statusLine(lines);
  if (!found) return;
  const reason = reasonOf(found.status);
  // A missing source is the source's fault; a collision is the destination's.
  const culprit = reason === 'not_found' ? from.path : to.path;
  const message = `rename ${from.path} → ${to.path} failed: ${found.line}`;
  throw new StorageError(reason, culprit, message);
}

/** Deletes a file; refuses a folder (smbclient's `del` would quietly skip it). */
async function removeFile(context: SmbContext, p: SmbPath): Promise<void> {
  // `del` takes a mask: an empty one would name the share root itself.
  if (p.remote === '') throw new StorageError('io', p.path, 'remove: refusing the share root');
  const commands = [`del ${quoted(p.remote)}`, `allinfo ${quoted(p.remote)}`];
  const [deleted = [], after = []] = await runScript(context, commands, p.path, `remove ${p.path}`);
  if (!isMissing(deleted)) {
    const failure = commandFailure(deleted, p.path, `remove ${p.path}`);
    if (failure) throw failure;
  }
  const still = parseAllInfo(after);
  if (still?.kind === 'directory') {
    throw new StorageError('io', p.path, `remove ${p.path}: it is a folder (use removeEmptyDir)`);
  }
}

/** `2024:03:04-05:06:07`, the form smbclient's `utimes` takes, in UTC. */
function utimesStamp(ms: number): string {
  const d = new Date(Math.round(ms / 1000) * 1000);
  const two = (n: number) => String(n).padStart(2, '0');
  const date = `${d.getUTCFullYear()}:${two(d.getUTCMonth() + 1)}:${two(d.getUTCDate())}`;
  return `${date}-${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`;
}

/** Removes an empty folder: true when removed, false when not empty or not there. */
async function removeEmptyFolder(context: SmbContext, p: SmbPath): Promise<boolean> {
  const [lines = []] = await runScript(context, [`rmdir ${quoted(p.remote)}`], p.path, 'rmdir');
  const found = statusLine(lines);
  if (!found) return true;
  const reason = reasonOf(found.status);
  if (reason === 'exists' || reason === 'not_found') return false;
  throw new StorageError(reason, p.path, `removeEmptyDir ${p.path} failed: ${found.line}`);
}

/** Sets the write time, to the second. */
async function setMtime(context: SmbContext, p: SmbPath, mtimeMs: number): Promise<void> {
  const command = `utimes ${quoted(p.remote)} -1 -1 ${utimesStamp(mtimeMs)} -1`;
  const [lines = []] = await runScript(context, [command], p.path, `setAttributes ${p.path}`);
  const failure = commandFailure(lines, p.path, `setAttributes ${p.path}`);
  if (failure) throw failure;
  if (lines.some((line) => /^Invalid date|^utimes /.test(line))) throw unreadable(p, lines);
}

/** Free bytes on the share's volume, or undefined when the server does not say. */
async function freeBytes(context: SmbContext, p: SmbPath): Promise<number | undefined> {
  // `ls` of a folder's own entry prints the volume's free space without listing its contents.
  const target = p.remote === '' ? '\\*' : p.remote;
  try {
    const [lines = []] = await runScript(context, [`ls ${quoted(target)}`], p.path, 'freeSpace');
    return parseFreeSpace(lines);
  } catch {
    return undefined;
  }
}

/**
 * Storage on the SMB share named by `options.url`. Each operation runs its own smbclient
 * session, so nothing is held between calls; close() ends operations still running.
 */
export function makeSmbStorage(options: SmbStorageOptions): Storage {
  const url = parseSmbUrl(
    options.url,
    options.domain === undefined ? {} : { domain: options.domain },
  );
  const context: SmbContext = {
    url,
    password: options.password,
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    location: formatSmbUrl(url),
    running: new Set(),
    state: { closed: false },
  };
  const resolve = (p: string) => resolveSmbPath(url, p);

  async function remove(file: string): Promise<void> {
    const p = resolve(file);
    await removeFile(context, p);
  }

  return {
    kind: 'smb',
    location: context.location,
    async stat(file) {
      return statPath(context, resolve(file));
    },
    async list(dir, listOptions = {}) {
      const p = resolve(dir);
      const entries = await listFolder(context, p, listOptions.recursive ?? true);
      return withTimes(context, p, entries);
    },
    read(file, readOptions) {
      return readSmbFile(context, resolve(file), readOptions);
    },
    async write(file) {
      const p = resolve(file);
      return openSmbWrite(context, p, parentOf(url, p), () => remove(file));
    },
    async rename(from, to, renameOptions = {}) {
      await renamePath(context, resolve(from), resolve(to), renameOptions.overwrite ?? false);
    },
    remove,
    async removeEmptyDir(dir) {
      return removeEmptyFolder(context, resolve(dir));
    },
    async setAttributes(file, attributes) {
      // SMB keeps no POSIX permission bits (without the POSIX extensions); only the time applies.
      if (attributes.mtimeMs !== undefined)
        await setMtime(context, resolve(file), attributes.mtimeMs);
    },
    async freeSpace(dir) {
      return freeBytes(context, resolve(dir));
    },
    async close() {
      context.state.closed = true;
      const running = [...context.running];
      for (const r of running) r.kill();
      await Promise.all(running.map((r) => r.finished));
    },
  };
}
