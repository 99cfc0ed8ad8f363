/** The Ferry client SDK (`ferry/client`). Imports nothing from the server side. */
export {
  FerryClient,
  type ClientEvents,
  type FerryClientOptions,
  type PingResult,
  type SubmitOptions,
  type Submitted,
} from './client.ts';
export {
  clientOptionSpecs,
  envName,
  resolveClientConfig,
  type ClientConfig,
  type ClientConfigInput,
  type ClientOptionName,
} from './config.ts';
export { clientErrorCodes, FerryClientError, type ClientErrorCode } from './errors.ts';
export { clientCapabilities, clientProtocol, maxRedirects, type FetchLike } from './http.ts';
export type * from './jobs-types.ts';
export type { Metrics } from './metrics.ts';
export type { NodeState } from './targets.ts';
export { systemClock, type Clock, type TimerHandle } from './clock.ts';
export { makeRetryBudget, type RetryBudget, type RetryBudgetOptions } from './budget.ts';
export {
  backoffDelay,
  jitterStrategies,
  retryDelay,
  type BackoffOptions,
  type JitterStrategy,
} from './backoff.ts';
export {
  LiveRequestError,
  makeLiveClient,
  type LiveClient,
  type LiveClientOptions,
  type LiveState,
  type LiveStatus,
  type WebSocketFactory,
  type WebSocketLike,
} from './live.ts';
export { transferStatuses, type TransferStatus } from './statuses.ts';
export type * from './types.ts';
