import { stringify } from 'yaml';

/** Prints the effective configuration as YAML (or JSON with --json). */
export function printConfig(config: Record<string, unknown>, json: boolean): void {
  console.log(json ? JSON.stringify(config, null, 2) : stringify(config).trimEnd());
}
