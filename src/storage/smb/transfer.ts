/**
 * File bytes over smbclient `get`/`put`, streamed through pipes: memory stays at one chunk
 * whatever the file size, and the pipe's backpressure paces smbclient to the consumer.
 */
import type { Readable, Writable } from 'node:stream';
import { StorageError, type ReadOptions, type WriteHandle } from '../types.ts';
import { quoted, type SmbPath } from './paths.ts';
import {
  closedError,
  printedFailure,
  runFailure,
  startSmbclient,
  within,
  type Running,
  type SmbContext,
} from './process.ts';

const MiB = 1024 * 1024;

/** Waits for the next piece of `source`, the deadline or the abort, whichever comes first. */
async function nextPiece(
  context: SmbContext,
  source: AsyncIterator<Buffer>,
  file: SmbPath,
  signal: AbortSignal | undefined,
): Promise<IteratorResult<Buffer>> {
  if (!signal) return within(context, source.next(), file.path, 'read');
  signal.throwIfAborted();
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => {
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await within(context, Promise.race([source.next(), aborted]), file.path, 'read');
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}

/**
 * Checks that smbclient confirmed the whole file: its `getting file … of size N` line, with N
 * the bytes received. That line is the proof; any other output only explains a failure.
 */
async function confirmRead(
  context: SmbContext,
  running: Running,
  file: SmbPath,
  received: number,
): Promise<void> {
  const exit = await within(context, running.finished, file.path, 'read');
  const lines = running.text().split('\n');
  const done = lines.map((line) => /^getting file .* of size (\d+) as /.exec(line)).find(Boolean);
  if (done && Number(done[1]) === received) return;
  const failure = printedFailure(context, running, file.path, `reading ${file.path}`);
  if (failure) throw failure;
  if (!done) throw runFailure(context, running, exit, file.path, `reading ${file.path}`);
  const message = `reading ${file.path}: got ${received} of ${done[1] ?? '?'} bytes`;
  throw new StorageError('io', file.path, message);
}

/** Streams a file's bytes in chunks of exactly `chunkSize` (the last one may be shorter). */
export async function* readSmbFile(
  context: SmbContext,
  file: SmbPath,
  options: ReadOptions = {},
): AsyncGenerator<Uint8Array> {
  if (context.state.closed) throw closedError(context, file.path);
  options.signal?.throwIfAborted();
  const chunkSize = options.chunkSize ?? MiB;
  const running = startSmbclient(context, 'read', [`get ${quoted(file.remote)} /dev/fd/5`]);
  const source = (running.child.stdout as Readable)[
    Symbol.asyncIterator
  ]() as AsyncIterator<Buffer>;
  let finished = false;
  try {
    let chunk = Buffer.allocUnsafe(chunkSize);
    let filled = 0;
    let received = 0;
    for (;;) {
      const piece = await nextPiece(context, source, file, options.signal).catch(
        async (error: unknown) => {
          if (error instanceof StorageError || options.signal?.aborted) throw error;
          // The byte stream broke (closed or killed): smbclient's output says why.
          running.kill();
          const exit = await running.finished;
          throw (
            printedFailure(context, running, file.path, `reading ${file.path}`) ??
            runFailure(context, running, exit, file.path, `reading ${file.path}`)
          );
        },
      );
      if (piece.done) break;
      received += piece.value.byteLength;
      let offset = 0;
      while (offset < piece.value.byteLength) {
        const copied = piece.value.copy(chunk, filled, offset);
        offset += copied;
        filled += copied;
        if (filled === chunkSize) {
          yield chunk;
          chunk = Buffer.allocUnsafe(chunkSize);
          filled = 0;
        }
      }
    }
    // The tail waits for smbclient's confirmation, so a cut-off file never ends cleanly.
    await confirmRead(context, running, file, received);
    finished = true;
    if (filled > 0) yield chunk.subarray(0, filled);
  } finally {
    // Stopped early (break, abort, error): end smbclient rather than let it fill the pipe.
    if (!finished) {
      running.kill();
      await running.finished;
    }
  }
}

/** Writes `chunk` to `stream` and waits until it was handed on (so the caller may reuse it). */
function writeChunk(stream: Writable, chunk: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.write(chunk, (error) => {
      if (error) reject(error);
      else resolve();
    });
  });
}

/**
 * Opens `file` for writing: one smbclient `put` fed from a pipe. Parent folders are created in
 * the same session. Failures surface on the next write() or on commit().
 */
export function openSmbWrite(
  context: SmbContext,
  file: SmbPath,
  parent: SmbPath,
  remove: () => Promise<void>,
): WriteHandle {
  if (context.state.closed) throw closedError(context, file.path);
  const commands = parent.remote === '' ? [] : ['recurse', `mkdir ${quoted(parent.remote)}`];
  commands.push(`put /dev/fd/5 ${quoted(file.remote)}`);
  const running = startSmbclient(context, 'write', commands);
  const data = running.child.stdin as Writable;
  data.on('error', () => undefined);
  let state: 'open' | 'committed' | 'aborted' = 'open';

  async function failure(): Promise<StorageError> {
    const exit = await within(context, running.finished, file.path, 'write');
    return (
      printedFailure(context, running, file.path, `writing ${file.path}`) ??
      runFailure(context, running, exit, file.path, `writing ${file.path}`)
    );
  }

  return {
    async write(chunk) {
      if (state !== 'open') throw new StorageError('io', file.path, `${file.path} is ${state}`);
      try {
        await within(context, writeChunk(data, chunk), file.path, 'write');
      } catch (error) {
        running.kill();
        // A closed pipe means smbclient stopped early; its output says why.
        throw error instanceof StorageError ? error : await failure();
      }
    },
    async commit() {
      if (state !== 'open') throw new StorageError('io', file.path, `${file.path} is ${state}`);
      state = 'committed';
      data.end();
      const exit = await within(context, running.finished, file.path, 'write').catch(
        (error: unknown) => {
          running.kill();
          throw error;
        },
      );
      const failed = printedFailure(context, running, file.path, `writing ${file.path}`);
      if (failed) throw failed;
      const confirmed = running
        .text()
        .split('\n')
        .some((line) => line.startsWith('putting file '));
      if (exit.code !== 0 || !confirmed) {
        throw runFailure(context, running, exit, file.path, `writing ${file.path}`);
      }
    },
    async abort() {
      state = 'aborted';
      running.kill();
      await running.finished;
      await remove();
    },
  };
}
