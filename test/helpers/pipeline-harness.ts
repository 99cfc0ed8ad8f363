/**
 * A Ferry with intake pipelines against fake downstream services, for one store kind and one
 * kind of source (a local folder, or a folder behind an SMB share). Tests write files into the
 * source folder, run pipelines over HTTP (`inject`), and wait for each run's archive step
 * through the `run:completed` domain event, never a sleep.
 */
import { chownSync, mkdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { makeFerry, type Ferry } from '../../src/app/index.ts';
import { loadConfig } from '../../src/config/index.ts';
import type { PipelineInput } from '../../src/config/pipeline-schema.ts';
import type { StoreKind } from '../../src/db/index.ts';
import type { RunOutcome, SmbOpener } from '../../src/pipelines/index.ts';
import { startFakeDownstream, type FakeDownstream } from './pipeline-fakes.ts';
import { tempDir, testEnv, type TestEnv } from './stores.ts';

/** Where the pipelines' files live: the test writes to `dir`, Ferry reads through `source`. */
export interface SourceSpec {
  /** Local folder that holds the files (the share's folder for SMB). */
  dir: string;
  /** How a pipeline names `<dir>/<folder>`: a local path or an smb:// URL. */
  source(folder: string): string;
  /** How a pipeline names the archive `<dir>/<folder>`. */
  archive(folder: string): string;
  /** Secret for an SMB source. */
  password?: string;
  openSmb?: SmbOpener;
  /** Owner of what the test writes (the SMB user must be able to move and delete it). */
  owner?: { uid: number; gid: number };
}

/** The fake clock runs an hour ahead, so a file written now is old enough unless `recent`. */
export const clockAheadMs = 3_600_000;

export interface PipelineHarness {
  ferry: Ferry;
  app: FastifyInstance;
  fakes: FakeDownstream;
  env: TestEnv;
  /** JSON log lines Ferry wrote. */
  logs: Record<string, unknown>[];
  /** Called by every injected sleep (sample intervals, retry backoff) before it resolves. */
  onSleep: ((ms: number) => Promise<void> | void) | undefined;
  /** Writes a file under `<dir>/<folder>/`; `recent` makes its mtime "now" on the fake clock. */
  put(folder: string, relative: string, content: string, options?: { recent?: boolean }): void;
  /** Absolute path of a file in the test's folder tree. */
  at(...parts: string[]): string;
  /** POSTs a run; resolves with the answer (status and JSON) and when archiving is done. */
  run(
    pipeline?: string,
  ): Promise<{ status: number; body: RunOutcome & { code?: string }; settled: Promise<void> }>;
  /** Resolves when run `runId` finished archiving (its `run:completed` event). */
  settled(runId: string): Promise<void>;
  /** Runs and waits for the archive step. */
  runSettled(pipeline?: string): Promise<RunOutcome>;
  get(url: string): Promise<{ status: number; body: unknown }>;
  /** Clears fake calls and modes, logs and hooks between tests. */
  reset(): void;
  /** Empties the pipelines' folders (the ledger keeps its rows). */
  clear(): void;
  close(): Promise<void>;
}

/** The pipeline config every suite uses; `main` is the default. */
function pipelinesFor(
  spec: SourceSpec,
  fakes: FakeDownstream,
  secretFile: string,
): PipelineInput[] {
  // `sampled` fetches its extractor token from an OAuth2 endpoint; the others use a static one.
  const extractorAuth = (prefix: string) =>
    prefix === 'sampled'
      ? {
          type: 'oauth2' as const,
          token_url: `${fakes.extractor.url}/token`,
          client_id: 'ferry-extract',
          client_secret: 'inline-secret',
        }
      : { type: 'bearer' as const, token: 'env:TEST_EXTRACTOR_TOKEN' };
  const connectors = (prefix: string) => ({
    extractor: {
      url: `${fakes.extractor.url}/${prefix}/extract/{remitter}`,
      timeout_ms: 1500,
      form: { client: '{remitter}', document: '{file_name}' },
      auth: extractorAuth(prefix),
    },
    submitter: {
      // From the environment, as a deployment points a pipeline at another service.
      url: `env:TEST_SUBMIT_URL_${prefix.toUpperCase()}`,
      timeout_ms: 1500,
      retries: 2,
      retry_delay_ms: 1,
      headers: { 'x-tenant': 'ferry-test' },
      fields: { channel: 'ferry' },
      auth: {
        type: 'oauth2' as const,
        token_url: `${fakes.submitter.url}/token`,
        client_id: 'ferry',
        client_secret: `file:${secretFile}`,
        scope: 'instructions',
      },
    },
    notifier: { url: `${fakes.notifier.url}/${prefix}/notify`, timeout_ms: 1500, retries: 0 },
  });
  const smb = spec.password === undefined ? {} : { source_password: spec.password };
  return [
    {
      name: 'main',
      default: true,
      source: spec.source('in'),
      archive: spec.archive('archive'),
      ...smb,
      batch_size: 1,
      stability: { min_age_seconds: 60 },
      ...connectors('main'),
    },
    {
      name: 'sampled',
      source: spec.source('sampled'),
      archive: spec.archive('sampled-archive'),
      ...smb,
      stability: { samples: { count: 3, interval_ms: 5 } },
      ...connectors('sampled'),
    },
    {
      name: 'scheduled',
      source: spec.source('scheduled'),
      archive: spec.archive('scheduled-archive'),
      ...smb,
      schedule: '0 0 1 1 *',
      // Reports the coordinator's status names (itm_failed).
      status_names: 'coordinator',
      ...connectors('scheduled'),
    },
  ];
}

/** The config file and variables of a harness: the pipelines go through the real loader. */
function configFor(env: TestEnv, spec: SourceSpec, fakes: FakeDownstream) {
  const secretFile = path.join(env.dataDir, 'submitter-secret');
  writeFileSync(secretFile, 'shh\n');
  writeFileSync(
    path.join(env.dataDir, 'ferry.config.json'),
    JSON.stringify({ pipelines: pipelinesFor(spec, fakes, secretFile) }),
  );
  const vars = {
    FERRY_DATA_DIR: env.dataDir,
    FERRY_HTTP_PORT: '0',
    FERRY_DATABASE_URL: env.databaseUrl,
    FERRY_AUTH_ANONYMOUS: 'loopback',
    TEST_EXTRACTOR_TOKEN: 'static-extractor-token',
    ...Object.fromEntries(
      ['main', 'sampled', 'scheduled'].map((p) => [
        `TEST_SUBMIT_URL_${p.toUpperCase()}`,
        `${fakes.submitter.url}/${p}/submit`,
      ]),
    ),
  };
  return { config: loadConfig({ cwd: env.dataDir, env: vars }), vars };
}

/** A pino logger whose JSON lines land in `logs`. */
function memoryLogger() {
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim() !== '') logs.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
  return { logger: pino({ level: 'info' }, sink), logs };
}

