/**
 * Checksum throughput on one thread: every algorithm over a 1 GiB in-memory buffer fed in 1 MiB
 * chunks, through `makeHasher` (what transfers use) beside every other implementation installed,
 * and beside the reference CLI hashing the same bytes from a 1 GiB temp file (page cache; its
 * figure includes its reads and process start, nothing subtracted). Every candidate's digest
 * must equal ours, so a fast wrong answer cannot win.
 */
import { execFile } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { xxh3 } from '@node-rs/xxhash';
import {
  createBLAKE3,
  createMD5,
  createSHA1,
  createSHA256,
  createXXHash128,
  createXXHash3,
  createXXHash64,
  type IHasher,
} from 'hash-wasm';
import {
  checksumAlgorithms,
  checksumImplementations,
  makeHasher,
  type ChecksumAlgorithm,
} from '../src/transfers/hashing.ts';
import type { Benchmark, Quantity, Report } from './run.ts';

const MiB = 1024 * 1024;
const totalBytes = 1024 * MiB;
const chunkSize = MiB;
/** Rounds per candidate, interleaved across candidates; the median round is the figure. */
const rounds = 3;
/** Hashed once per candidate before timing, so WebAssembly and JIT tiers are warm. */
const warmupBytes = 64 * MiB;
/** A candidate this much faster than the module's choice earns a printed warning. */
const overtakeMargin = 1.1;

const run = promisify(execFile);

/** The bytes under test, whole (for one-shot hashing) and as the chunks a transfer reads. */
interface Data {
  whole: Buffer;
  chunks: Buffer[];
}

/** One way to compute an algorithm; `hash` returns the lowercase hex digest. */
interface Candidate {
  label: string;
  /** False for one-shot functions, which need the whole file in memory: not usable as is. */
  streaming: boolean;
  hash(data: Data): string;
}

function slice(whole: Buffer): Data {
  const chunks: Buffer[] = [];
  for (let at = 0; at < whole.length; at += chunkSize) {
    chunks.push(whole.subarray(at, at + chunkSize));
  }
  return { whole, chunks };
}

function ours(algorithm: ChecksumAlgorithm): Candidate {
  return {
    label: checksumImplementations[algorithm],
    streaming: true,
    hash({ chunks }) {
      const hasher = makeHasher(algorithm);
      for (const chunk of chunks) hasher.update(chunk);
      return hasher.digest();
    },
  };
}

/** A hash-wasm hasher with an instance of its own (created ahead, re-initialized per run). */
function wasm(label: string, instance: IHasher): Candidate {
  return {
    label,
    streaming: true,
    hash({ chunks }) {
      instance.init();
      for (const chunk of chunks) instance.update(chunk);
      return instance.digest('hex');
    },
  };
}

/** The other implementations of each algorithm, besides the one `makeHasher` uses. */
async function otherCandidates(): Promise<Record<ChecksumAlgorithm, Candidate[]>> {
  return {
    xxh128: [
      wasm('hash-wasm, own instance per hasher (async creation)', await createXXHash128()),
      {
        label: '@node-rs/xxhash xxh3.xxh128, one-shot (not streaming)',
        streaming: false,
        hash: ({ whole }) => xxh3.xxh128(whole).toString(16).padStart(32, '0'),
      },
    ],
    xxh3: [wasm('hash-wasm', await createXXHash3())],
    xxh64: [wasm('hash-wasm', await createXXHash64())],
    sha256: [wasm('hash-wasm', await createSHA256())],
    sha1: [wasm('hash-wasm', await createSHA1())],
    md5: [wasm('hash-wasm', await createMD5())],
    blake3: [wasm('hash-wasm', await createBLAKE3())],
  };
}

/** The reference tool for each algorithm; b3sum is optional (Debian package b3sum). */
const clis: Record<ChecksumAlgorithm, { command: string; args: string[] }> = {
  xxh128: { command: 'xxhsum', args: ['-H2'] },
  xxh3: { command: 'xxhsum', args: ['-H3'] },
  xxh64: { command: 'xxhsum', args: ['-H1'] },
  sha256: { command: 'sha256sum', args: [] },
  sha1: { command: 'sha1sum', args: [] },
  md5: { command: 'md5sum', args: [] },
  blake3: { command: 'b3sum', args: [] },
};

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted[Math.floor(sorted.length / 2)];
  if (middle === undefined) throw new Error('no rounds measured');
  return middle;
}

function gbPerSecond(bytes: number, ms: number): number {
  return bytes / 1e9 / (ms / 1000);
}

function gbps(value: number): Quantity {
  return { value, unit: 'GB/s' };
}

/** Median throughput of each candidate, and the digest they all agreed on (the first's). */
async function measureCandidates(
  candidates: Candidate[],
  data: Data,
  warmup: Data,
  report: Report,
): Promise<{ speeds: number[]; digest: string }> {
  for (const candidate of candidates) candidate.hash(warmup);
  const samples: number[][] = candidates.map(() => []);
  let expected: string | undefined;
  for (let round = 0; round < rounds; round++) {
    for (const [i, candidate] of candidates.entries()) {
      const { value: digest, ms } = await report.measure(async () => candidate.hash(data));
      expected ??= digest;
      if (digest !== expected) {
        throw new Error(`${candidate.label} digested ${digest}, makeHasher ${expected}`);
      }
      samples[i]?.push(gbPerSecond(data.whole.length, ms));
    }
  }
  if (expected === undefined) throw new Error('no candidates measured');
  return { speeds: samples.map(median), digest: expected };
}

