/**
 * The in-process domain-event bus. Domain modules emit typed `noun:verb` events; the live hub
 * (and tests, through `next()`) listen. Listeners never throw into the emitter.
 */
import { makeEmitter, type Emitter } from '../client/emitter.ts';

/** Every domain event Ferry emits, by name. Capabilities add their events here. */
export interface FerryEvents {
  'job:completed': { name: string; id: string; output: unknown };
  'job:failed': { name: string; id: string; error: string; retryCount: number };
  'lease:lost': { name: string; holder: string; token: number };
  'event:accepted': { ids: number[]; userId: number | null; taskId: string | null };
  'event:processed': { id: number; userId: number | null; ok: boolean; error: string | null };
  /** Bytes moved so far for one transfer (throttled; the last one is always sent). */
  'transfer:progress': {
    transferId: number;
    ownerId: number | null;
    file: string | null;
    bytes: number;
    totalBytes: number;
    percent: number;
    bytesPerSecond: number;
    etaSeconds: number | null;
  };
  /** A transfer or watch profile changed status (copying, verifying, completed, failed, paused…). */
  'transfer:status': {
    transferId: number;
    ownerId: number | null;
    status: string;
    error: string | null;
  };
  /** A watch profile saw a new stable file and recorded it. */
  'watch:file-detected': {
    transferId: number;
    ownerId: number | null;
    fileId: number;
    path: string;
    size: number;
  };
  /** A watch profile's file finished (verified at the destination, or failed). */
  'watch:file-finished': {
    transferId: number;
    ownerId: number | null;
    fileId: number;
    path: string;
    ok: boolean;
    error: string | null;
  };
  /** A watch profile completed one scan cycle. */
  'watch:cycle': { transferId: number; ownerId: number | null; cycle: number };
  /** A pipeline run started, processed a file, or finished. */
  'run:started': { pipeline: string; runId: string };
  'run:file': { pipeline: string; runId: string; file: string; remitter: string; status: string };
  'run:completed': { pipeline: string; runId: string; summary: unknown };
  /** A notice for every authenticated live client (topic `system`), e.g. a node stopping. */
  'system:notice': { level: 'info' | 'warning'; message: string };
  /** A live connection was established (its session created or restored). */
  'live:connected': {
    sessionId: string;
    recovered: 'full' | 'partial' | 'none';
    missed: number;
  };
  /** A live connection closed; its session is kept for recovery. */
  'live:disconnected': { sessionId: string; code: number; reason: string };
}

/** A typed event bus over an event map: the client's emitter, one implementation for both sides. */
export type Bus<Events> = Emitter<Events>;

/** Makes a bus; `onListenerError` receives what a listener threw (it never reaches the emitter). */
export function makeBus<Events>(
  onListenerError: (error: unknown) => void = () => undefined,
): Bus<Events> {
  return makeEmitter<Events>(onListenerError);
}
