/**
 * The first half of a run: scan the source, drop temp names, group versions per remitter and
 * keep the newest, then keep only the stable ones. Older versions become archive candidates;
 * unstable files are left alone (no ledger row, no call, no move).
 */
import {
  groupVersions,
  isOldEnough,
  sampleStable,
  scanSource,
  type SourceFile,
} from '../intake/index.ts';
import type { Storage } from '../storage/index.ts';
import type { RunContext } from './context.ts';

/** A file the run will try to claim. */
export interface Candidate extends SourceFile {
  /** The first folder level under the source root: the partner who sent it. */
  readonly remitter: string;
  /** Path inside the remitter folder with the version suffix stripped (the claim's base name). */
  readonly baseName: string;
}

/** What a run will process and archive. */
export interface RunPlan {
  candidates: Candidate[];
  older: SourceFile[];
}

/** Files checked for stability at once when sampling (each sleeps between readings). */
const sampleConcurrency = 32;

async function stableOnly(ctx: RunContext, storage: Storage, files: Candidate[]) {
  const policy = ctx.parts.settings.config.stability;
  if (policy.samples === undefined) {
    const now = ctx.deps.now();
    const minAge = policy.min_age_seconds ?? 0;
    return files.map((f) => (isOldEnough(f, now, minAge) ? f : undefined));
  }
  const samples = { count: policy.samples.count, intervalMs: policy.samples.interval_ms };
  const out: (Candidate | undefined)[] = [];
  for (let i = 0; i < files.length; i += sampleConcurrency) {
    const batch = files.slice(i, i + sampleConcurrency);
    const readings = await Promise.all(
      batch.map((f) => sampleStable((p) => storage.stat(p), f, samples, ctx.deps.sleep)),
    );
    out.push(...batch.map((f, j) => (readings[j] ? f : undefined)));
  }
  return out;
}

/** Scans the source and decides what this run processes. Throws when the source is unreachable. */
export async function planRun(ctx: RunContext, storage: Storage): Promise<RunPlan> {
  const { settings } = ctx.parts;
  const scan = await scanSource(storage, settings.source.root, settings.filter);
  ctx.summary.scanned = scan.files.length + scan.tempIgnored;
  ctx.summary.temp_ignored = scan.tempIgnored;
  ctx.step('scan', 'listed', { files: scan.files.length, temp_ignored: scan.tempIgnored });
  const inFolders = scan.files.filter((f) => {
    if (f.relative.includes('/')) return true;
    // Only the first folder level names a remitter; a file beside the folders has none.
    ctx.step('scan', 'no_remitter', { file: f.relative });
    return false;
  });
  const groups = groupVersions(inFolders, settings.versionPatterns);
  const older = groups.flatMap((g) => g.older);
  ctx.summary.older_versions = older.length;
  for (const file of older) {
    ctx.step('version', 'older_version', {
      remitter: remitterOf(file.relative),
      file: file.relative,
    });
  }
  const newest = groups.map((g): Candidate => {
    const remitter = remitterOf(g.key);
    return { ...g.newest, remitter, baseName: g.key.slice(remitter.length + 1) };
  });
  const verdicts = await stableOnly(ctx, storage, newest);
  const candidates: Candidate[] = [];
  newest.forEach((file, i) => {
    if (verdicts[i]) return void candidates.push(file);
    ctx.summary.unstable += 1;
    ctx.step('stability', 'unstable', { remitter: file.remitter, file: file.relative });
    ctx.deps.bus.emit('run:file', {
      pipeline: ctx.parts.settings.name,
      runId: ctx.runId,
      file: file.relative,
      remitter: file.remitter,
      status: 'unstable',
    });
  });
  return { candidates, older };
}

function remitterOf(relative: string): string {
  return relative.slice(0, relative.indexOf('/'));
}
