/**
 * The pipelines capability: builds each configured pipeline (settings, connectors, storage),
 * starts runs on demand or on a schedule, and serves the reads. Knows nothing about HTTP.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { PipelineInput } from '../config/pipeline-schema.ts';
import type { Db } from '../db/index.ts';
import { FerryError, isFerryError } from '../errors/index.ts';
import { fileHistory, type LedgerRow } from './claims.ts';
import { defineJob, type JobDefinition } from '../jobs/index.ts';
import type { Bus, FerryEvents } from '../bus/bus.ts';
import { makeLocalStorage, makeSmbStorage, type Storage } from '../storage/index.ts';
import { makeAuthorizer } from './connectors/auth.ts';
import { makeExtractor } from './connectors/extractor.ts';
import type { Fetch } from './connectors/http.ts';
import { makeNotifier } from './connectors/notifier.ts';
import { makeSubmitter } from './connectors/submitter.ts';
import type { PipelineParts, RunDeps } from './context.ts';
import { startRun, type RunRequest, type StartedRun } from './run.ts';
import { pipelineSettings, type SourceLocation } from './settings.ts';
import { ferryStatus, shownCounts, shownStatus, type StatusNames } from './status.ts';
import * as store from './store.ts';

/** Opens an SMB share (`smb://user@host:port/share`) with its password. */
export type SmbOpener = (shareUrl: string, password: string) => Promise<Storage>;

/** Everything the capability needs; clocks, fetch and storage openers are injectable. */
export interface PipelinesDeps {
  pipelines: readonly PipelineInput[];
  db: Db;
  bus: Bus<FerryEvents>;
  log: Logger;
  nodeId: string;
  /** Source of `env:NAME` secrets; `process.env` when omitted. */
  env?: Record<string, string | undefined>;
  fetch?: Fetch;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Opens SMB sources; smbclient-backed `makeSmbStorage` when omitted. */
  openSmb?: SmbOpener;
}

/** A pipeline as listed. */
export interface PipelineView {
  name: string;
  default: boolean;
  source: string;
  archive: string;
  schedule: string | null;
}

/** The pipelines capability. */
export interface Pipelines {
  list(): PipelineView[];
  /** Starts a run of `name` (the default pipeline when undefined). */
  run(name: string | undefined, request: RunRequest): Promise<StartedRun>;
  getRun(name: string, id: string): Promise<store.RunRecord>;
  listRuns(
    name: string,
    page: { limit: number; offset: number },
  ): ReturnType<typeof store.listRuns>;
  listFiles(
    name: string,
    filter: { status?: string; limit: number; offset: number },
  ): ReturnType<typeof store.listFiles>;
  fileHistory(name: string, id: number): Promise<{ file: store.FileView; items: LedgerRow[] }>;
  /** Scheduled runs (one job per pipeline with a `schedule`). */
  readonly definitions: readonly JobDefinition<never>[];
  /** Waits for runs still archiving (called on shutdown, before the store closes). */
  stop(): Promise<void>;
}

const smbStorage: SmbOpener = async (url, password) => makeSmbStorage({ url, password });

function opener(source: SourceLocation, openSmb: SmbOpener = smbStorage): () => Promise<Storage> {
  if (source.kind === 'local') return () => Promise.resolve(makeLocalStorage());
  return () => openSmb(source.shareUrl, source.password);
}

function buildParts(input: PipelineInput, deps: PipelinesDeps, run: RunDeps): PipelineParts {
  const settings = pipelineSettings(input, deps.env ?? process.env);
  const fetchFn = deps.fetch ?? ((url, init) => fetch(url, init));
  const authFor = (which: 'extractor' | 'submitter' | 'notifier') =>
    makeAuthorizer(settings.auth[which], {
      fetch: fetchFn,
      now: run.now,
      timeoutMs: settings.config[which].timeout_ms,
    });
  const { config } = settings;
  return {
    settings,
    extractor: makeExtractor(config.extractor, { fetch: fetchFn, auth: authFor('extractor') }),
    submitter: makeSubmitter(config.submitter, {
      fetch: fetchFn,
      auth: authFor('submitter'),
      sleep: run.sleep,
    }),
    notifier: makeNotifier(config.notifier, {
      fetch: fetchFn,
      auth: authFor('notifier'),
      sleep: run.sleep,
    }),
    openStorage: opener(settings.source, deps.openSmb),
  };
}

