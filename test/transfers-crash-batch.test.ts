/**
 * Crash safety of batched delivery with real processes: a folder of 1,000 small files is
 * delivered a batch at a time (deliver-batch.ts); the node is SIGKILLed while a batch is in
 * flight (files under temp names, others already final), then restarted. In copy and in move
 * mode: every file ends verified exactly once (one row, one completion line), nothing is left
 * under a temp name, and no source was ever deleted without its verified copy in place.
 */
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runNode, until } from './helpers/process.ts';
import { useProcesses } from './helpers/processes.ts';
import { api, crashNodeEnv, restartUntilEnded } from './helpers/crash-node.ts';
import { storeKinds, tempDir } from './helpers/stores.ts';
import { sha256File, writeRandom } from './helpers/transfers.ts';

const { children, cleanups } = useProcesses();
const fileCount = 1000;
const folders = 4;

/** Every file under `dir`, relative to it. */
function walk(dir: string, prefix = ''): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? walk(path.join(dir, e.name), path.join(prefix, e.name))
      : [path.join(prefix, e.name)],
  );
}

const isTemp = (name: string) => name.endsWith('.part');

interface FilesJson {
  total: number;
  items: { file_path: string; checksum_match: boolean | null; verified_at: string | null }[];
}

interface LogsJson {
  items: { event: string; message: string }[];
}

describe.each(storeKinds)('batched delivery crash safety on %s', (kind) => {
  it.each(['copy', 'move'] as const)(
    'SIGKILL mid-batch of %s, restart: each file verified once, no temp left, no source lost',
    { timeout: 180_000 },
    async (mode) => {
      const volume = tempDir('ferry-crash-batch-');
      cleanups.push(volume.remove);
      const src = path.join(volume.dir, 'src');
      const dst = path.join(volume.dir, 'dst');
      const sums = new Map<string, string>();
      for (let i = 0; i < fileCount; i++) {
        const relative = path.join(`d${i % folders}`, `f${String(i).padStart(4, '0')}.bin`);
        sums.set(relative, writeRandom(path.join(src, relative), 8 * 1024 + i));
      }
      mkdirSync(dst);
      const env = await crashNodeEnv(kind, volume.dir, cleanups);
      // Reads pause after every chunk: a batch takes seconds, so the kill lands inside one.
      const slow = runNode('test/fixtures/slow-transfer-node.ts', [], env);
      children.push(slow);
      const [, url] = await slow.waitFor(/listening on (http:\/\/\S+)/, 60_000);
      const transfer = await api<{ id: number }>(`${url}/api/v1/transfers`, 'POST', {
        source_path: src,
        destination_path: dst,
        operation_mode: mode,
      });

      // Some files final, a batch in flight (its copies under temp names).
      await until(() => {
        const names = walk(dst);
        const final = names.filter((n) => !isTemp(path.basename(n)));
        return final.length >= 80 && names.some((n) => isTemp(path.basename(n))) ? true : undefined;
      }, 'a batch in flight after the first ones');
      slow.proc.kill('SIGKILL');
      await slow.exited;

      const atKill = new Set(walk(dst));
      const delivered = [...atKill].filter((n) => !isTemp(path.basename(n)));
      expect(delivered.length).toBeLessThan(fileCount);
      // No source deleted without its verified copy at its final name.
      for (const [relative, sum] of sums) {
        if (existsSync(path.join(src, relative))) continue;
        expect(mode).toBe('move');
        expect(atKill.has(relative)).toBe(true);
        expect(sha256File(path.join(dst, relative))).toBe(sum);
      }
      // Every file at a final name is whole.
      for (const relative of delivered)
        expect(sha256File(path.join(dst, relative))).toBe(sums.get(relative));

      const {
        node: again,
        url: url2,
        ended: done,
      } = await restartUntilEnded(env, children, transfer.id);
      expect(done).toMatchObject({ status: 'completed', error_message: null });

      // Every file at its final name, whole; nothing under a temp name.
      expect(walk(dst).sort()).toEqual([...sums.keys()].sort());
      for (const [relative, sum] of sums) expect(sha256File(path.join(dst, relative))).toBe(sum);
      // Copy keeps every source; move removed every one (and the folders left empty).
      if (mode === 'copy') expect(walk(src).length).toBe(fileCount);
      else expect(walk(src)).toEqual([]);

      // Verified exactly once: one row per file, matched, and one completion line per file.
      const files = await api<FilesJson>(
        `${url2}/api/v1/transfers/${transfer.id}/checksums?limit=1000`,
      );
      expect(files.total).toBe(fileCount);
      expect(new Set(files.items.map((f) => f.file_path)).size).toBe(fileCount);
      expect(files.items.every((f) => f.checksum_match === true && f.verified_at)).toBe(true);
      const logs = await api<LogsJson>(`${url2}/api/v1/transfers/${transfer.id}/logs`);
      const ends = logs.items.filter((l) => ['file.completed', 'file.recovered'].includes(l.event));
      const ended = ends.map((l) => l.message.split(' ')[0] ?? '');
      expect(ended.length).toBe(fileCount);
      expect(new Set(ended)).toEqual(new Set(sums.keys()));
      expect(logs.items.filter((l) => l.event === 'file.failed')).toEqual([]);
      again.proc.kill('SIGTERM');
      expect(await again.exited).toBe(0);
    },
  );
});
