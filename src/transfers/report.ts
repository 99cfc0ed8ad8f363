/**
 * A transfer's report: what was moved, with both checksums per file, as JSON, CSV or PDF. The
 * PDF is plain text pages written by hand (no dependency) — enough for an archive of proof.
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

function summaryLines(report: TransferReport): string[] {
  const t = report.transfer;
  const lines = [
    `Ferry transfer report #${t.id}`,
    `Generated: ${report.generated_at}`,
    '',
    `Source:      ${t.source_path}`,
    `Destination: ${t.destination_path}`,
    `Mode:        ${t.operation_mode}${t.watch_mode_enabled ? ' (watch)' : ''}`,
    `Status:      ${t.status}${t.error_message ? ` - ${t.error_message}` : ''}`,
    `Algorithm:   ${t.options.checksum_algorithm}`,
    `Files:       ${report.files.length}`,
    '',
  ];
  for (const f of report.files) {
    lines.push(`${f.status.padEnd(10)} ${f.relative_path} (${f.file_size} bytes)`);
    lines.push(`    source      ${f.source_checksum ?? '-'}`);
    lines.push(
      `    destination ${f.destination_checksum ?? '-'}  match: ${String(f.checksum_match ?? '-')}`,
    );
    if (f.error_message) lines.push(`    error       ${f.error_message}`);
  }
  return lines;
}

/** PDF strings hold Latin-1 only: other characters become '?'; parentheses are escaped. */
function pdfText(line: string): string {
  const latin = line.replace(/[^ -\u00ff]/gu, '?');
  return latin.replace(/[\\()]/g, '\\$&');
}

export function reportPdf(report: TransferReport): Buffer {
  const perPage = 60;
  const lines = summaryLines(report);
  const pages: string[][] = [];
  for (let i = 0; i < lines.length; i += perPage) pages.push(lines.slice(i, i + perPage));
  const objects: string[] = [];
  const pageIds = pages.map((_, i) => 4 + i * 2);
  objects[1] = '<< /Type /Catalog /Pages 2 0 R >>';
  objects[2] = `<< /Type /Pages /Kids [${pageIds.map((id) => `${id} 0 R`).join(' ')}] /Count ${pages.length} >>`;
  objects[3] = '<< /Type /Font /Subtype /Type1 /BaseFont /Courier /Encoding /WinAnsiEncoding >>';
  pages.forEach((page, i) => {
    const body = [
      'BT',
      '/F1 9 Tf',
      '11 TL',
      '40 800 Td',
      ...page.map((l) => `(${pdfText(l)}) '`),
      'ET',
    ].join('\n');
    objects[4 + i * 2] =
      `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> /Contents ${5 + i * 2} 0 R >>`;
    objects[5 + i * 2] =
      `<< /Length ${Buffer.byteLength(body, 'latin1')} >>\nstream\n${body}\nendstream`;
  });
  let out = '%PDF-1.4\n';
  const offsets: number[] = [];
  for (let id = 1; id < objects.length; id += 1) {
    offsets[id] = Buffer.byteLength(out, 'latin1');
    out += `${id} 0 obj\n${objects[id] ?? ''}\nendobj\n`;
  }
  const xref = Buffer.byteLength(out, 'latin1');
  out += `xref\n0 ${objects.length}\n0000000000 65535 f \n`;
  for (let id = 1; id < objects.length; id += 1)
    out += `${String(offsets[id]).padStart(10, '0')} 00000 n \n`;
  out += `trailer\n<< /Size ${objects.length} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}
