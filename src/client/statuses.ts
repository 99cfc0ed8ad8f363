/**
 * Statuses of a transfer; `active`/`paused`/`error` belong to watch profiles. The one list the
 * API schemas, SQL, CLI and dashboard use (migration 0004's CHECK holds the same values); it
 * lives in the SDK, which imports nothing from the server, so every side can read it.
 */
export const transferStatuses = [
  'pending',
  'validating',
  'copying',
  'verifying',
  'completed',
  'failed',
  'cancelled',
  'active',
  'paused',
  'error',
] as const;
export type TransferStatus = (typeof transferStatuses)[number];
