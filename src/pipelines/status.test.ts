import { describe, expect, it } from 'vitest';
import type { HttpResult } from './connectors/http.ts';
import { extractionOutcome, submissionOutcome } from './status.ts';

const rule = /invalid password/i;
const response = (status: number, body: unknown): HttpResult => ({
  kind: 'response',
  status,
  body,
  text: JSON.stringify(body),
});
const failed = (reason: string) => ({
  result: [],
  failed: [
    { status: 'failed', failure_reason: reason, detailed_failure_reason: '', file_name: 'f' },
  ],
});

describe('extraction outcome', () => {
  it.each<[string, HttpResult, string]>([
    [
      'password in failed[]',
      response(200, failed('Invalid Password')),
      'extraction_file_password_failed',
    ],
    [
      'password in a 422 body',
      response(422, failed('invalid password for sheet')),
      'extraction_file_password_failed',
    ],
    ['no matched template', response(200, failed('no matched template')), 'extraction_file_failed'],
    [
      'data format error beside rows',
      response(200, { ...failed('data format error'), result: [{}] }),
      'extraction_file_failed',
    ],
    [
      '400 without a body',
      { kind: 'response', status: 400, body: undefined, text: '' },
      'extraction_file_failed',
    ],
    ['result not a list', response(200, { result: { a: 1 } }), 'extraction_service_failed'],
    ['null body', response(200, null), 'extraction_service_failed'],
    ['401', response(401, {}), 'extraction_service_failed'],
    ['timeout', { kind: 'timeout', message: 'x' }, 'extraction_service_failed'],
    ['reset', { kind: 'network', message: 'ECONNRESET' }, 'extraction_service_failed'],
  ])('%s', (_name, result, status) => {
    expect(extractionOutcome(result, rule)).toMatchObject({ ok: false, status });
  });

  it('rows come through', () => {
    expect(extractionOutcome(response(200, { result: [{ a: 1 }], failed: [] }), rule)).toEqual({
      ok: true,
      rows: [{ a: 1 }],
    });
  });
});

describe('submission outcome', () => {
  it.each<[string, HttpResult, string]>([
    ['success', response(200, { status: 'success' }), 'success'],
    [
      'another status',
      response(200, { status: 'duplicate', message: 'seen' }),
      'submission_failed',
    ],
    ['a non-object 2xx', response(200, 'ok'), 'submission_failed'],
    ['4xx', response(409, { detail: 'conflict' }), 'submission_failed'],
    ['still denied after a refresh', response(403, {}), 'submission_internal_failed'],
    ['5xx', response(502, {}), 'submission_internal_failed'],
    ['timeout', { kind: 'timeout', message: 'x' }, 'submission_internal_failed'],
  ])('%s', (_name, result, status) => {
    expect(submissionOutcome(result).status).toBe(status);
  });
});
