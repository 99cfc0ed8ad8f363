/**
 * Ledger statuses of a pipeline file and how downstream answers map to them. One table, so the
 * run, the reads and the docs agree on which statuses are final, which notify and which retry.
 */
import { describe, isObject, type HttpResult } from './connectors/http.ts';

/** Every outcome a claimed file can end in. */
export const outcomes = [
  'success',
  'extraction_file_password_failed',
  'extraction_file_failed',
  'extraction_service_failed',
  'submission_failed',
  'submission_internal_failed',
  /** A run crashed after `submitting`: the submitter may have the records, so no resend. */
  'submission_unknown',
] as const;

/** One of `outcomes`. */
export type Outcome = (typeof outcomes)[number];

/** A failure outcome (everything but success). */
export type Failure = Exclude<Outcome, 'success'>;

/** Outcomes a later run claims again (besides a released claim). */
export const retryableOutcomes: readonly Outcome[] = ['submission_internal_failed'];

/** Outcomes that notify the operations queue once each. */
export const notifiedOutcomes: readonly Outcome[] = outcomes.filter((o) => o !== 'success');

/** Written just before the submitter is called (state before action, invariant 3). */
export const submittingStatus = 'submitting';

/** What the extractor's answer means for the file. */
export type ExtractOutcome =
  { ok: true; rows: unknown[] } | { ok: false; status: Failure; reason: string; detail?: unknown };

interface FailedEntry {
  status?: unknown;
  failure_reason?: unknown;
  detailed_failure_reason?: unknown;
  file_name?: unknown;
}

function failedEntries(body: unknown): FailedEntry[] {
  if (!isObject(body) || !Array.isArray(body.failed)) return [];
  return body.failed.filter(isObject);
}

/** The reasons of `failed[]` entries, joined for the ledger. */
function reasonOf(entries: FailedEntry[]): string {
  return entries
    .map((e) =>
      [e.failure_reason, e.detailed_failure_reason]
        .filter((r): r is string => typeof r === 'string' && r !== '')
        .join(': '),
    )
    .filter((r) => r !== '')
    .join('; ');
}

/** A password failure when any failure reason matches the rule. */
function fileFailure(
  entries: FailedEntry[],
  passwordRule: RegExp,
  fallback: string,
): ExtractOutcome {
  const password = entries.some((e) =>
    [e.failure_reason, e.detailed_failure_reason].some(
      (r) => typeof r === 'string' && passwordRule.test(r),
    ),
  );
  const reason = reasonOf(entries) || fallback;
  const status = password ? 'extraction_file_password_failed' : 'extraction_file_failed';
  return { ok: false, status, reason, detail: entries.length > 0 ? entries : undefined };
}

/**
 * Maps an extractor answer: `failed[]` entries → password or file failure; HTTP 400/422 → file
 * failure; a non-object body, a missing or empty `result`, timeouts, resets and every other
 * status → service failure.
 */
export function extractionOutcome(result: HttpResult, passwordRule: RegExp): ExtractOutcome {
  const service = (reason: string): ExtractOutcome => ({
    ok: false,
    status: 'extraction_service_failed',
    reason,
  });
  if (result.kind !== 'response') return service(describe(result));
  const entries = failedEntries(result.body);
  if (result.status === 400 || result.status === 422) {
    return fileFailure(entries, passwordRule, describe(result));
  }
  if (result.status < 200 || result.status >= 300) return service(describe(result));
  if (!isObject(result.body))
    return service(`the answer is not a JSON object: ${describe(result)}`);
  if (entries.length > 0) return fileFailure(entries, passwordRule, 'failed');
  const rows = result.body.result;
  if (!Array.isArray(rows) || rows.length === 0) {
    return service(`the answer has no result rows: ${describe(result)}`);
  }
  return { ok: true, rows };
}

/** What the submitter's answer means for the file. */
export type SubmitOutcome =
  | { status: 'success' }
  | { status: 'submission_failed' | 'submission_internal_failed'; reason: string };

/**
 * Maps a submitter answer after retries: 2xx with `status: success` → success; other 2xx and
 * 4xx → submission_failed (the file stays); a transient failure still there → internal.
 */
export function submissionOutcome(result: HttpResult): SubmitOutcome {
  if (result.kind !== 'response' || result.status >= 500) {
    return { status: 'submission_internal_failed', reason: describe(result) };
  }
  if (result.status === 401 || result.status === 403) {
    // Credentials are the service's problem, not the file's: later runs retry.
    return { status: 'submission_internal_failed', reason: describe(result) };
  }
  const body = result.body;
  if (result.status < 300 && isObject(body) && body.status === 'success')
    return { status: 'success' };
  const said = isObject(body)
    ? [body.status, body.message, body.detail].filter((v) => typeof v === 'string').join(': ')
    : '';
  return { status: 'submission_failed', reason: said || describe(result) };
}

/** Which names a pipeline reports statuses with (`status_names`). */
export type StatusNames = 'ferry' | 'coordinator';

/** The coordinator's names for Ferry's statuses where they differ; the others already match. */
const coordinatorNames: Readonly<Record<string, string>> = { submission_failed: 'itm_failed' };

/** A status as a pipeline reports it: Ferry's name, or the coordinator's. The ledger keeps Ferry's. */
export function shownStatus(status: string, names: StatusNames): string {
  return names === 'coordinator' ? (coordinatorNames[status] ?? status) : status;
}

/** Ferry's name for a status written in either naming (filters accept both). */
export function ferryStatus(status: string): string {
  const found = Object.entries(coordinatorNames).find(([, theirs]) => theirs === status);
  return found ? found[0] : status;
}

/** A count per status (a run summary's `failed`) with the keys renamed for `names`. */
export function shownCounts(
  counts: Record<string, number>,
  names: StatusNames,
): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).map(([k, n]) => [shownStatus(k, names), n]));
}
