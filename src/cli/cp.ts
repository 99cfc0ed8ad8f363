/**
 * `ferry cp <src> <dst> [--move] [--algo A] [--conflict P]`: a one-off verified transfer in this
 * process, no server needed. The same engine as the server (copyFile), with a progress bar.
 */
import path from 'node:path';
import { errorCodes, isFerryError } from '../errors/index.ts';
import { makeNameFilter, scanSource } from '../intake/index.ts';
import { makeLocalStorage } from '../storage/index.ts';
import {
  checksumAlgorithms,
  conflictPolicies,
  copyFile,
  type ChecksumAlgorithm,
  type ConflictPolicy,
} from '../transfers/index.ts';

const conflicts: readonly ConflictPolicy[] = conflictPolicies;

export interface CpOptions {
  move: boolean;
  algorithm: string | undefined;
  conflict: string | undefined;
  /** Where progress goes; a TTY gets a redrawn bar, anything else a line every few seconds. */
  out: NodeJS.WriteStream;
}

function human(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit] ?? 'B'}`;
}

/** Draws progress: bar, percent, rate and ETA. */
function makeBar(out: NodeJS.WriteStream, total: number) {
  const started = Date.now();
  let lastLine = 0;
  return function draw(done: number, final = false): void {
    const seconds = Math.max((Date.now() - started) / 1000, 0.001);
    const rate = done / seconds;
    const percent = total > 0 ? (done / total) * 100 : 100;
    const eta = rate > 0 ? Math.ceil((total - done) / rate) : 0;
    const width = 30;
    const filled = Math.round((percent / 100) * width);
    const text = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${percent.toFixed(1)}% ${human(done)}/${human(total)} ${human(rate)}/s ETA ${eta}s`;
    if (out.isTTY) out.write(`\r${text}${final ? '\n' : ''}`);
    else if (final || Date.now() - lastLine > 5000) {
      lastLine = Date.now();
      out.write(`${text}\n`);
    }
  };
}

function choose<T extends string>(
  value: string | undefined,
  allowed: readonly T[],
  flag: string,
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new Error(`${flag} must be one of ${allowed.join(', ')}; got '${value}'`);
}

/** Runs the copy; resolves with the exit code. */
export async function runCp(src: string, dst: string, options: CpOptions): Promise<number> {
  const algorithm = choose<ChecksumAlgorithm>(
    options.algorithm,
    checksumAlgorithms,
    '--algo',
    'xxh128',
  );
  const conflict = choose<ConflictPolicy>(options.conflict, conflicts, '--conflict', 'fail');
  const storage = makeLocalStorage();
  const from = path.resolve(src);
  const info = await storage.stat(from);
  if (!info) {
    console.error(`ferry cp: source does not exist: ${src}`);
    return 1;
  }
  const target = path.resolve(dst);
  const targetInfo = await storage.stat(target);
  const intoFolder = targetInfo?.kind === 'directory' || dst.endsWith('/');
  const root = intoFolder ? path.join(target, path.basename(from)) : target;
  const files =
    info.kind === 'file'
      ? [{ from, to: root, size: info.size }]
      : (await scanSource(storage, from, makeNameFilter({ temp: [] }))).files.map((f) => ({
          from: f.path,
          to: path.join(root, f.relative),
          size: f.size,
        }));
  if (root === from || root.startsWith(`${from}/`)) {
    console.error(`ferry cp: the destination ${root} is the source or inside it`);
    return 1;
  }
  const total = files.reduce((sum, f) => sum + f.size, 0);
  const draw = makeBar(options.out, total);
  let done = 0;
  let failed = 0;
  for (const file of files) {
    try {
      const result = await copyFile({
        source: storage,
        from: file.from,
        destination: storage,
        to: file.to,
        algorithm,
        conflict,
        tempTag: `cp${process.pid}`,
        onProgress: (bytes) => {
          draw(done + bytes);
        },
      });
      if (options.move) await storage.remove(file.from);
      done += file.size;
      if (files.length === 1) {
        draw(done, true);
        console.log(
          `${result.outcome === 'copied' ? 'verified' : 'identical, skipped'} ${result.finalPath} ${algorithm}:${result.destinationChecksum}`,
        );
      }
    } catch (error) {
      failed += 1;
      done += file.size;
      const message = isFerryError(error)
        ? `${error.message}\n  fix: ${errorCodes[error.code].fix}`
        : String(error);
      console.error(`\nferry cp: ${file.from}: ${message}`);
    }
  }
  if (files.length !== 1) {
    draw(done, true);
    console.log(
      `${files.length - failed} of ${files.length} files verified at ${root} (${algorithm})`,
    );
  }
  if (options.move && info.kind === 'directory' && failed === 0) {
    // Only emptied folders go, deepest first; a file that failed keeps its folder.
    const dirs = [...new Set(files.map((f) => path.dirname(f.from)))].sort(
      (a, b) => b.length - a.length,
    );
    for (const dir of dirs) {
      for (let d = dir; d.startsWith(from) && d !== path.dirname(from); d = path.dirname(d)) {
        if (!(await storage.removeEmptyDir(d))) break;
      }
    }
  }
  return failed === 0 ? 0 : 1;
}
