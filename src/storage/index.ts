export type {
  FileAttributes,
  FileInfo,
  ReadOptions,
  RenameOptions,
  ResumableWriteHandle,
  Storage,
  StorageFailure,
  WriteHandle,
} from './types.ts';
export { kindAt, StorageError } from './types.ts';
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
export {
  endpointPath,
  makeEndpoints,
  parseEndpointPath,
  showPath,
  type Endpoints,
} from './endpoints.ts';
export { makeBandwidthCaps, withBudget, type BandwidthCaps } from './bandwidth.ts';
export { makeSftpStorage, parseSftpUrl, type SftpStorageOptions } from './sftp/index.ts';
