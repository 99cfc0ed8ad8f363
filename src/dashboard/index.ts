export { recordAccountAction, searchAudit, type AuditEntry, type AuditQuery } from './audit.ts';
export { auditCsv } from './csv.ts';
export { eventStats, type EventStats } from './event-stats.ts';
export { listFolder, type FolderListing } from './folders.ts';
export { bucketCount, eventHistory, maxBuckets, transferHistory, type Series } from './history.ts';
export { recordAccountActions } from './recorder.ts';
export { defaultDistDir, serveDashboard } from './static.ts';
export { listUsers } from './users.ts';
