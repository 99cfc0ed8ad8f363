/** The `pipelines` config section: defaults, refusals with fixes, secrets masked in print. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers/stores.ts';
import { loadConfig, maskedConfig } from '../config/index.ts';
import { isFerryError } from '../errors/index.ts';
import { pipelineSettings } from './settings.ts';

const folder = tempDir('ferry-pipeline-config-');
afterAll(() => {
  folder.remove();
});

const base = {
  name: 'invoices',
  source: 'drop',
  archive: 'archive',
  extractor: { url: 'http://127.0.0.1:9/extract/{remitter}' },
  submitter: { url: 'http://127.0.0.1:9/submit' },
  notifier: { url: 'http://127.0.0.1:9/notify' },
};

function load(pipelines: unknown[], env: Record<string, string> = {}) {
  const file = path.join(folder.dir, 'ferry.config.json');
  writeFileSync(file, JSON.stringify({ pipelines }));
  return loadConfig({ cwd: folder.dir, env });
}

function problems(pipelines: unknown[], env: Record<string, string> = {}): string[] {
  try {
    load(pipelines, env);
  } catch (error) {
    if (isFerryError(error)) return error.extra.problems as string[];
    throw error;
  }
  throw new Error('expected FERRY_ERR_CONFIG_INVALID');
}

describe('pipelines config', () => {
  it('fills every default and resolves a local source against the working directory', () => {
    const [p] = load([base]).pipelines;
    expect(p).toMatchObject({
      source: path.join(folder.dir, 'drop'),
      default: false,
      hash: 'md5',
      stability: { min_age_seconds: 60 },
      temp_patterns: expect.arrayContaining(['~$*', '*.part', '*.tmp', '.*']),
      extractor: {
        timeout_ms: 60000,
        password_pattern: 'invalid password',
        auth: { type: 'none' },
      },
      submitter: { retries: 3, retry_delay_ms: 1000, fields: {} },
    });
    const settings = pipelineSettings(load([base]).pipelines[0] ?? base, {});
    expect(settings.archiveRoot).toBe(path.join(folder.dir, 'drop', 'archive'));
    // The archive inside the source is never scanned.
    expect(settings.filter('archive/acme/x.pdf')).toBe('excluded');
    expect(settings.filter('acme/~$x.xlsx')).toBe('temp');
  });

  it('refuses unknown keys inside a pipeline, suggesting the sibling meant', () => {
    expect(
      problems([{ ...base, extractor: { ...base.extractor, timeot_ms: 5 }, shedule: 'x' }]),
    ).toEqual([
      'unknown key pipelines.0.shedule; did you mean pipelines.0.schedule?',
      'unknown key pipelines.0.extractor.timeot_ms; did you mean pipelines.0.extractor.timeout_ms?',
    ]);
  });

  it('names missing and mistyped keys', () => {
    const { notifier: _n, ...noNotifier } = base;
    expect(problems([{ ...noNotifier, batch_size: 0 }])).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^pipelines\.0: .*notifier/),
        expect.stringMatching(/^pipelines\.0\.batch_size: .*1/),
      ]),
    );
  });

  it('is set in the config file only', () => {
    expect(problems([], { FERRY_PIPELINES: '[]' })).toEqual([
      'pipelines (from FERRY_PIPELINES): is set in the config file only (a list of mappings)',
    ]);
  });

  it('checks what the schema cannot: names, defaults, URLs, sources, policies, secrets', () => {
    const found = problems([
      {
        ...base,
        default: true,
        schedule: 'every day',
        stability: { min_age_seconds: 1, samples: { count: 2, interval_ms: 1 } },
      },
      {
        ...base,
        default: true,
        source: 'smb://host/share',
        version_patterns: ['_(\\d{8})', '(?<date>'],
        extractor: { url: 'ftp://x/{partner}', auth: { type: 'oauth2', client_id: 'a' } },
        submitter: { url: 'http://x/{remitter}', auth: { type: 'bearer', token: 'env:NOPE' } },
      },
    ]);
    expect(found).toEqual([
      'pipelines.0.stability: set either min_age_seconds or samples, not both',
      "pipelines.0.schedule: must be a cron expression of 5 or 6 fields; got 'every day'",
      "pipelines.1.name: 'invoices' is used by an earlier pipeline",
      expect.stringMatching(/^pipelines\.1\.source: Invalid SMB URL: the user name is missing/),
      'pipelines.1.extractor.url must be http(s)',
      'pipelines.1.extractor.auth.token_url: required when type is oauth2',
      'pipelines.1.extractor.auth.client_secret: required when type is oauth2',
      'pipelines.1.submitter.url: {remitter} is only replaced in extractor.url',
      'pipelines.1.submitter.auth.token: variable NOPE is not set',
      'pipelines.1.version_patterns.0: needs a (?<date>…) group for the 8-digit date',
      expect.stringMatching(/^pipelines\.1\.version_patterns\.1: Invalid regular expression/),
      'pipelines: at most one pipeline may set default: true',
    ]);
  });

  it('resolves secrets from env: and file:, and masks inline secrets in config print', () => {
    const secretFile = path.join(folder.dir, 'secret.txt');
    writeFileSync(secretFile, 'from-file\n');
    const config = load(
      [
        {
          ...base,
          source: 'smb://WORK;alice@files.example:4450/drop/in',
          source_password: 'hunter2',
          submitter: {
            ...base.submitter,
            auth: {
              type: 'oauth2',
              token_url: 'http://x/token',
              client_id: 'c',
              client_secret: `file:${secretFile}`,
            },
          },
          notifier: { ...base.notifier, auth: { type: 'bearer', token: 'env:NOTIFY_TOKEN' } },
        },
      ],
      { NOTIFY_TOKEN: 'from-env' },
    );
    const [p] = config.pipelines;
    if (!p) throw new Error('no pipeline');
    const settings = pipelineSettings(p, { NOTIFY_TOKEN: 'from-env' });
    expect(settings.source).toEqual({
      kind: 'smb',
      shareUrl: 'smb://WORK;alice@files.example:4450/drop',
      password: 'hunter2',
      root: 'in',
    });
    expect(settings.archiveRoot).toBe('in/archive');
    expect(settings.auth.submitter.client_secret).toBe('from-file');
    expect(settings.auth.notifier.token).toBe('from-env');
    const printed = JSON.stringify(maskedConfig(config));
    expect(printed).not.toContain('hunter2');
    expect(printed).toContain(`file:${secretFile}`);
  });

  it('takes endpoint URLs from env: references, and names a missing or wrong one', () => {
    const env = { EXTRACT_URL: 'http://extract.example/x/{remitter}', NOTIFY_URL: 'ftp://n' };
    const found = problems(
      [
        {
          ...base,
          extractor: { url: 'env:EXTRACT_URL' },
          submitter: { url: 'env:SUBMIT_URL', auth: { type: 'oauth2', token_url: 'file:/t' } },
          notifier: { url: 'env:NOTIFY_URL' },
        },
      ],
      env,
    );
    expect(found).toEqual([
      'pipelines.0.submitter.url names variable SUBMIT_URL, which is not set',
      'pipelines.0.submitter.auth.client_id: required when type is oauth2',
      'pipelines.0.submitter.auth.client_secret: required when type is oauth2',
      'pipelines.0.submitter.auth.token_url may reference env:NAME only, not file:',
      'pipelines.0.notifier.url must be http(s)',
    ]);
    const good = { ...env, SUBMIT_URL: 'https://submit.example/in', NOTIFY_URL: 'http://n/' };
    const [p] = load(
      [
        {
          ...base,
          ...{ extractor: { url: 'env:EXTRACT_URL' } },
          submitter: { url: 'env:SUBMIT_URL' },
          notifier: { url: 'env:NOTIFY_URL' },
        },
      ],
      good,
    ).pipelines;
    if (!p) throw new Error('no pipeline');
    const { config } = pipelineSettings(p, good);
    expect([config.extractor.url, config.submitter.url, config.notifier.url]).toEqual([
      'http://extract.example/x/{remitter}',
      'https://submit.example/in',
      'http://n/',
    ]);
  });
});
