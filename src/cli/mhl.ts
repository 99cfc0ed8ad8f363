/**
 * `ferry mhl create|verify|info <folder>`: ASC MHL histories on any local folder, in this
 * process (no server). Exit codes: 0 all good, 1 a file failed or is missing, 2 bad usage.
 */
import path from 'node:path';
import {
  isWritableMhlFormat,
  loadHistory,
  sealFolder,
  verifyFolder,
  writableMhlFormats,
  type CheckedFile,
  type WritableMhlFormat,
} from '../mhl/index.ts';
import { makeLocalStorage } from '../storage/index.ts';

export interface MhlCliOptions {
  /** `--hash` values for create; xxh128 when none. */
  hashes: readonly string[];
  json: boolean;
  out: (line: string) => void;
}

function printFiles(
  files: readonly CheckedFile[],
  missing: readonly string[],
  out: MhlCliOptions['out'],
) {
  for (const file of files) {
    const detail = [...file.mismatches].map(
      ([f, v]) => `${f}: expected ${v}, got ${file.hashes.get(f) ?? '?'}`,
    );
    out(`${file.verdict.padEnd(9)} ${file.path}${detail.length ? `  (${detail.join('; ')})` : ''}`);
  }
  for (const p of missing) out(`missing   ${p}`);
}

async function create(root: string, options: MhlCliOptions): Promise<number> {
  const bad = options.hashes.filter((h) => !isWritableMhlFormat(h));
  if (bad.length > 0) {
    console.error(
      `ferry mhl: unknown --hash ${bad.join(', ')}; use ${writableMhlFormats.join(', ')}`,
    );
    return 2;
  }
  const formats = (options.hashes.length > 0 ? options.hashes : ['xxh128']) as WritableMhlFormat[];
  const storage = makeLocalStorage();
  const result = await sealFolder(storage, root, { formats, process: 'in-place' });
  if (options.json) options.out(JSON.stringify(result.written));
  else {
    printFiles(result.files, result.missing, options.out);
    options.out(`created ascmhl/${result.written.fileName}`);
  }
  for (const p of result.problems) console.error(`ferry mhl: ${p}`);
  return result.files.some((f) => f.verdict === 'failed') || result.missing.length > 0 ? 1 : 0;
}

async function verify(root: string, options: MhlCliOptions): Promise<number> {
  const result = await verifyFolder(makeLocalStorage(), root);
  if (!result.hasHistory) {
    console.error(`ferry mhl: ${root} has no ascmhl history`);
    return 1;
  }
  if (options.json)
    options.out(
      JSON.stringify(result, (_k, v: unknown): unknown =>
        v instanceof Map ? Object.fromEntries(v as Map<string, unknown>) : v,
      ),
    );
  else printFiles(result.files, result.missing, options.out);
  for (const p of result.problems) console.error(`ferry mhl: ${p}`);
  const bad = result.files.some((f) => f.verdict === 'failed') || result.missing.length > 0;
  return bad || result.problems.length > 0 ? 1 : 0;
}

async function info(root: string, options: MhlCliOptions): Promise<number> {
  const history = await loadHistory(makeLocalStorage(), root);
  if (!history) {
    console.error(`ferry mhl: ${root} has no ascmhl history`);
    return 1;
  }
  for (const g of history.generations) {
    const files = g.generation.entries.filter((e) => e.kind === 'file').length;
    const roots = (g.generation.root?.content ?? [])
      .map((h) => `${h.format} ${h.value}`)
      .join(', ');
    options.out(
      `${String(g.sequence).padStart(4, '0')}  ${g.generation.creationDate}  ${g.generation.tool.name} ${g.generation.tool.version}  ${g.generation.process}  ${files} files  root ${roots}`,
    );
  }
  for (const p of history.problems) console.error(`ferry mhl: ${p}`);
  return history.problems.length > 0 ? 1 : 0;
}

/** Runs one `ferry mhl` sub-command; returns the exit code. */
export async function runMhl(
  sub: string | undefined,
  folder: string | undefined,
  options: MhlCliOptions,
): Promise<number> {
  if (!folder || !sub || !['create', 'verify', 'info'].includes(sub)) return 2;
  const root = path.resolve(folder);
  const found = await makeLocalStorage().stat(root);
  if (found?.kind !== 'directory') {
    console.error(`ferry mhl: ${root} is not a folder`);
    return 1;
  }
  try {
    if (sub === 'create') return await create(root, options);
    return sub === 'verify' ? await verify(root, options) : await info(root, options);
  } catch (error) {
    // A file that cannot be read, a generation that is not XML: say what, without a stack.
    console.error(`ferry mhl: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}
