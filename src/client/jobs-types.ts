/** The job shapes of the cluster API (docs/cluster.md), declared here so the SDK stands alone. */

export type JobStatus = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';
export type PartStatus = JobStatus | 'orphaned';
export type Priority = 'critical' | 'high' | 'normal' | 'low';

/** What `submit()` sends: `POST /api/v1/jobs` without the idempotency key (see options). */
export interface JobSpec {
  kind: string;
  spec: Record<string, unknown>;
  zones?: string[];
  zone_specs?: Record<string, Record<string, unknown>>;
  priority?: Priority;
  timeout_seconds?: number;
  labels?: Record<string, string>;
}

/** A job as every job route answers it. */
export interface JobView {
  job_id: string;
  kind: string;
  status: JobStatus;
  priority: string;
  labels: Record<string, string>;
  idempotency_key: string | null;
  fence_token: number;
  leader: { node_id: string; url: string; fence_token: number };
  zones: {
    zone: string;
    status: PartStatus;
    node_id: string | null;
    url: string | null;
    fence_token: number;
    orphaned_at: string | null;
    result: unknown;
  }[];
  result: unknown;
  created_at: string | null;
  updated_at: string | null;
  completed_at: string | null;
}

/** `POST /api/v1/jobs/{id}/cancel`. */
export interface CancelAnswer {
  job_id: string;
  outcome: 'cancelled' | 'already_cancelled' | 'already_completed';
  status: JobStatus;
  fence_token: number;
}

/** One zone's part as the client tracks it. */
export interface ZoneState {
  zone: string;
  status: PartStatus;
  nodeId: string | null;
  url: string | null;
  fenceToken: number;
  /** Its running work has stopped after a cancel (`job:cancelled`). */
  cancelled: boolean;
  /** Items reported so far (`job:items`). */
  items: number;
}

/** A job as the client knows it now (`status()`). */
export interface JobState {
  jobId: string;
  status: JobStatus;
  /** The highest job fencing token seen; updates with a lower one are ignored. */
  fenceToken: number;
  zones: Record<string, ZoneState>;
  result: unknown;
  final: boolean;
  /** Reported orphaned (its owner unreachable and silent for the grace period). */
  orphaned: boolean;
  /** Clock ms of the last update applied. */
  updatedAt: number;
}

/** Windowed stats of one zone's part (`job:stats`). */
export interface JobStats {
  zone: string;
  windowMs: number;
  itemsPerSecond: number;
  bytesPerSecond: number;
  errors: number;
}

/** A part changed owner. */
export interface LeaderTransfer {
  zone: string;
  nodeId: string;
  url: string;
  fenceToken: number;
}

/** Called as the job goes; a callback that throws is reported and never breaks the client. */
export interface JobCallbacks {
  onStatus?: (state: JobState) => void;
  /** Items done so far per zone, after each batch of per-item results. */
  onProgress?: (progress: { zone: string; items: number }) => void;
  onItemResult?: (batch: { zone: string; items: readonly unknown[] }) => void;
  onStats?: (stats: JobStats) => void;
  onLeaderTransfer?: (transfer: LeaderTransfer) => void;
  onOrphaned?: (state: JobState) => void;
  onFinal?: (state: JobState) => void;
}
