export { defaultTempPatterns, globToRegExp, makeNameFilter } from './names.ts';
export type { NameFilterOptions, NameVerdict } from './names.ts';
export { isOldEnough, makeSettleTracker, sampleStable } from './stability.ts';
export type { SettleTracker, StabilityPolicy } from './stability.ts';
export { relativeTo, scanSource } from './listing.ts';
export type { Scan, SourceFile } from './listing.ts';
export {
  compileVersionPatterns,
  defaultVersionPatterns,
  groupVersions,
  parseVersion,
} from './versions.ts';
export type { Version, VersionGroup } from './versions.ts';
