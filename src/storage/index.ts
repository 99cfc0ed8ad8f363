export type { FileInfo, ReadOptions, Storage, StorageFailure, WriteHandle } from './types.ts';
export { StorageError } from './types.ts';
export { makeLocalStorage, storageErrorOf, syncDir } from './local/local.ts';
export { makeVolumeGuard, textProblem, type Volume, type VolumeGuard } from './volumes.ts';
export {
  formatSmbUrl,
  makeSmbStorage,
  parseSmbUrl,
  SmbUrlError,
  type SmbStorageOptions,
  type SmbUrl,
} from './smb/index.ts';
