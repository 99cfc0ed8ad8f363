/**
 * A transfer's report: what was moved, with both checksums per file, as JSON, CSV or PDF (the
 * PDF is laid out in report-pdf.ts).
 */
import type { FileRow } from './file-records.ts';
import type { TransferRow } from './records.ts';

export interface TransferReport {
  transfer: TransferRow;
  files: FileRow[];
  generated_at: string;
}

const csvColumns = [
  'relative_path',
  'file_size',
  'status',
  'algorithm',
  'source_checksum',
  'destination_checksum',
  'checksum_match',
  'detected_at',
  'transfer_completed_at',
  'error_message',
] as const;

function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  let text: string;
  if (value instanceof Date) text = value.toISOString();
  else if (typeof value === 'string') text = value;
  else if (typeof value === 'number' || typeof value === 'boolean') text = String(value);
  else text = JSON.stringify(value);
  // Quote everything that could split a cell, and defuse spreadsheet formulas.
  const safe = /^[=+\-@]/.test(text) ? `'${text}` : text;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function reportCsv(report: TransferReport): string {
  const lines = [csvColumns.join(',')];
  for (const file of report.files) lines.push(csvColumns.map((c) => csvCell(file[c])).join(','));
  return `${lines.join('\r\n')}\r\n`;
}
