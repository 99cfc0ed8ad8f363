/**
 * Pipeline runs with real processes (issue 10, item 8): a `ferry start` killed with SIGKILL in
 * the middle of a run, then a new process that finishes the work; and two `ferry start`
 * processes on one PostgreSQL running the same pipeline. In both, every file is submitted
 * exactly once and runs of the pipeline never overlap. The fake downstream services run in
 * this process, so the test sees every call either node makes.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startFakeDownstream, type FakeDownstream } from './helpers/pipeline-fakes.ts';
import { runNode, until } from './helpers/process.ts';
import { useProcesses } from './helpers/processes.ts';
import { freshDatabase, storeKinds, tempDir } from './helpers/stores.ts';

const cli = 'src/cli/main.ts';
const { children, cleanups } = useProcesses();

interface RunJson {
  run_id: string;
  status: string;
  started_at: string;
  finished_at: string | null;
}
interface FileJson {
  path: string;
  status: string;
  archived: boolean;
}

/** One pipeline `main` over `<volume>/in`, its fakes, and the environment of a node. */
async function pipelineWorld(kind: string) {
  const volume = tempDir('ferry-pipe-');
  cleanups.push(volume.remove);
  const fakes: FakeDownstream = await startFakeDownstream();
  cleanups.push(() => fakes.close());
  const database = kind === 'postgres' ? await freshDatabase() : undefined;
  if (database) cleanups.push(database.drop);
  const inbox = path.join(volume.dir, 'in', 'acme');
  mkdirSync(inbox, { recursive: true });
  const config = path.join(volume.dir, 'ferry.config.json');
  writeFileSync(
    config,
    JSON.stringify({
      pipelines: [
        {
          name: 'main',
          source: path.join(volume.dir, 'in'),
          archive: path.join(volume.dir, 'archive'),
          stability: { min_age_seconds: 0 },
          batch_size: 1,
          // A dead node's run may be followed within seconds, not the default minute.
          lease_seconds: 2,
          extractor: { url: `${fakes.extractor.url}/main/extract/{remitter}`, timeout_ms: 30000 },
          submitter: { url: `${fakes.submitter.url}/main/submit`, retries: 0 },
          notifier: { url: `${fakes.notifier.url}/main/notify`, retries: 0 },
        },
      ],
    }),
  );
  let serial = 0;
  return {
    fakes,
    /** Writes `count` new documents into the drop folder. */
    put(count: number) {
      for (let i = 0; i < count; i++) {
        serial += 1;
        writeFileSync(path.join(inbox, `doc-${String(serial)}.pdf`), `document ${String(serial)}`);
      }
    },
    /** Starts `ferry start` on this world's store (`data`: its data dir, kept across restarts). */
    async start(data: string) {
      const child = runNode(cli, ['start'], {
        FERRY_CONFIG: config,
        FERRY_DATA_DIR: data,
        FERRY_DATABASE_URL: database?.url ?? '',
        FERRY_HTTP_PORT: '0',
        FERRY_VOLUMES: volume.dir,
        FERRY_AUTH_ANONYMOUS: 'loopback',
      });
      children.push(child);
      const [, url = ''] = await child.waitFor(/listening on (http:\/\/\S+)/, 60_000);
      return { child, url };
    },
  };
}

function dataDir(): string {
  const data = tempDir();
  cleanups.push(data.remove);
  return data.dir;
}

async function getJson<T>(url: string): Promise<T> {
  return (await (await fetch(url)).json()) as T;
}

/** Asks `url` for a run: its answer, or `busy` when another run holds the pipeline's lease. */
async function run(url: string): Promise<RunJson | 'busy'> {
  const res = await fetch(`${url}/api/v1/pipelines/main/runs`, { method: 'POST' });
  const body = (await res.json()) as RunJson & { code?: string };
  if (res.status === 409 && body.code === 'FERRY_ERR_PIPELINE_BUSY') return 'busy';
  if (res.status !== 200) throw new Error(`run answered ${String(res.status)}`);
  return body;
}

/** Every run, once none is running or archiving any more. */
async function settledRuns(url: string): Promise<RunJson[]> {
  return until(async () => {
    const runs = await getJson<{ items: RunJson[] }>(`${url}/api/v1/pipelines/main/runs?limit=100`);
    if (!Array.isArray(runs.items)) throw new Error(JSON.stringify(runs));
    return runs.items.every((r) => r.status === 'completed' || r.status === 'failed')
      ? runs.items
      : undefined;
  }, 'every run to finish');
}

/** Each file submitted once: one submitter call per file, each with its own reference. */
function expectEachSubmittedOnce(fakes: FakeDownstream, files: number): void {
  const refs = fakes.submitter.calls.map((call) => {
    const body = call.body as { instructions: { sourceUniqueRef: string }[] };
    const ref = body.instructions[0]?.sourceUniqueRef ?? '';
    return ref.slice(0, ref.lastIndexOf(':')); // `<pipeline>:<content hash>`, without the row index
  });
  expect(refs).toHaveLength(files);
  expect(new Set(refs).size).toBe(files);
}