/** Remembers every finished run from the start, so a test can wait even after it finished. */
function completions(ferry: Ferry): (runId: string) => Promise<void> {
  const completed = new Set<string>();
  const waiting = new Map<string, () => void>();
  ferry.bus.on('run:completed', (e) => {
    completed.add(e.runId);
    waiting.get(e.runId)?.();
  });
  return function settled(runId) {
    if (completed.has(runId)) return Promise.resolve();
    return new Promise((resolve) => waiting.set(runId, resolve));
  };
}

/** Starts fakes and a Ferry with pipelines reading from `spec`. */
export async function startPipelineHarness(
  kind: StoreKind,
  spec: SourceSpec,
): Promise<PipelineHarness> {
  const env = await testEnv(kind);
  const fakes = await startFakeDownstream();
  clearFolders(spec.dir, spec.owner);
  const { config, vars } = configFor(env, spec, fakes);
  const { logger, logs } = memoryLogger();
  const harness = {} as PipelineHarness;
  const ferry = makeFerry(config, {
    logger,
    pipelines: {
      env: vars,
      now: () => Date.now() + clockAheadMs,
      sleep: async (ms) => {
        await harness.onSleep?.(ms);
      },
      ...(spec.openSmb ? { openSmb: spec.openSmb } : {}),
    },
  });
  const settled = completions(ferry);
  await ferry.start();
  const app = ferry.http;
  if (!app) throw new Error('no http');

  return Object.assign(harness, {
    ferry,
    app,
    fakes,
    env,
    logs,
    onSleep: undefined,
    put(folder: string, relative: string, content: string, options: { recent?: boolean } = {}) {
      const file = path.join(spec.dir, folder, relative);
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, content);
      if (spec.owner) {
        // Everything below the share's folder belongs to the SMB user, like its own uploads.
        for (let p = file; p.startsWith(`${spec.dir}/`); p = path.dirname(p)) {
          chownSync(p, spec.owner.uid, spec.owner.gid);
        }
      }
      if (options.recent) {
        const t = (Date.now() + clockAheadMs) / 1000;
        utimesSync(file, t, t);
      }
    },
    at: (...parts: string[]) => path.join(spec.dir, ...parts),
    settled,
    async run(pipeline?: string) {
      const url =
        pipeline === undefined ? '/api/v1/coordinator/runs' : `/api/v1/pipelines/${pipeline}/runs`;
      const res = await app.inject({ method: 'POST', url, payload: {} });
      const body = res.json<RunOutcome & { code?: string }>();
      return {
        status: res.statusCode,
        body,
        settled: res.statusCode === 200 ? settled(body.run_id) : Promise.resolve(),
      };
    },
    async runSettled(pipeline?: string) {
      const { status, body, settled: done } = await harness.run(pipeline);
      if (status !== 200) throw new Error(`run answered ${status}: ${JSON.stringify(body)}`);
      await done;
      return body;
    },
    async get(url: string) {
      const res = await app.inject({ method: 'GET', url });
      return { status: res.statusCode, body: res.json<unknown>() };
    },
    reset() {
      fakes.extractor.reset();
      fakes.submitter.reset();
      fakes.notifier.reset();
      logs.length = 0;
      harness.onSleep = undefined;
    },
    clear() {
      clearFolders(spec.dir, spec.owner);
    },
    async close() {
      await ferry.stop();
      await fakes.close();
      await env.cleanup();
    },
  });
}

