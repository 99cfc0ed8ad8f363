/**
 * One Storage per configured endpoint: SFTP (ssh2) or SMB (smbclient). Secrets are read here,
 * once, from their value, `env:NAME` or `file:PATH`; connections open on first use.
 */
import { readFileSync } from 'node:fs';
import type { EndpointConfig } from '../config/endpoint-schema.ts';
import { resolveSecret } from '../config/pipeline-schema.ts';
import { makeSftpStorage, makeSmbStorage, parseSftpUrl, type Storage } from '../storage/index.ts';

const secret = resolveSecret;

/** The storage of one endpoint. */
export function makeEndpointStorage(
  e: EndpointConfig,
  env: Record<string, string | undefined> = process.env,
): Storage {
  const password = secret(e.password, env);
  if (e.url.startsWith('smb://')) {
    return makeSmbStorage({ url: e.url, password: password ?? '', timeoutMs: e.timeout_ms });
  }
  const privateKey = secret(e.private_key, env);
  const passphrase = secret(e.passphrase, env);
  return makeSftpStorage({
    url: parseSftpUrl(e.url),
    ...(privateKey === undefined ? {} : { privateKey }),
    ...(passphrase === undefined ? {} : { passphrase }),
    ...(password === undefined ? {} : { password }),
    knownHosts: readFileSync(e.known_hosts ?? '', 'utf8'),
    timeoutMs: e.timeout_ms,
  });
}

/** Every endpoint's storage by name. */
export function makeEndpointStorages(
  endpoints: readonly EndpointConfig[],
  env: Record<string, string | undefined> = process.env,
): Map<string, Storage> {
  return new Map(endpoints.map((e) => [e.name, makeEndpointStorage(e, env)]));
}
