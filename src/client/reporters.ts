/**
 * Reporters (Node only: they write files): a job's per-item results, collected from its pushes,
 * written to a JSON, CSV or XML file when the job ends. Best effort: a reporter that cannot
 * write reports the error and never fails the job. Exported as `ferry/client/reporters`, apart
 * from the browser-safe entry.
 */
import { randomUUID } from 'node:crypto';
import { rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { XMLBuilder } from 'fast-xml-parser';
import type { JobCallbacks, JobState } from './jobs-types.ts';

export type ReportFormat = 'json' | 'csv' | 'xml';

/** One item as reported: its zone and the fields the server sent. */
export interface ReportItem {
  zone: string;
  [field: string]: unknown;
}

export interface ReporterOptions {
  /** Where to write; the format follows the extension unless given. */
  file: string;
  format?: ReportFormat;
  /** A failure to write (default: printed to stderr). The job is not affected. */
  onError?: (error: unknown) => void;
}

function formatOf(options: ReporterOptions): ReportFormat {
  if (options.format) return options.format;
  const ext = path.extname(options.file).slice(1).toLowerCase();
  if (ext === 'json' || ext === 'csv' || ext === 'xml') return ext;
  throw new Error(
    `cannot tell the report format from ${options.file}; pass format json, csv or xml`,
  );
}

const cell = (value: unknown): string => {
  const text =
    typeof value === 'string'
      ? value
      : value === undefined || value === null
        ? ''
        : JSON.stringify(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
};

/** RFC 4180 CSV: one row per item, the columns the union of the items' fields. */
export function toCsv(items: readonly ReportItem[]): string {
  const columns = [
    'zone',
    ...new Set(items.flatMap((i) => Object.keys(i)).filter((k) => k !== 'zone')),
  ];
  const rows = items.map((item) => columns.map((c) => cell(item[c])).join(','));
  return `${[columns.map(cell).join(','), ...rows].join('\r\n')}\r\n`;
}

// fast-xml-parser re-exports the builder from fast-xml-builder and marks this path deprecated;
// the one package.json dependency stays, as in src/mhl/xml-write.ts.
// eslint-disable-next-line @typescript-eslint/no-deprecated
const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  format: true,
  indentBy: '  ',
  processEntities: true,
});

/** XML: `<job id status><zone name status><item><field>…</field></item></zone></job>`. */
export function toXml(state: JobState, items: readonly ReportItem[]): string {
  const zones = Object.values(state.zones).map((z) => ({
    '@_name': z.zone,
    '@_status': z.status,
    item: items
      .filter((i) => i.zone === z.zone)
      .map(({ zone: _zone, ...fields }) =>
        Object.fromEntries(
          Object.entries(fields)
            .filter(([k]) => /^[A-Za-z_][\w.-]*$/.test(k))
            .map(([k, v]) => [k, typeof v === 'object' && v !== null ? JSON.stringify(v) : v]),
        ),
      ),
  }));
  return builder.build({
    '?xml': { '@_version': '1.0', '@_encoding': 'UTF-8' },
    job: { '@_id': state.jobId, '@_status': state.status, zone: zones },
  });
}

export function render(
  format: ReportFormat,
  state: JobState,
  items: readonly ReportItem[],
): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify({ job_id: state.jobId, status: state.status, result: state.result, items }, null, 2)}\n`;
    case 'csv':
      return toCsv(items);
    case 'xml':
      return toXml(state, items);
  }
}

/**
 * Collects a job's items and writes the report when it ends. Pass `callbacks` with the others to
 * `submit()` or `wait()`; `written` settles once the file is written (or the write failed).
 */
export function makeReporter(options: ReporterOptions): {
  callbacks: JobCallbacks;
  written: Promise<void>;
} {
  const items: ReportItem[] = [];
  const done = Promise.withResolvers<undefined>();
  const onError =
    options.onError ??
    ((error: unknown) => {
      console.error(`ferry reporter: ${error instanceof Error ? error.message : String(error)}`);
    });
  async function write(state: JobState): Promise<void> {
    const text = render(formatOf(options), state, items);
    // Temp name then rename: a reader never sees half a report.
    const temp = `${options.file}.${randomUUID()}.tmp`;
    await writeFile(temp, text);
    await rename(temp, options.file);
  }
  return {
    callbacks: {
      onItemResult: ({ zone, items: batch }) => {
        for (const item of batch) {
          items.push({
            ...(typeof item === 'object' && item !== null ? item : { value: item }),
            zone,
          });
        }
      },
      onFinal: (state) => {
        write(state).then(
          () => {
            done.resolve(undefined);
          },
          (error: unknown) => {
            onError(error);
            done.resolve(undefined);
          },
        );
      },
    },
    written: done.promise,
  };
}
