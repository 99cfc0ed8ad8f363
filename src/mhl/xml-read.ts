/** Reads generations and chain files (fast-xml-parser), tolerant of namespace prefixes. */
import { XMLParser } from 'fast-xml-parser';
import { mhlFormats } from './formats.ts';
import type {
  ChainEntry,
  DirectoryEntry,
  FileEntry,
  Generation,
  HashAction,
  HashValue,
  ProcessType,
} from './model.ts';

type Node = Record<string, unknown>;

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  textNodeName: '#text',
  removeNSPrefix: true,
  // Digests like 1234 must stay text, and sizes are read explicitly.
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  isArray: (name) => ['hash', 'directoryhash', 'pattern', 'hashlist'].includes(name),
});

function asNode(value: unknown): Node {
  return value !== null && typeof value === 'object' ? (value as Node) : {};
}

function text(value: unknown): string {
  if (typeof value === 'string') return value;
  const node = asNode(value);
  const inner = node['#text'];
  return typeof inner === 'string' ? inner : '';
}

function attribute(value: unknown, name: string): string | undefined {
  const raw = asNode(value)[`@_${name}`];
  return typeof raw === 'string' ? raw : undefined;
}

function hashValues(container: unknown): HashValue[] {
  const node = asNode(container);
  const values: HashValue[] = [];
  for (const format of mhlFormats) {
    if (!(format in node)) continue;
    const element = node[format];
    const action = attribute(element, 'action');
    values.push({
      format,
      value: text(element),
      ...(action ? { action: action as HashAction } : {}),
      ...(attribute(element, 'hashdate') ? { hashDate: attribute(element, 'hashdate') } : {}),
    });
  }
  return values;
}

function fileEntry(raw: unknown): FileEntry {
  const node = asNode(raw);
  return {
    kind: 'file',
    path: text(node.path),
    size: Number(attribute(node.path, 'size') ?? NaN),
    lastModified: attribute(node.path, 'lastmodificationdate'),
    hashes: hashValues(node),
  };
}

function directoryEntry(raw: unknown): DirectoryEntry {
  const node = asNode(raw);
  return {
    kind: 'directory',
    path: text(node.path),
    lastModified: attribute(node.path, 'lastmodificationdate'),
    content: hashValues(node.content),
    structure: hashValues(node.structure),
  };
}

/** Parses one generation; throws when the text is not an ASC MHL hash list. */
export function parseGeneration(xml: string): Generation {
  const root = asNode(parser.parse(xml));
  if (!('hashlist' in root)) throw new Error('not an ASC MHL hash list (no <hashlist>)');
  const list = asNode((root.hashlist as unknown[])[0]);
  const creator = asNode(list.creatorinfo);
  const process = asNode(list.processinfo);
  const hashes = asNode(list.hashes);
  const roothash = process.roothash === undefined ? undefined : asNode(process.roothash);
  const entries = [
    ...((hashes.hash as unknown[] | undefined) ?? []).map(fileEntry),
    ...((hashes.directoryhash as unknown[] | undefined) ?? []).map(directoryEntry),
  ];
  return {
    creationDate: text(creator.creationdate),
    hostname: text(creator.hostname),
    tool: { name: text(creator.tool), version: attribute(creator.tool, 'version') ?? '' },
    process: text(process.process) as ProcessType,
    root: roothash
      ? { content: hashValues(roothash.content), structure: hashValues(roothash.structure) }
      : undefined,
    ignore: ((asNode(process.ignore).pattern as unknown[] | undefined) ?? []).map(text),
    entries,
  };
}

/** Parses `ascmhl_chain.xml`. */
export function parseChain(xml: string): ChainEntry[] {
  const root = asNode(parser.parse(xml));
  const directory = asNode(root.ascmhldirectory);
  const lists = (directory.hashlist as unknown[] | undefined) ?? [];
  return lists.map((raw) => {
    const node = asNode(raw);
    return {
      sequence: Number(attribute(raw, 'sequencenr')),
      path: text(node.path),
      c4: text(node.c4),
    };
  });
}
