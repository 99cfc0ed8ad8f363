/**
 * A configured pipeline turned into what a run uses: secrets resolved, patterns compiled, the
 * source split into a storage location and a root, the archive placed on the same storage.
 */
import path from 'node:path';
import {
  resolveEndpoint,
  resolveSecret,
  withPipelineDefaults,
  type PipelineConfig,
  type PipelineInput,
} from '../config/pipeline-schema.ts';
import { compileVersionPatterns, defaultVersionPatterns, makeNameFilter } from '../intake/index.ts';
import type { NameVerdict } from '../intake/index.ts';
import { formatSmbUrl, parseSmbUrl } from '../storage/smb/url.ts';
import type { AuthSettings } from './connectors/auth.ts';

/** Where a pipeline's files live. */
export type SourceLocation =
  | { kind: 'local'; root: string }
  | {
      kind: 'smb';
      /** The share itself (`smb://user@host:port/share`): the storage is opened at its root. */
      shareUrl: string;
      password: string;
      /** Folder inside the share ('' = the share root), POSIX separators, no leading slash. */
      root: string;
    };

/** Everything a run needs to know about one pipeline. */
export interface PipelineSettings {
  readonly config: PipelineConfig;
  readonly name: string;
  readonly source: SourceLocation;
  /** Archive folder on the source storage, in the storage's path form. */
  readonly archiveRoot: string;
  /** Temp names → 'temp'; excluded globs and the archive folder (when inside) → 'excluded'. */
  readonly filter: (relative: string) => NameVerdict;
  readonly versionPatterns: RegExp[];
  readonly auth: {
    extractor: AuthSettings;
    submitter: AuthSettings;
    notifier: AuthSettings;
  };
  /** Display form of the source (no password), for listings and notifications. */
  readonly location: string;
}

/** Reads a secret written as a value, `env:NAME` or `file:PATH` (shared with endpoints). */
export { resolveSecret };

function parseSmb(source: string, password: string): SourceLocation {
  const url = parseSmbUrl(source);
  // Opened at the share root so the archive may lie outside the source folder.
  const shareUrl = formatSmbUrl({ ...url, basePath: [] });
  return { kind: 'smb', shareUrl, password, root: url.basePath.join('/') };
}

/** Joins storage paths with '/' ('' = root of an SMB share). */
export function joinPath(...parts: string[]): string {
  return parts
    .filter((p) => p !== '')
    .join('/')
    .replace(/\/{2,}/g, '/');
}

function archiveRootOf(source: SourceLocation, archive: string): string {
  if (source.kind === 'local') return path.resolve(source.root, archive);
  // On a share, '/x' is from the share root and 'x' from the source folder.
  return archive.startsWith('/') ? archive.replace(/^\/+/, '') : joinPath(source.root, archive);
}

/** The archive's path relative to the source root, when it lies inside it. */
function archiveInside(root: string, archiveRoot: string): string | undefined {
  const base = root === '' ? '' : `${root.replace(/\/+$/, '')}/`;
  if (archiveRoot === root) return '';
  return archiveRoot.startsWith(base) ? archiveRoot.slice(base.length) : undefined;
}

/** The pipeline with every endpoint URL's `env:NAME` reference resolved. */
function withEndpoints(
  config: PipelineConfig,
  env: Record<string, string | undefined>,
): PipelineConfig {
  const auth = <A extends { token_url?: string | undefined }>(a: A): A =>
    a.token_url === undefined ? a : { ...a, token_url: resolveEndpoint(a.token_url, env) };
  const part = <P extends { url: string; auth: PipelineConfig['notifier']['auth'] }>(p: P): P => ({
    ...p,
    url: resolveEndpoint(p.url, env),
    auth: auth(p.auth),
  });
  return {
    ...config,
    extractor: part(config.extractor),
    submitter: part(config.submitter),
    notifier: part(config.notifier),
  };
}

/** Resolves one configured pipeline; `env` supplies `env:NAME` secrets and endpoints. */
export function pipelineSettings(
  input: PipelineInput,
  env: Record<string, string | undefined>,
): PipelineSettings {
  const config = withEndpoints(withPipelineDefaults(input), env);
  const source: SourceLocation = config.source.startsWith('smb://')
    ? parseSmb(config.source, resolveSecret(config.source_password, env) ?? '')
    : { kind: 'local', root: path.resolve(config.source) };
  const archiveRoot = archiveRootOf(source, config.archive);
  const inside = archiveInside(source.root, archiveRoot);
  const exclude = [...config.exclude, ...(inside ? [inside, `${inside}/**`] : [])];
  const authOf = (a: AuthSettings): AuthSettings => ({
    ...a,
    token: resolveSecret(a.token, env),
    client_secret: resolveSecret(a.client_secret, env),
  });
  const location =
    source.kind === 'local'
      ? source.root
      : [source.shareUrl, source.root].filter((p) => p !== '').join('/');
  return {
    config,
    name: config.name,
    source,
    archiveRoot,
    filter: makeNameFilter({ temp: config.temp_patterns, exclude }),
    versionPatterns: compileVersionPatterns([
      ...defaultVersionPatterns,
      ...config.version_patterns,
    ]),
    auth: {
      extractor: authOf(config.extractor.auth),
      submitter: authOf(config.submitter.auth),
      notifier: authOf(config.notifier.auth),
    },
    location,
  };
}
