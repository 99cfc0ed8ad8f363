/**
 * Writes generations and chain files as the ASC MHL 2.0 XSDs define them (fast-xml-parser's
 * builder): elements in the schema's order, hash formats in the schema's order.
 */
import { XMLBuilder } from 'fast-xml-parser';
import { orderFormats } from './formats.ts';
import type { ChainEntry, DirectoryEntry, FileEntry, Generation, HashValue } from './model.ts';

type Node = Record<string, unknown>;

// fast-xml-parser re-exports the builder from fast-xml-builder (its own dependency) and marks
// this path deprecated; the package.json dependency stays one, so this import stays here.
// eslint-disable-next-line @typescript-eslint/no-deprecated
const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  textNodeName: '#text',
  format: true,
  indentBy: '  ',
  suppressBooleanAttributes: false,
  processEntities: true,
});

const declaration = { '?xml': { '@_version': '1.0', '@_encoding': 'UTF-8' } };

/** `<md5 action=… hashdate=…>digest</md5>` for each value, in the schema's format order. */
function hashElements(values: readonly HashValue[]): Node {
  const node: Node = {};
  for (const format of orderFormats(values.map((v) => v.format))) {
    const value = values.find((v) => v.format === format);
    if (!value) continue;
    node[format] = {
      ...(value.action ? { '@_action': value.action } : {}),
      ...(value.hashDate ? { '@_hashdate': value.hashDate } : {}),
      '#text': value.value,
    };
  }
  return node;
}

function fileNode(entry: FileEntry): Node {
  return {
    path: {
      '@_size': String(entry.size),
      ...(entry.lastModified ? { '@_lastmodificationdate': entry.lastModified } : {}),
      '#text': entry.path,
    },
    ...hashElements(entry.hashes),
  };
}

function directoryNode(entry: DirectoryEntry): Node {
  return {
    path: {
      ...(entry.lastModified ? { '@_lastmodificationdate': entry.lastModified } : {}),
      '#text': entry.path,
    },
    content: hashElements(entry.content),
    structure: hashElements(entry.structure),
  };
}

/** The XML text of one generation. */
export function generationXml(generation: Generation): string {
  const files = generation.entries.filter((e): e is FileEntry => e.kind === 'file');
  const dirs = generation.entries.filter((e): e is DirectoryEntry => e.kind === 'directory');
  const processinfo: Node = { process: generation.process };
  if (generation.root) {
    processinfo.roothash = {
      content: hashElements(generation.root.content),
      structure: hashElements(generation.root.structure),
    };
  }
  if (generation.ignore.length > 0) processinfo.ignore = { pattern: generation.ignore };
  const hashlist: Node = {
    '@_version': '2.0',
    '@_xmlns': 'urn:ASC:MHL:v2.0',
    creatorinfo: {
      creationdate: generation.creationDate,
      hostname: generation.hostname,
      tool: { '@_version': generation.tool.version, '#text': generation.tool.name },
    },
    processinfo,
  };
  // The schema wants at least one child in <hashes>; a generation of nothing leaves it out.
  if (files.length + dirs.length > 0) {
    hashlist.hashes = {
      ...(files.length > 0 ? { hash: files.map(fileNode) } : {}),
      ...(dirs.length > 0 ? { directoryhash: dirs.map(directoryNode) } : {}),
    };
  }
  return builder.build({ ...declaration, hashlist });
}

/** The XML text of `ascmhl_chain.xml`. */
export function chainXml(entries: readonly ChainEntry[]): string {
  return builder.build({
    ...declaration,
    ascmhldirectory: {
      '@_xmlns': 'urn:ASC:MHL:DIRECTORY:v2.0',
      hashlist: entries.map((e) => ({
        '@_sequencenr': String(e.sequence),
        path: e.path,
        c4: e.c4,
      })),
    },
  });
}
