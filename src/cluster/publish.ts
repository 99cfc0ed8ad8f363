/**
 * The pushes that follow a settled part (its owner's outcome, or the leader's timeout of a part
 * that never ran): the part's status, then the job's final status and result when it was the last.
 */
import type { Bus, FerryEvents } from '../bus/bus.ts';
import type { JobRow } from './job-records.ts';

/** Who a job's pushes are for and the token they carry. */
export interface JobPushBase {
  jobId: string;
  ownerId: number | null;
  fenceToken: number;
}

/** Publishes settled parts (`job:status` per zone) and, if the job settled, its final state. */
export function publishSettled(
  bus: Bus<FerryEvents>,
  base: JobPushBase,
  parts: readonly { zone: string; status: string }[],
  final: Pick<JobRow, 'status' | 'result'> | undefined,
): void {
  for (const part of parts)
    bus.emit('job:status', { ...base, status: part.status, zone: part.zone });
  if (!final) return;
  bus.emit('job:status', { ...base, status: final.status, zone: null });
  bus.emit('job:final', { ...base, status: final.status, result: final.result });
}
