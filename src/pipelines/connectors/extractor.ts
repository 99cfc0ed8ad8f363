/**
 * The extractor connector: uploads one file as multipart (`file` plus configured form fields)
 * to the URL for its remitter and maps the answer to an extraction outcome. No retries: any
 * extraction failure is final for that content (the contract).
 */
import { extractionOutcome, type ExtractOutcome } from '../status.ts';
import type { Authorizer } from './auth.ts';
import { exchange, type Fetch, type HttpResult } from './http.ts';

/** Extractor settings after defaults and secrets are applied. */
export interface ExtractorSettings {
  url: string;
  timeout_ms: number;
  form: Record<string, string>;
  headers: Record<string, string>;
  password_pattern: string;
}

/** One file to extract. */
export interface ExtractInput {
  remitter: string;
  /** The file's base name as uploaded. */
  fileName: string;
  content: Blob;
}

/** Sends files to the extraction service. */
export interface Extractor {
  /** Throws only AuthError (token endpoint failure), before anything is uploaded. */
  extract(input: ExtractInput): Promise<ExtractOutcome>;
}

/** Fills `{remitter}` and `{file_name}` in a template, URL-encoding for URLs. */
function fill(template: string, input: ExtractInput, encode: (s: string) => string): string {
  return template
    .replace(/\{remitter\}/g, encode(input.remitter))
    .replace(/\{file_name\}/g, encode(input.fileName));
}

/** An extractor for `settings`; `fetch` and the authorizer come from the caller. */
export function makeExtractor(
  settings: ExtractorSettings,
  deps: { fetch: Fetch; auth: Authorizer },
): Extractor {
  const passwordRule = new RegExp(settings.password_pattern, 'i');

  async function post(input: ExtractInput): Promise<HttpResult> {
    const form = new FormData();
    form.append('file', input.content, input.fileName);
    for (const [name, value] of Object.entries(settings.form)) {
      form.append(
        name,
        fill(value, input, (s) => s),
      );
    }
    const headers = { ...settings.headers, ...(await deps.auth.headers()) };
    return exchange(
      deps.fetch,
      fill(settings.url, input, encodeURIComponent),
      { method: 'POST', headers, body: form },
      settings.timeout_ms,
    );
  }

  return {
    async extract(input) {
      let result = await post(input);
      const denied = result.kind === 'response' && (result.status === 401 || result.status === 403);
      // A token revoked early: fetch a new one and try once more.
      if (denied && deps.auth.invalidate()) result = await post(input);
      return extractionOutcome(result, passwordRule);
    },
  };
}
