/**
 * The storage boundary: what intake, transfers and pipelines need from a place that holds files.
 * Local paths (including kernel-mounted shares), SMB and SFTP implement it; S3 plugs in later.
 * Every implementation passes the one conformance suite in `conformance.ts`.
 *
 * Paths are POSIX-style strings interpreted by the backend: absolute filesystem paths for
 * `local`, paths relative to the share root for `smb`.
 */

/** What a listing or stat reports about one file. */
export interface FileInfo {
  /** The backend path of the file. */
  readonly path: string;
  readonly size: number;
  readonly mtimeMs: number;
  /** Change time where the backend knows it (SMB: change time; local: ctime). */
  readonly ctimeMs: number;
  readonly kind: 'file' | 'directory';
  /** POSIX permission bits where known. */
  readonly mode?: number;
}

/** What a copy carries over from its source besides the bytes. */
export interface FileAttributes {
  mtimeMs?: number;
  /** Permission bits. */
  mode?: number;
}

/** An open destination file: written in order, then committed (durable) or aborted (removed). */
export interface WriteHandle {
  write(chunk: Uint8Array): Promise<void>;
  /** Flushes to stable storage (fsync where the backend has it) and closes. */
  commit(): Promise<void>;
  /**
   * Sets the open file's mode and modification time before the commit (by descriptor, so the
   * commit's fsync makes them durable too). Absent where the backend sets them only by path
   * (`Storage.setAttributes`, after the commit).
   */
  setAttributes?(attributes: FileAttributes): Promise<void>;
  /** Closes and removes the partial file; never throws for a file already gone. */
  abort(): Promise<void>;
}

/**
 * A destination file that can be continued after a crash: `sync` makes the bytes written so far
 * durable without closing, so the caller can record that offset and later reopen the file there.
 */
export interface ResumableWriteHandle extends WriteHandle {
  /** Flushes what was written so far to stable storage; the handle stays open. */
  sync(): Promise<void>;
}

export interface ReadOptions {
  /** Bytes per chunk; >= 1 MiB keeps hashing and copying at disk speed. */
  chunkSize?: number;
  signal?: AbortSignal;
  /**
   * The caller is done with each chunk before it asks for the next (hash it, write it, drop it),
   * so a backend may reuse buffers and read the next chunk while the caller works on this one.
   */
  transient?: boolean;
}

/** How `Storage.rename` behaves. */
export interface RenameOptions {
  overwrite?: boolean;
  /** Leave the folder sync to the caller's `syncFolder` (one per folder for a batch). */
  deferSync?: boolean;
}

/** One place that holds files. */
export interface Storage {
  /** Backend name, for logs and errors. */
  readonly kind: 'local' | 'smb' | 'sftp';
  /** A human description of where this is (`/srv/in`, `smb://alice@host/share`). */
  readonly location: string;
  /**
   * The backend holding `path`, where one storage routes paths to several (endpoints); without
   * it, `kind`. Use {@link kindAt}.
   */
  kindAt?(path: string): Storage['kind'];
  /** The file or folder at `path`, or undefined when nothing is there. */
  stat(path: string): Promise<FileInfo | undefined>;
  /** Files (never folders) under `dir`, recursively unless `recursive` is false. */
  list(dir: string, options?: { recursive?: boolean }): Promise<FileInfo[]>;
  /** Reads a file as a sequence of chunks. */
  read(path: string, options?: ReadOptions): AsyncIterable<Uint8Array>;
  /** Creates (or truncates) `path` for writing; parent folders are created. */
  write(path: string): Promise<WriteHandle>;
  /**
   * Opens `path` to continue writing at `offset` (0: creates or truncates it), cutting off
   * anything after `offset`. Undefined where the backend cannot continue a partial file (a
   * router answers per path), so the caller writes it whole.
   */
  resumeWrite?(path: string, offset: number): Promise<ResumableWriteHandle | undefined>;
  /**
   * Moves `from` to `to`, creating `to`'s parent folders. Refuses to replace an existing `to`
   * unless `overwrite`; the refusal is a `StorageError` with reason 'exists'. The rename is
   * durable when this resolves, unless `deferSync`: then the caller makes it durable with one
   * `syncFolder` per folder (a batch of renames into one folder pays for one folder sync).
   */
  rename(from: string, to: string, options?: RenameOptions): Promise<void>;
  /** Makes renames and removals inside `dir` durable (fsyncs the folder) where the backend can. */
  syncFolder?(dir: string): Promise<void>;
  /** Removes a file; a file already gone is not an error. */
  remove(path: string): Promise<void>;
  /** Removes `dir` if empty (never its contents); true when it was removed. */
  removeEmptyDir(dir: string): Promise<boolean>;
  /** Sets modification time and permission bits, where the backend supports them. */
  setAttributes?(path: string, attributes: FileAttributes): Promise<void>;
  /** Free bytes on the volume holding `dir`, where the backend can tell. */
  freeSpace?(dir: string): Promise<number | undefined>;
  /** Releases connections; the storage is unusable afterwards. */
  close(): Promise<void>;
}

/**
 * Why a storage operation failed, in backend-independent terms. `invalid_name`: the backend
 * cannot hold that name (SMB: `\ : * ? " < > |`, or `..` leaving the base folder); retrying
 * cannot help.
 */
export type StorageFailure =
  'not_found' | 'exists' | 'permission_denied' | 'no_space' | 'unreachable' | 'invalid_name' | 'io';

/** A storage operation's failure with a backend-independent reason. */
export class StorageError extends Error {
  readonly reason: StorageFailure;
  readonly path: string;
  constructor(
    reason: StorageFailure,
    path: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StorageError';
    this.reason = reason;
    this.path = path;
  }
}

/** The kind of backend that holds `path` (a router answers per path). */
export function kindAt(storage: Storage, path: string): Storage['kind'] {
  return storage.kindAt?.(path) ?? storage.kind;
}
