/**
 * Batch status pushes: status changes gathered per owner into `job:status-batch` messages of at
 * most 1000 jobs, the latest status of each job and zone winning, nothing held back on stop.
 */
import { describe, expect, it } from 'vitest';
import { makeBus, type FerryEvents } from '../bus/bus.ts';
import { makeStatusBatcher } from './status-batch.ts';

type Batch = FerryEvents['job:status-batch'];

function setup() {
  const bus = makeBus<FerryEvents>();
  const batches: Batch[] = [];
  bus.on('job:status-batch', (b) => batches.push(b));
  // A window longer than any test: only a full batch or stop() sends.
  const batcher = makeStatusBatcher(bus, 60_000);
  batcher.start();
  const status = (jobId: string, ownerId: number | null, status: string, zone: string | null) => {
    bus.emit('job:status', { jobId, ownerId, status, zone, fenceToken: 1 });
  };
  return { bus, batches, batcher, status };
}

describe('job status batches', () => {
  it('sends 2500 status changes of one owner as batches of at most 1000', () => {
    const { batches, batcher, status } = setup();
    for (let i = 0; i < 2500; i++) status(`job-${String(i)}`, 7, 'running', null);
    expect(batches.map((b) => b.count)).toEqual([1000, 1000]);
    batcher.stop();
    expect(batches.map((b) => b.count)).toEqual([1000, 1000, 500]);
    expect(batches.every((b) => b.ownerId === 7 && b.items.length === b.count)).toBe(true);
    const ids = batches.flatMap((b) => b.items.map((i) => i.jobId));
    expect(new Set(ids).size).toBe(2500);
  });

  it('keeps one batch per owner and the latest status of each job and zone', () => {
    const { batches, batcher, status } = setup();
    status('a', 1, 'queued', null);
    status('a', 1, 'running', 'eu');
    status('b', 2, 'running', null);
    status('a', 1, 'running', null);
    status('a', 1, 'completed', 'eu');
    batcher.flush();
    expect(batches).toEqual([
      {
        ownerId: 1,
        count: 2,
        items: [
          { jobId: 'a', zone: null, status: 'running', fenceToken: 1 },
          { jobId: 'a', zone: 'eu', status: 'completed', fenceToken: 1 },
        ],
      },
      {
        ownerId: 2,
        count: 1,
        items: [{ jobId: 'b', zone: null, status: 'running', fenceToken: 1 }],
      },
    ]);
    batcher.stop();
    expect(batches.length).toBe(2);
  });

  it('sends what gathered when its window ends', async () => {
    const bus = makeBus<FerryEvents>();
    const batcher = makeStatusBatcher(bus, 10);
    batcher.start();
    const next = bus.next('job:status-batch', () => true, 5_000);
    bus.emit('job:status', {
      jobId: 'x',
      ownerId: null,
      status: 'queued',
      zone: null,
      fenceToken: 0,
    });
    expect((await next).items).toEqual([
      { jobId: 'x', zone: null, status: 'queued', fenceToken: 0 },
    ]);
    batcher.stop();
  });
});
