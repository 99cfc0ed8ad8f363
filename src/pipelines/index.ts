export {
  makePipelines,
  type Pipelines,
  type PipelinesDeps,
  type PipelineView,
  type SmbOpener,
} from './service.ts';
export { leaseName, type RunOutcome, type RunRequest, type StartedRun } from './run.ts';
export type { FileView, RunRecord, RunSummary, RunError, ArchiveReport } from './store.ts';
export type { LedgerRow } from './claims.ts';
export { outcomes, retryableOutcomes, notifiedOutcomes, type Outcome } from './status.ts';
