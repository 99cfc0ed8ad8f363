/**
 * The in-process domain-event bus. Domain modules emit typed `noun:verb` events; the live hub
 * (and tests, through `next()`) listen. Listeners never throw into the emitter.
 */
import { makeEmitter, type Emitter } from '../client/emitter.ts';

/** Every domain event Ferry emits, by name. Capabilities add their events here. */
export interface FerryEvents {
  'job:completed': { name: string; id: string; output: unknown };
  'job:failed': { name: string; id: string; error: string; retryCount: number };
  'lease:lost': { name: string; holder: string; token: number };
  'event:accepted': { ids: number[]; userId: number | null; taskId: string | null };
  'event:processed': { id: number; userId: number | null; ok: boolean; error: string | null };
  /** Bytes moved so far for one transfer (throttled; the last one is always sent). */
  'transfer:progress': {
    transferId: number;
    ownerId: number | null;
    file: string | null;
    bytes: number;
    totalBytes: number;
    percent: number;
    bytesPerSecond: number;
    etaSeconds: number | null;
  };
  /** A transfer or watch profile changed status (copying, verifying, completed, failed, paused…). */
  'transfer:status': {
    transferId: number;
    ownerId: number | null;
    status: string;
    error: string | null;
  };
  /** A watch profile saw a new stable file and recorded it. */
  'watch:file-detected': {
    transferId: number;
    ownerId: number | null;
    fileId: number;
    path: string;
    size: number;
  };
  /** A watch profile's file finished (verified at the destination, or failed). */
  'watch:file-finished': {
    transferId: number;
    ownerId: number | null;
    fileId: number;
    path: string;
    ok: boolean;
    error: string | null;
  };
  /** A watch profile completed one scan cycle. */
  'watch:cycle': { transferId: number; ownerId: number | null; cycle: number };
  /** A pipeline run started, processed a file, or finished. */
  'run:started': { pipeline: string; runId: string };
  'run:file': { pipeline: string; runId: string; file: string; remitter: string; status: string };
  'run:completed': { pipeline: string; runId: string; summary: unknown };
  /** A notice for every authenticated live client (topic `system`), e.g. a node stopping. */
  'system:notice': { level: 'info' | 'warning'; message: string };
  /** A node took the `cluster` lease (topic `cluster`). */
  'cluster:leader': { nodeId: string; url: string; fenceToken: number };
  /** A cluster job or one of its zone parts changed status (topics `jobs:{id}`, `jobs`). */
  'job:status': {
    jobId: string;
    ownerId: number | null;
    status: string;
    zone: string | null;
    fenceToken: number;
  };
  /**
   * Status changes of many jobs in one message (topic `jobs`, one owner's jobs, at most 1000),
   * gathered by src/cluster/status-batch.ts; `zone: null` is the job's own status.
   */
  'job:status-batch': {
    ownerId: number | null;
    count: number;
    items: readonly { jobId: string; zone: string | null; status: string; fenceToken: number }[];
  };
  /** Per-item results of a job part (each file's checksums), up to 1000 per message. */
  'job:items': {
    jobId: string;
    ownerId: number | null;
    zone: string;
    fenceToken: number;
    items: readonly unknown[];
  };
  /** A job part's windowed stats (at most one per cluster.stats_window_ms). */
  'job:stats': {
    jobId: string;
    ownerId: number | null;
    zone: string;
    fenceToken: number;
    windowMs: number;
    itemsPerSecond: number;
    bytesPerSecond: number;
    errors: number;
  };
  /** A job reached its final state; `result` aggregates every zone's part. */
  'job:final': {
    jobId: string;
    ownerId: number | null;
    status: string;
    fenceToken: number;
    result: unknown;
  };
  /** A cancelled job's running work in one zone has stopped. */
  'job:cancelled': { jobId: string; ownerId: number | null; zone: string; fenceToken: number };
  /**
   * A node took over a job's part in its zone (first owner or takeover), or, with `zone: null`,
   * the job's coordination (a takeover of its `job:{id}` lease, whose token is `leaderToken`).
   */
  'job:leader-transfer': {
    jobId: string;
    ownerId: number | null;
    zone: string | null;
    nodeId: string;
    url: string;
    fenceToken: number;
    leaderToken?: number;
  };
  /** A part whose zone had no healthy node for cluster.orphan_grace_seconds. */
  'job:orphaned': { jobId: string; ownerId: number | null; zone: string; fenceToken: number };
  /** A request refused by admission control (429 rate limited, 503 shed), for /metrics. */
  'admission:rejected': { reason: 'rate_limited' | 'shed'; priority: string };
  /** A live connection was established (its session created or restored). */
  'live:connected': {
    sessionId: string;
    recovered: 'full' | 'partial' | 'none';
    missed: number;
  };
  /** A live connection closed; its session is kept for recovery. */
  'live:disconnected': { sessionId: string; code: number; reason: string };
}

/** A typed event bus over an event map: the client's emitter, one implementation for both sides. */
export type Bus<Events> = Emitter<Events>;

/** Makes a bus; `onListenerError` receives what a listener threw (it never reaches the emitter). */
export function makeBus<Events>(
  onListenerError: (error: unknown) => void = () => undefined,
): Bus<Events> {
  return makeEmitter<Events>(onListenerError);
}
