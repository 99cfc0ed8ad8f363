import { readFileSync } from 'node:fs';
import path from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers/stores.ts';
import type { JobState } from './jobs-types.ts';
import { makeReporter } from './reporters.ts';

const work = tempDir('ferry-reporters-');
afterAll(work.remove);

const state: JobState = {
  jobId: 'j-1',
  status: 'completed',
  fenceToken: 2,
  zones: {
    eu: {
      zone: 'eu',
      status: 'completed',
      nodeId: 'n',
      url: 'http://a:1',
      fenceToken: 2,
      cancelled: false,
      items: 2,
    },
    us: {
      zone: 'us',
      status: 'completed',
      nodeId: 'm',
      url: 'http://c:3',
      fenceToken: 1,
      cancelled: false,
      items: 1,
    },
  },
  result: { files: 3 },
  final: true,
  orphaned: false,
  updatedAt: 0,
};

async function report(file: string) {
  const errors: unknown[] = [];
  const reporter = makeReporter({
    file: path.join(work.dir, file),
    onError: (e) => errors.push(e),
  });
  reporter.callbacks.onItemResult?.({
    zone: 'eu',
    items: [
      { path: 'a, "quoted".bin', sha256: 'aa', size: 1 },
      { path: 'été/東京\nnewline.bin', sha256: 'bb', size: 2, extra: { nested: true } },
    ],
  });
  reporter.callbacks.onItemResult?.({
    zone: 'us',
    items: [{ path: 'c.bin', sha256: 'cc', size: 3 }],
  });
  reporter.callbacks.onFinal?.(state);
  await reporter.written;
  return { errors, text: errors.length ? '' : readFileSync(path.join(work.dir, file), 'utf8') };
}

describe('reporters', () => {
  it('write JSON with every item and its zone', async () => {
    const { text, errors } = await report('r.json');
    expect(errors).toEqual([]);
    const json = JSON.parse(text) as { job_id: string; items: { zone: string; path: string }[] };
    expect(json.job_id).toBe('j-1');
    expect(json.items.map((i) => `${i.zone}:${i.path}`)).toEqual([
      'eu:a, "quoted".bin',
      'eu:été/東京\nnewline.bin',
      'us:c.bin',
    ]);
  });

  it('write RFC 4180 CSV: quoted commas, quotes and newlines, unicode as is', async () => {
    const { text } = await report('r.csv');
    expect(text).toBe(
      [
        'zone,path,sha256,size,extra',
        'eu,"a, ""quoted"".bin",aa,1,',
        'eu,"été/東京\nnewline.bin",bb,2,"{""nested"":true}"',
        'us,c.bin,cc,3,',
        '',
      ].join('\r\n'),
    );
  });

  it('write XML with a maintained builder: per zone, escaped text', async () => {
    const { text } = await report('r.xml');
    const parsed = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@_' }).parse(
      text,
    ) as {
      job: {
        '@_id': string;
        zone: { '@_name': string; item: { path: string } | { path: string }[] }[];
      };
    };
    expect(parsed.job['@_id']).toBe('j-1');
    const eu = parsed.job.zone.find((z) => z['@_name'] === 'eu');
    expect(Array.isArray(eu?.item) ? eu.item.map((i) => i.path) : []).toEqual([
      'a, "quoted".bin',
      'été/東京\nnewline.bin',
    ]);
  });

  it('report a failure to write and never throw', async () => {
    const { errors } = await report('missing-folder/r.json');
    expect(errors).toHaveLength(1);
    expect(String(errors[0])).toMatch(/ENOENT/);
  });
});
