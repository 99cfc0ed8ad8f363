/**
 * The transfers capability assembled from config: delivery, the one-off runner, the watch
 * supervisor and the domain service. The composition root calls this and nothing deeper.
 */
import type { Config } from '../config/index.ts';
import type { Db } from '../db/index.ts';
import type { Bus, FerryEvents } from '../bus/bus.ts';
import { sleep, systemClock, type Clock } from '../clock/clock.ts';
import {
  makeBandwidthCaps,
  makeEndpoints,
  makeLocalStorage,
  makeVolumeGuard,
  withBudget,
  type Storage,
} from '../storage/index.ts';
import { makeMhlSealer } from '../mhl/transfer.ts';
import { makeEndpointStorages } from './endpoint-storages.ts';
import { makeDelivery } from './deliver.ts';
import { makeOnceRunner } from './run-once.ts';
import { makeTransfers, type Transfers } from './service.ts';
import { makeWatchSupervisor, type WatchSupervisor } from './watch-supervisor.ts';

export {
  conflictPolicies,
  copyFile,
  hashFile,
  type ConflictPolicy,
  type CopyFileResult,
} from './copy-file.ts';
export { checksumAlgorithms, makeHasher, type ChecksumAlgorithm, type Hasher } from './hashing.ts';
export type { Transfers, Viewer, CreateTransfer } from './service.ts';
export { transferStatuses, type TransferRow, type TransferStatus } from './records.ts';

export interface TransferCapabilityDeps {
  db: Db;
  bus: Bus<FerryEvents>;
  config: Pick<Config, 'transfers' | 'volumes' | 'jobs'> & Partial<Pick<Config, 'endpoints'>>;
  nodeId: string;
  logError: (error: unknown, message: string) => void;
  /** Storage overrides (tests pass one that fails or corrupts on purpose). */
  storage?: { source?: Storage; destination?: Storage };
  /** Settle times, poll sleeps and retry delays run on this clock (tests pass a fake one). */
  clock?: Clock | undefined;
}

export interface TransferCapability {
  transfers: Transfers;
  supervisor: WatchSupervisor;
  /** Closes the endpoints' connections (after the supervisor and jobs stopped). */
  close(): Promise<void>;
}

export function makeTransferCapability(deps: TransferCapabilityDeps): TransferCapability {
  const c = deps.config.transfers;
  const clock = deps.clock ?? systemClock;
  // Endpoint paths (`@name:/…`) go to their SFTP/SMB backend, all others to the local disk.
  const endpoints = makeEndpoints(
    makeLocalStorage(),
    makeEndpointStorages(deps.config.endpoints ?? []),
  );
  const source = deps.storage?.source ?? endpoints.storage;
  const destination = deps.storage?.destination ?? endpoints.storage;
  const caps = makeBandwidthCaps(c.max_bytes_per_second);
  const mhl = makeMhlSealer({ source, destination });
  const volumes = makeVolumeGuard(deps.config.volumes);
  const unpaced = makeDelivery({
    mhl,
    volumes,
    db: deps.db,
    bus: deps.bus,
    source,
    destination,
    attempts: c.attempts,
    retryDelayMs: c.retry_delay_ms,
    concurrency: c.concurrency,
    sleep: (ms, signal) => sleep(clock, ms, signal),
  });
  // Each file's bytes are paced by its transfer's cap and the node's (bandwidth.ts).
  const delivery: typeof unpaced = {
    // The scope (a fenced db, a fence token) passes through: dropping it would let a stale
    // watch loop or cluster part write behind its successor's back.
    deliver: (transfer, rows, hooks, signal, scope) =>
      withBudget(caps.pacersFor(transfer.id, transfer.options.max_bytes_per_second), () =>
        unpaced.deliver(transfer, rows, hooks, signal, scope),
      ),
  };
  const runner = makeOnceRunner({
    mhl,
    db: deps.db,
    bus: deps.bus,
    source,
    delivery,
    volumes,
    logError: deps.logError,
  });
  const supervisor = makeWatchSupervisor({
    mhl,
    db: deps.db,
    bus: deps.bus,
    source,
    delivery,
    nodeId: deps.nodeId,
    leaseTtlMs: c.watch_lease_seconds * 1000,
    failureLimit: c.failure_limit,
    fsEvents: c.fs_events,
    discoverEveryMs: Math.max(1000, (c.watch_lease_seconds * 1000) / 3),
    shutdownGraceMs: deps.config.jobs.shutdown_timeout_ms,
    clock,
    volumes,
    logError: deps.logError,
  });
  const transfers = makeTransfers({
    db: deps.db,
    bus: deps.bus,
    volumes,
    endpoints,
    endpointInfo: (deps.config.endpoints ?? []).map((e) => ({
      name: e.name,
      kind: e.url.startsWith('smb://') ? 'smb' : 'sftp',
      description: e.description ?? null,
    })),
    source,
    runner,
    supervisor,
    deleteWaitMs: c.delete_wait_seconds * 1000,
    defaults: {
      algorithm: c.checksum_algorithm,
      pollIntervalSeconds: c.poll_interval_seconds,
      retryLimit: deps.config.jobs.retry_limit,
    },
  });
  return { transfers, supervisor, close: () => endpoints.close() };
}
