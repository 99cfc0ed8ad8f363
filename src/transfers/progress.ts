/**
 * Progress of one transfer across its files: bytes, percent, rate and ETA, emitted as
 * `transfer:progress` (throttled) and written to the row at most once a second.
 */
import type { Bus, FerryEvents } from '../bus/bus.ts';

export interface ProgressMeter {
  /** Bytes of the file in flight so far (resets per file). */
  file(name: string, bytes: number): void;
  /** The file in flight finished (or failed): its bytes count as done. */
  fileDone(bytes: number): void;
  readonly bytes: number;
  readonly percent: number;
}

export interface MeterOptions {
  transferId: number;
  ownerId: number | null;
  totalBytes: number;
  bus: Bus<FerryEvents>;
  /** Writes bytes and percent to the store; resolving false means "stop" (cancelled). */
  persist: (bytes: number, percent: number) => Promise<boolean>;
  onStop: () => void;
  onError: (error: unknown) => void;
  now?: () => number;
  emitEveryMs?: number;
  persistEveryMs?: number;
}

export function makeProgressMeter(options: MeterOptions): ProgressMeter {
  const now = options.now ?? Date.now;
  const startedAt = now();
  let done = 0;
  let inFlight = 0;
  let lastEmit = 0;
  let lastPersist = startedAt;
  let persisting = false;

  const percentOf = (bytes: number) =>
    options.totalBytes > 0 ? Math.min(100, (bytes / options.totalBytes) * 100) : 100;

  function report(name: string | null, force: boolean): void {
    const t = now();
    const bytes = done + inFlight;
    if (force || t - lastEmit >= (options.emitEveryMs ?? 250)) {
      lastEmit = t;
      const seconds = Math.max((t - startedAt) / 1000, 0.001);
      const rate = bytes / seconds;
      options.bus.emit('transfer:progress', {
        transferId: options.transferId,
        ownerId: options.ownerId,
        file: name,
        bytes,
        totalBytes: options.totalBytes,
        percent: percentOf(bytes),
        bytesPerSecond: rate,
        etaSeconds: rate > 0 ? Math.max(0, (options.totalBytes - bytes) / rate) : null,
      });
    }
    if (!persisting && (force || t - lastPersist >= (options.persistEveryMs ?? 1000))) {
      lastPersist = t;
      persisting = true;
      options
        .persist(bytes, percentOf(bytes))
        .then((goOn) => {
          if (!goOn) options.onStop();
        }, options.onError)
        .finally(() => {
          persisting = false;
        });
    }
  }

  return {
    file(name, bytes) {
      inFlight = bytes;
      report(name, false);
    },
    fileDone(bytes) {
      done += bytes;
      inFlight = 0;
      report(null, true);
    },
    get bytes() {
      return done + inFlight;
    },
    get percent() {
      return percentOf(done + inFlight);
    },
  };
}
