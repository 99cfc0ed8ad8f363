import { configKeys } from './keys.ts';
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
  return copy;
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
