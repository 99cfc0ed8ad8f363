export { makeSftpStorage, type SftpStorageOptions } from './sftp.ts';
export { formatSftpUrl, parseSftpUrl, SftpUrlError, type SftpUrl } from './url.ts';
export { knownHostAccepts } from './known-hosts.ts';