/** One cron job per pipeline with a `schedule`; a run already in progress makes it a no-op. */
function scheduledRuns(
  all: readonly PipelineParts[],
  run: Pipelines['run'],
): JobDefinition<never>[] {
  return all
    .filter((p) => p.settings.config.schedule !== undefined)
    .map((p) =>
      defineJob<object>({
        name: `pipelines.run.${p.settings.name}`,
        cron: p.settings.config.schedule,
        // A missed run is simply the next occurrence; the lease already prevents overlaps.
        policy: { queuePolicy: 'short', retryLimit: 0, expireSeconds: 6 * 3600, batchSize: 1 },
        async handler() {
          try {
            const started = await run(p.settings.name, { trigger: 'schedule' });
            await started.finished;
            return started.outcome;
          } catch (error) {
            if (isFerryError(error) && error.code === 'FERRY_ERR_PIPELINE_BUSY') {
              return { skipped: 'another run of this pipeline is in progress' };
            }
            throw error;
          }
        },
      }),
    );
}

/** Builds every configured pipeline; runs start on demand (`run`) or from `definitions`. */
export function makePipelines(deps: PipelinesDeps): Pipelines {
  const runDeps: RunDeps = {
    db: deps.db,
    bus: deps.bus,
    log: deps.log,
    nodeId: deps.nodeId,
    now: deps.now ?? Date.now,
    sleep: deps.sleep ?? ((ms) => delay(ms)),
  };
  const parts = new Map(deps.pipelines.map((p) => [p.name, buildParts(p, deps, runDeps)]));
  const inFlight = new Set<Promise<unknown>>();

  function partsOf(name: string | undefined): PipelineParts {
    const chosen =
      name ??
      [...parts.values()].find((p) => p.settings.config.default)?.settings.name ??
      [...parts.keys()][0];
    const found = chosen === undefined ? undefined : parts.get(chosen);
    if (!found) {
      throw name === undefined
        ? new FerryError('FERRY_ERR_PIPELINE_NONE')
        : new FerryError('FERRY_ERR_PIPELINE_NOT_FOUND', { pipeline: name });
    }
    return found;
  }

  async function run(name: string | undefined, request: RunRequest): Promise<StartedRun> {
    const chosen = partsOf(name);
    const started = await startRun(chosen, runDeps, request);
    inFlight.add(started.finished);
    void started.finished.finally(() => inFlight.delete(started.finished));
    const { outcome } = started;
    const names = chosen.settings.config.status_names;
    const summary = { ...outcome.summary, failed: shownCounts(outcome.summary.failed, names) };
    return { ...started, outcome: { ...outcome, summary } };
  }

  /** The status naming of pipeline `name` (which must exist). */
  const namesOf = (name: string) => partsOf(name).settings.config.status_names;
  const showRun = (r: store.RunRecord, names: StatusNames): store.RunRecord => ({
    ...r,
    summary: { ...r.summary, failed: shownCounts(r.summary.failed, names) },
  });

  const definitions = scheduledRuns([...parts.values()], run);

  return {
    list() {
      return [...parts.values()].map(({ settings }) => ({
        name: settings.name,
        default: partsOf(undefined) === parts.get(settings.name),
        source: settings.location,
        archive: settings.archiveRoot,
        schedule: settings.config.schedule ?? null,
      }));
    },
    run,
    async getRun(name, id) {
      const names = namesOf(name);
      const found = await store.getRun(deps.db, name, id);
      if (!found) throw new FerryError('FERRY_ERR_PIPELINE_RUN_NOT_FOUND', { pipeline: name, id });
      return showRun(found, names);
    },
    async listRuns(name, page) {
      const names = namesOf(name);
      const found = await store.listRuns(deps.db, name, page);
      return { ...found, items: found.items.map((r) => showRun(r, names)) };
    },
    async listFiles(name, filter) {
      const names = namesOf(name);
      const status = filter.status === undefined ? {} : { status: ferryStatus(filter.status) };
      const found = await store.listFiles(deps.db, name, { ...filter, ...status });
      const items = found.items.map((f) => ({ ...f, status: shownStatus(f.status, names) }));
      return { ...found, items };
    },
    async fileHistory(name, id) {
      const names = namesOf(name);
      const file = await store.getFile(deps.db, name, id);
      if (!file) throw new FerryError('FERRY_ERR_PIPELINE_FILE_NOT_FOUND', { pipeline: name, id });
      const items = (await fileHistory(deps.db, id)).map((row) => ({
        ...row,
        status: shownStatus(row.status, names),
      }));
      return { file: { ...file, status: shownStatus(file.status, names) }, items };
    },
    definitions,
    async stop() {
      await Promise.all([...inFlight]);
    },
  };
}
