/** ASC MHL 2.0: histories beside the files, sealed by transfers and `ferry mhl`. */
export { c4Id, c4FromDigest, c4ToDigest } from './c4.ts';
export {
  mhlFormats,
  writableMhlFormats,
  isMhlFormat,
  isWritableMhlFormat,
  type MhlFormat,
  type WritableMhlFormat,
} from './formats.ts';
export { appendGeneration, generationFileName, type WrittenGeneration } from './chain.ts';
export { loadHistory, knownFiles, type History, type KnownFile } from './history.ts';
export type { Generation, ChainEntry, FileEntry, DirectoryEntry, HashValue } from './model.ts';
export { sealFolder, judge, type CheckedFile, type SealResult, type FileVerdict } from './seal.ts';
export { verifyFolder, type VerifyResult } from './verify.ts';
export { folderHashes } from './tree.ts';
export { generationXml, chainXml } from './xml-write.ts';
export { parseGeneration, parseChain } from './xml-read.ts';
