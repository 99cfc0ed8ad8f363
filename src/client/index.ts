/** The Ferry client SDK. Imports nothing from the server side. */
export { backoffDelay, type BackoffOptions } from './backoff.ts';
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
export type * from './types.ts';
