/**
 * `npm run bench [name...]`: runs the named benchmarks (all when none is named). Each figure is
 * printed on one line beside a peer measured in the same run, because a figure alone says little
 * about this machine: `name: value unit (peer <name>: value unit, ratio Nx)`.
 */
import { clusterBenchmark } from './cluster.ts';
import { dashboardBenchmark } from './dashboard.ts';
import { eventsBenchmark } from './events.ts';
import { hashingBenchmark } from './hashing.ts';
import { jobsBenchmark } from './jobs.ts';
import { liveBenchmark } from './live.ts';
import { sdkBenchmark } from './sdk.ts';
import { soakBenchmark } from './soak.ts';
import { startupBenchmark } from './startup.ts';
import { transfersBenchmark } from './transfers.ts';

/** A measured amount; `value` is printed rounded. */
export interface Quantity {
  value: number;
  unit: string;
}

/** What a benchmark gets: a printer for figures and notes, and a timer. */
export interface Report {
  /** Prints one figure; `ratio` is ours divided by the peer's (above 1 means ours is larger). */
  figure(name: string, ours: Quantity, peer?: Quantity & { name: string }): void;
  /** Prints a line that is not a figure (counts, skipped parts and why). */
  note(text: string): void;
  /** Runs `fn` and returns its value with the wall time it took, in milliseconds. */
  measure<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }>;
}

/** One benchmark; `run` resolves once everything it opened is closed again. */
export interface Benchmark {
  readonly name: string;
  readonly description: string;
  run(report: Report): Promise<void>;
}

const benchmarks: readonly Benchmark[] = [
  jobsBenchmark,
  startupBenchmark,
  eventsBenchmark,
  hashingBenchmark,
  transfersBenchmark,
  liveBenchmark,
  soakBenchmark,
  dashboardBenchmark,
  sdkBenchmark,
  clusterBenchmark,
];

function format(q: Quantity): string {
  const digits = Math.abs(q.value) >= 100 ? 0 : Math.abs(q.value) >= 1 ? 2 : 4;
  return `${q.value.toFixed(digits)} ${q.unit}`;
}

const report: Report = {
  figure(name, ours, peer) {
    const versus = peer
      ? ` (peer ${peer.name}: ${format(peer)}, ratio ${(ours.value / peer.value).toFixed(2)}x)`
      : '';
    console.log(`${name}: ${format(ours)}${versus}`);
  },
  note(text) {
    console.log(`  ${text}`);
  },
  async measure(fn) {
    const started = process.hrtime.bigint();
    const value = await fn();
    return { value, ms: Number(process.hrtime.bigint() - started) / 1e6 };
  },
};

const names = process.argv.slice(2);
const unknown = names.filter((n) => !benchmarks.some((b) => b.name === n));
if (unknown.length > 0) {
  console.error(
    `unknown benchmark ${unknown.join(', ')}; known: ${benchmarks.map((b) => b.name).join(', ')}`,
  );
  process.exit(2);
}

for (const bench of benchmarks.filter((b) => names.length === 0 || names.includes(b.name))) {
  console.log(`# ${bench.name}: ${bench.description}`);
  try {
    await bench.run(report);
  } catch (error) {
    // One broken benchmark should not hide the others' figures; the exit code still says so.
    console.error(`${bench.name} failed:`, error);
    process.exitCode = 1;
  }
}
