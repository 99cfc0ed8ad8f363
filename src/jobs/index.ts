export { defineJob, type JobDefinition, type JobContext, type JobPolicy } from './registry.ts';
export {
  makeJobs,
  type Jobs,
  type JobsDeps,
  type QueueDepth,
  type SendJobOptions,
} from './queue.ts';
