export type { FileInfo, ReadOptions, Storage, StorageFailure, WriteHandle } from './types.ts';
export { StorageError } from './types.ts';
export { makeLocalStorage, storageErrorOf, syncDir } from './local/local.ts';