/** Empties the pipelines' folders between tests (the ledger keeps its rows). */
export function clearFolders(dir: string, owner?: { uid: number; gid: number }): void {
  for (const folder of [
    'in',
    'archive',
    'sampled',
    'sampled-archive',
    'scheduled',
    'scheduled-archive',
  ]) {
    rmSync(path.join(dir, folder), { recursive: true, force: true });
    mkdirSync(path.join(dir, folder), { recursive: true });
    if (owner) chownSync(path.join(dir, folder), owner.uid, owner.gid);
  }
}

/**
 * A harness on a local temp folder for one describe block: started before its tests, reset and
 * cleared before each, closed after. Returns an accessor, valid inside tests and hooks.
 */
export function useLocalPipelineHarness(kind: StoreKind, prefix: string): () => PipelineHarness {
  const folder = tempDir(prefix);
  let harness: PipelineHarness | undefined;
  beforeAll(async () => {
    harness = await startPipelineHarness(kind, {
      dir: folder.dir,
      source: (name) => `${folder.dir}/${name}`,
      archive: (name) => `${folder.dir}/${name}`,
    });
  });
  afterAll(async () => {
    await harness?.close();
    folder.remove();
  });
  beforeEach(() => {
    harness?.reset();
    harness?.clear();
  });
  return function current() {
    if (!harness) throw new Error('the pipeline harness is available inside tests only');
    return harness;
  };
}
