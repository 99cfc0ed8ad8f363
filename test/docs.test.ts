/**
 * docs/architecture.md against the code: every folder under src/ has its line in the folder list,
 * so adding a folder without documenting it fails here (as the error and config tables do).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './helpers/process.ts';

/** Top-level folders the architecture's `src/` block lists (`  name/   description`). */
function documentedFolders(): string[] {
  const doc = readFileSync(path.join(repoRoot, 'docs', 'architecture.md'), 'utf8');
  const block = /```text\nsrc\/\n([\s\S]*?)\n[a-z]+\/ /.exec(doc)?.[1] ?? '';
  return [...block.matchAll(/^ {2}([a-z][a-z0-9-]*)\/ /gm)].map((m) => m[1] ?? '');
}

describe('docs/architecture.md', () => {
  it('lists every folder under src/', () => {
    const folders = readdirSync(path.join(repoRoot, 'src'), { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
    const documented = documentedFolders();
    expect(documented.length).toBeGreaterThan(10);
    expect(folders.filter((f) => !documented.includes(f))).toEqual([]);
  });
});
