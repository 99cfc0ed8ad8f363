export { makeSmbStorage, type SmbStorageOptions } from './smb.ts';
export { formatSmbUrl, parseSmbUrl, SmbUrlError, type SmbUrl } from './url.ts';
