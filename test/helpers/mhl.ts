/** Test helpers for ASC MHL: scenario copies and schema validation with xmllint. */
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** `../shared/asc-mhl` from the repo root. */
export const ascMhlDir = path.resolve(import.meta.dirname, '../../../shared/asc-mhl');
export const scenariosDir = path.join(ascMhlDir, 'scenarios');

/** A writable copy of a scenario folder (the shared ones are read-only). */
export function copyScenario(relative: string, into: string): string {
  const target = path.join(into, path.basename(relative));
  cpSync(path.join(scenariosDir, relative), target, { recursive: true, preserveTimestamps: true });
  const walk = (p: string): void => {
    chmodSync(p, statSync(p).isDirectory() ? 0o755 : 0o644);
    if (statSync(p).isDirectory()) for (const n of readdirSync(p)) walk(path.join(p, n));
  };
  walk(target);
  return target;
}

/** An XML catalog mapping the URL one XSD imports to the local copy, so --nonet works. */
function catalog(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'ferry-mhl-catalog-'));
  const file = path.join(dir, 'catalog.xml');
  const local = `file://${path.join(ascMhlDir, 'xsd', 'ASCMHL.xsd')}`;
  const url = 'https://raw.githubusercontent.com/ascmitc/mhl/master/xsd/ASCMHL.xsd';
  writeFileSync(
    file,
    `<?xml version="1.0"?>
<catalog xmlns="urn:oasis:names:tc:entity:xmlns:xml:catalog">
  <system systemId="${url}" uri="${local}"/>
  <uri name="${url}" uri="${local}"/>
</catalog>
`,
  );
  return file;
}

/**
 * Validates files against an XSD with `xmllint --nonet` (libxml2-utils); throws with xmllint's
 * own message when a file does not validate.
 */
export function validateXml(schema: 'ASCMHL.xsd' | 'ASCMHLDirectory.xsd', files: string[]): void {
  execFileSync(
    'xmllint',
    ['--nonet', '--noout', '--schema', path.join(ascMhlDir, 'xsd', schema), ...files],
    { env: { ...process.env, XML_CATALOG_FILES: catalog() }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
}
