/**
 * A fresh PGlite data directory takes seconds to create (initdb in WebAssembly). `npm install`
 * prepares one empty, initialized directory as a tarball in node_modules/.cache/ferry; a new data
 * dir is then unpacked from it in about a second. Without the template Ferry runs initdb as usual.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';

function pglitePackageDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.resolve('@electric-sql/pglite')));
  while (!existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return dir;
}

/** Where the template for the installed PGlite version lives (one per version). */
export function templatePath(): string {
  const packageDir = pglitePackageDir();
  const { version } = JSON.parse(readFileSync(path.join(packageDir, 'package.json'), 'utf8')) as {
    version: string;
  };
  // packageDir is node_modules/@electric-sql/pglite; the cache sits in node_modules/.cache.
  return path.join(packageDir, '..', '..', '.cache', 'ferry', `pglite-${version}.tar.gz`);
}

/** The template as a Blob for PGlite's `loadDataDir`, or undefined when none was prepared. */
export function readTemplate(): Blob | undefined {
  const file = templatePath();
  return existsSync(file) ? new Blob([readFileSync(file)]) : undefined;
}

/** Creates the template (idempotent); written to a temp name and renamed, so never half-written. */
export async function prepareTemplate(): Promise<string> {
  const file = templatePath();
  if (existsSync(file)) return file;
  const pglite = await PGlite.create();
  try {
    const dump = await pglite.dumpDataDir('gzip');
    mkdirSync(path.dirname(file), { recursive: true });
    const temp = `${file}.${process.pid}.tmp`;
    writeFileSync(temp, Buffer.from(await dump.arrayBuffer()));
    renameSync(temp, file);
    return file;
  } finally {
    await pglite.close();
  }
}