async function expectAllArchived(url: string, files: number): Promise<void> {
  const listed = await getJson<{ items: FileJson[] }>(`${url}/api/v1/pipelines/main/files`);
  expect(listed.items).toHaveLength(files);
  for (const file of listed.items) expect(file, file.path).toMatchObject({ status: 'success' });
  const archived = await getJson<{ total: number }>(
    `${url}/api/v1/pipelines/main/files?status=archive_succeeded`,
  );
  expect(archived.total).toBe(files);
}

/** Runs ordered by start never overlap: each ends before the next begins. */
function expectNoOverlap(runs: readonly RunJson[]): void {
  const ordered = [...runs].sort((a, b) => Date.parse(a.started_at) - Date.parse(b.started_at));
  for (let i = 1; i < ordered.length; i++) {
    const before = ordered[i - 1];
    const after = ordered[i];
    if (!before || !after) continue;
    expect(before.finished_at, `run ${before.run_id}`).not.toBeNull();
    expect(
      Date.parse(before.finished_at ?? ''),
      `${before.run_id} → ${after.run_id}`,
    ).toBeLessThanOrEqual(Date.parse(after.started_at));
  }
}

/** Holds the extractor's `nth` call until `release()`; `reached` says it arrived. */
function holdExtractorCall(fakes: FakeDownstream, nth: number) {
  let release: () => void = () => undefined;
  let arrived: (name: string) => void = () => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  const reached = new Promise<string>((resolve) => (arrived = resolve));
  let seen = 0;
  fakes.extractor.onCall = async (call) => {
    seen += 1;
    if (seen !== nth) return;
    arrived(Object.values(call.files)[0]?.name ?? '');
    await held;
  };
  cleanups.push(() => {
    release();
  });
  return {
    reached,
    release: () => {
      release();
    },
  };
}

describe.each(storeKinds)('pipeline runs as real processes on %s', (kind) => {
  it('SIGKILL mid-run, then a new process: the work finishes, each file submitted once', async () => {
    const w = await pipelineWorld(kind);
    w.put(5);
    const data = dataDir();
    const first = await w.start(data);
    const hold = holdExtractorCall(w.fakes, 3);
    const crashed = run(first.url).catch(() => 'killed' as const);
    const heldFile = await hold.reached;
    // Two files are submitted, the third is at the extractor: kill the process there.
    expect(w.fakes.submitter.calls).toHaveLength(2);
    first.child.proc.kill('SIGKILL');
    await first.child.exited;
    expect(await crashed).toBe('killed');
    hold.release();

    const second = await w.start(data);
    // The dead run's lease runs out (lease_seconds: 2); until then a run is refused as busy.
    const resumed = await until(async () => {
      const answer = await run(second.url);
      return answer === 'busy' ? undefined : answer;
    }, 'a run after the restart');
    const runs = await settledRuns(second.url);
    const byId = new Map(runs.map((r) => [r.run_id, r.status]));
    expect(byId.get(resumed.run_id)).toBe('completed');
    // The killed run is marked failed by the next one (its finished_at is when it was found dead).
    expect([...byId.values()].sort()).toEqual(['completed', 'failed']);
    expectEachSubmittedOnce(w.fakes, 5);
    await expectAllArchived(second.url, 5);
    // Only the file at the extractor when the process died was extracted again.
    const extracted = w.fakes.extractor.calls.map((c) => Object.values(c.files)[0]?.name);
    expect(extracted).toHaveLength(6);
    expect(extracted.filter((name) => name === heldFile)).toHaveLength(2);
    expect(new Set(extracted).size).toBe(5);
  });

  it.runIf(kind === 'postgres')(
    'two processes on one PostgreSQL: runs of one pipeline never overlap, each file submitted once',
    async () => {
      const w = await pipelineWorld(kind);
      w.put(3);
      const [a, b] = await Promise.all([w.start(dataDir()), w.start(dataDir())]);
      // While a run on one node is held at the extractor, the other node refuses a second one.
      const hold = holdExtractorCall(w.fakes, 1);
      const firstRun = run(a.url);
      await hold.reached;
      expect(await run(b.url)).toBe('busy');
      hold.release();
      expect(await firstRun).not.toBe('busy');

      // Then both nodes are asked at once, round after round, as new files arrive. A run holds
      // the lease until its archive step is done, so each round starts once the last settled.
      for (let round = 0; round < 4; round++) {
        await settledRuns(a.url);
        w.put(1);
        const answers = await Promise.all([run(a.url), run(b.url)]);
        expect(
          answers.some((x) => x !== 'busy'),
          `round ${String(round)}`,
        ).toBe(true);
      }
      const runs = await settledRuns(a.url);
      for (const r of runs) expect(r.status, r.run_id).toBe('completed');
      expectNoOverlap(runs);
      expectEachSubmittedOnce(w.fakes, 7);
      await expectAllArchived(b.url, 7);
    },
  );
});
