import { configKeys } from './keys.ts';
import { endpointSecretPaths } from './endpoint-schema.ts';
import { pipelineSecretPaths, secretReference } from './pipeline-schema.ts';
import type { Config } from './schema.ts';

/** The effective configuration with secrets masked (passwords inside URLs too). */
export function maskedConfig(config: Config): Record<string, unknown> {
  const copy = structuredClone(config) as unknown as Record<string, unknown>;
  for (const key of configKeys.filter((k) => k.secret)) {
    let node: Record<string, unknown> = copy;
    for (const part of key.path.slice(0, -1)) node = node[part] as Record<string, unknown>;
    const leaf = key.path.at(-1) ?? '';
    const value = node[leaf];
    if (typeof value === 'string' && value !== '') node[leaf] = maskSecret(value);
  }
  for (const pipeline of (copy.pipelines ?? []) as Record<string, unknown>[]) {
    for (const secretPath of pipelineSecretPaths) maskInline(pipeline, secretPath);
  }
  for (const endpoint of (copy.endpoints ?? []) as Record<string, unknown>[]) {
    for (const secretPath of endpointSecretPaths) maskInline(endpoint, secretPath);
  }
  return copy;
}

/** Masks a secret written inline; `env:NAME` and `file:PATH` only say where it is, so they show. */
function maskInline(tree: Record<string, unknown>, keyPath: readonly string[]): void {
  let node: unknown = tree;
  for (const part of keyPath.slice(0, -1)) {
    node =
      typeof node === 'object' && node !== null
        ? (node as Record<string, unknown>)[part]
        : undefined;
  }
  if (typeof node !== 'object' || node === null) return;
  const parent = node as Record<string, unknown>;
  const leaf = keyPath.at(-1) ?? '';
  const value = parent[leaf];
  if (typeof value === 'string' && value !== '' && !secretReference(value)) parent[leaf] = '***';
}

/** Keeps a URL's shape (so the host is still visible) but hides its password. */
export function maskSecret(value: string): string {
  try {
    const url = new URL(value);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return '***';
  }
}
