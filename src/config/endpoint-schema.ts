/**
 * The `endpoints` section: remote servers transfers may name (SFTP and SMB), set in the config
 * file only. Secrets (password, private key, passphrase) are written as a value, `env:NAME` or
 * `file:PATH`, like pipelines' secrets; `endpointProblems` adds what a schema cannot express.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import Type, { type Static } from 'typebox';
import { parseSmbUrl } from '../storage/smb/url.ts';
import { parseSftpUrl } from '../storage/sftp/url.ts';
import { secretProblems } from './pipeline-schema.ts';

const secret = (description: string) =>
  Type.Optional(
    Type.String({
      minLength: 1,
      description: `${description} (value, env:NAME or file:PATH)`,
      secret: true,
    }),
  );

export const EndpointSchema = Type.Object(
  {
    name: Type.String({
      pattern: '^[a-z0-9][a-z0-9_-]{0,62}$',
      description: 'Name transfers use (`source_endpoint` / `destination_endpoint`).',
    }),
    url: Type.String({
      minLength: 1,
      description: '`sftp://user@host[:port]/path` or `smb://user@host[:port]/share/path`.',
    }),
    password: secret('SFTP or SMB password'),
    private_key: secret('SFTP private key (OpenSSH or PEM text)'),
    passphrase: secret('SFTP private key passphrase'),
    known_hosts: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'SFTP: known_hosts file the server’s host key must be listed in (required).',
      }),
    ),
    timeout_ms: Type.Optional(
      Type.Integer({ minimum: 1000, maximum: 600000, description: 'Connection timeout.' }),
    ),
    description: Type.Optional(Type.String({ description: 'Free text shown to users.' })),
  },
  { additionalProperties: false },
);

/** One configured endpoint. */
export type EndpointConfig = Static<typeof EndpointSchema>;

/** Paths of secret fields inside one endpoint, for `config print` masking. */
export const endpointSecretPaths: readonly (readonly string[])[] = [
  ['password'],
  ['private_key'],
  ['passphrase'],
];

function oneProblems(
  e: EndpointConfig,
  at: string,
  env: Record<string, string | undefined>,
  cwd: string,
): string[] {
  const out: string[] = [];
  for (const key of ['password', 'private_key', 'passphrase'] as const) {
    out.push(...secretProblems(e[key], `${at}.${key}`, env, cwd));
  }
  try {
    if (e.url.startsWith('sftp://')) {
      parseSftpUrl(e.url);
      if (e.known_hosts === undefined) out.push(`${at}.known_hosts: required for sftp`);
      else if (!existsSync(path.resolve(cwd, e.known_hosts))) {
        out.push(`${at}.known_hosts: file ${e.known_hosts} does not exist`);
      }
      if (e.password === undefined && e.private_key === undefined) {
        out.push(`${at}: sftp needs password or private_key`);
      }
    } else if (e.url.startsWith('smb://')) {
      parseSmbUrl(e.url);
      if (e.private_key !== undefined) out.push(`${at}.private_key: only for sftp`);
    } else out.push(`${at}.url: must start with sftp:// or smb://`);
  } catch (error) {
    out.push(`${at}.url: ${(error as Error).message}`);
  }
  return out;
}

/** Checks a schema cannot express: unique names, URLs, secrets and files that resolve. */
export function endpointProblems(
  endpoints: readonly EndpointConfig[],
  env: Record<string, string | undefined>,
  cwd: string,
): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  endpoints.forEach((e, i) => {
    const at = `endpoints.${i}`;
    if (seen.has(e.name)) out.push(`${at}.name: ${e.name} is used twice`);
    seen.add(e.name);
    out.push(...oneProblems(e, at, env, cwd));
  });
  return out;
}
