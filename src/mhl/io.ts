/** Small whole-file reads and durable writes through the storage boundary (histories are tiny). */
import type { Storage } from '../storage/index.ts';

/** The text of a (small) file. */
export async function readText(storage: Storage, file: string): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of storage.read(file)) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}

/** Writes `text` under a temp name, commits (fsync) and renames it into place. */
export async function writeText(
  storage: Storage,
  file: string,
  text: string | Uint8Array,
  options: { overwrite: boolean },
): Promise<void> {
  const temp = `${file}.ferry-mhl.part`;
  const handle = await storage.write(temp);
  try {
    await handle.write(typeof text === 'string' ? Buffer.from(text, 'utf8') : text);
    await handle.commit();
  } catch (error) {
    await handle.abort();
    throw error;
  }
  await storage.rename(temp, file, { overwrite: options.overwrite });
}