/** Median throughput of the CLI on `file`, or why it could not run. */
async function measureCli(
  algorithm: ChecksumAlgorithm,
  file: string,
  expected: string,
  report: Report,
): Promise<{ speed: number } | { problem: string }> {
  const { command, args } = clis[algorithm];
  const samples: number[] = [];
  for (let round = 0; round < rounds; round++) {
    let timed: { value: { stdout: string }; ms: number };
    try {
      timed = await report.measure(() => run(command, [...args, file], { encoding: 'utf8' }));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      return { problem: code === 'ENOENT' ? `${command} not installed` : String(error) };
    }
    if (!timed.value.stdout.includes(expected)) {
      return { problem: `${command} printed ${timed.value.stdout.trim()}, expected ${expected}` };
    }
    samples.push(gbPerSecond(totalBytes, timed.ms));
  }
  return { speed: median(samples) };
}

async function measureAlgorithm(
  algorithm: ChecksumAlgorithm,
  others: Candidate[],
  data: Data,
  warmup: Data,
  file: string,
  report: Report,
): Promise<void> {
  const mine = ours(algorithm);
  const { speeds, digest } = await measureCandidates([mine, ...others], data, warmup, report);
  const ourSpeed = speeds[0] ?? 0;
  const measured = others.map((candidate, i) => ({ candidate, speed: speeds[i + 1] ?? 0 }));
  const streaming = measured.filter((m) => m.candidate.streaming).sort((a, b) => b.speed - a.speed);
  const name = `hashing.${algorithm}`;

  const [runnerUp, ...rest] = streaming;
  if (runnerUp === undefined) throw new Error(`${algorithm}: no other streaming candidate`);
  report.figure(name, gbps(ourSpeed), { name: runnerUp.candidate.label, ...gbps(runnerUp.speed) });
  report.note(`${name} uses ${mine.label}`);
  for (const m of [...rest, ...measured.filter((m) => !m.candidate.streaming)]) {
    report.figure(`${name} (other candidate)`, gbps(ourSpeed), {
      name: m.candidate.label,
      ...gbps(m.speed),
    });
  }
  if (runnerUp.speed > ourSpeed * overtakeMargin) {
    report.note(
      `WARNING ${name}: ${runnerUp.candidate.label} measured faster than the module's choice; ` +
        'revisit checksumImplementations in src/transfers/hashing.ts',
    );
  }

  const cli = await measureCli(algorithm, file, digest, report);
  const cliName = [clis[algorithm].command, ...clis[algorithm].args].join(' ');
  if ('problem' in cli) {
    report.note(`${name} (vs CLI): skipped, ${cli.problem}`);
  } else {
    report.figure(`${name} (vs CLI)`, gbps(ourSpeed), {
      name: `${cliName} on a 1 GiB file`,
      ...gbps(cli.speed),
    });
  }
}

/** Every checksum algorithm, every implementation we have, and the reference CLIs. */
export const hashingBenchmark: Benchmark = {
  name: 'hashing',
  description:
    `checksum throughput on one thread (GB/s = 10^9 bytes/s, median of ${rounds} rounds after a ` +
    `${warmupBytes / MiB} MiB warm-up): a 1 GiB in-memory buffer fed in 1 MiB chunks through ` +
    'makeHasher, beside the runner-up implementation and the reference CLI on a 1 GiB temp ' +
    'file in the page cache (its reads and process start included)',
  async run(report) {
    const cpu = cpus()[0]?.model ?? 'unknown CPU';
    report.note(
      `node ${process.version}, OpenSSL ${process.versions.openssl}, ${cpus().length} x ${cpu}`,
    );
    noteLoad(report, 'start');
    const whole = randomFillSync(Buffer.allocUnsafe(totalBytes));
    const data = slice(whole);
    const warmup = slice(whole.subarray(0, warmupBytes));
    const dir = mkdtempSync(path.join(tmpdir(), 'ferry-bench-hashing-'));
    try {
      const file = path.join(dir, '1GiB.bin');
      writeFileSync(file, whole);
      const others = await otherCandidates();
      for (const algorithm of checksumAlgorithms) {
        await measureAlgorithm(algorithm, others[algorithm], data, warmup, file, report);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    noteLoad(report, 'end');
  },
};

/** Other processes steal the one thread these figures measure; say how busy the machine was. */
function noteLoad(report: Report, when: string): void {
  const [oneMinute = 0] = loadavg();
  const busy = oneMinute > cpus().length ? ' (busier than its CPU count: figures read low)' : '';
  report.note(`load average at ${when}: ${oneMinute.toFixed(2)} over 1 min${busy}`);
}
