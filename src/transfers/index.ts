/**
 * The transfers capability assembled from config: delivery, the one-off runner, the watch
 * supervisor and the domain service. The composition root calls this and nothing deeper.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Config } from '../config/index.ts';
import type { Db } from '../db/index.ts';
import type { Bus, FerryEvents } from '../live/bus.ts';
import { makeLocalStorage, makeVolumeGuard, type Storage } from '../storage/index.ts';
import { makeDelivery } from './deliver.ts';
import { makeOnceRunner } from './run-once.ts';
import { makeTransfers, type Transfers } from './service.ts';
import { makeWatchSupervisor, type WatchSupervisor } from './watch-supervisor.ts';

export { copyFile, hashFile, type ConflictPolicy, type CopyFileResult } from './copy-file.ts';
export { checksumAlgorithms, makeHasher, type ChecksumAlgorithm, type Hasher } from './hashing.ts';
export type { Transfers, Viewer, CreateTransfer } from './service.ts';
export type { TransferRow, TransferStatus } from './records.ts';

export interface TransferCapabilityDeps {
  db: Db;
  bus: Bus<FerryEvents>;
  config: Pick<Config, 'transfers' | 'volumes' | 'jobs'>;
  nodeId: string;
  logError: (error: unknown, message: string) => void;
  /** Storage overrides (tests pass one that fails or corrupts on purpose). */
  storage?: { source?: Storage; destination?: Storage };
}

export interface TransferCapability {
  transfers: Transfers;
  supervisor: WatchSupervisor;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return delay(ms, undefined, { signal });
}

export function makeTransferCapability(deps: TransferCapabilityDeps): TransferCapability {
  const c = deps.config.transfers;
  const local = makeLocalStorage();
  const source = deps.storage?.source ?? local;
  const destination = deps.storage?.destination ?? local;
  const delivery = makeDelivery({
    db: deps.db,
    bus: deps.bus,
    source,
    destination,
    attempts: c.attempts,
    retryDelayMs: c.retry_delay_ms,
    sleep,
  });
  const runner = makeOnceRunner({
    db: deps.db,
    bus: deps.bus,
    source,
    delivery,
    logError: deps.logError,
  });
  const supervisor = makeWatchSupervisor({
    db: deps.db,
    bus: deps.bus,
    source,
    delivery,
    nodeId: deps.nodeId,
    leaseTtlMs: c.watch_lease_seconds * 1000,
    failureLimit: c.failure_limit,
    concurrency: c.concurrency,
    fsEvents: c.fs_events,
    discoverEveryMs: Math.max(1000, (c.watch_lease_seconds * 1000) / 3),
    shutdownGraceMs: deps.config.jobs.shutdown_timeout_ms,
    now: Date.now,
    logError: deps.logError,
  });
  const transfers = makeTransfers({
    db: deps.db,
    bus: deps.bus,
    volumes: makeVolumeGuard(deps.config.volumes),
    source,
    runner,
    supervisor,
    defaults: {
      algorithm: c.checksum_algorithm,
      pollIntervalSeconds: c.poll_interval_seconds,
      retryLimit: deps.config.jobs.retry_limit,
    },
  });
  return { transfers, supervisor };
}
