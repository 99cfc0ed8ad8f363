/**
 * A transfer's report as a PDF, laid out with pdfkit: a header with the transfer's facts, a table
 * of every file with both checksums and its outcome (the header row repeats on each page), and
 * "Page n of m" at the foot of every page. Landscape A4, so a 64-digit sha256 fits on one line.
 */
import PDFDocument from 'pdfkit';
import type { FileRow } from './file-records.ts';
import type { TransferReport } from './report.ts';

const margin = 36;
// Courier at 6 pt is 3.6 pt per character: a 64-digit sha256 fits its 237-point column.
const rowFont = 6;

/** Table columns: title, width in points, and the cell text of a file. */
const columns: { title: string; width: number; cell: (f: FileRow) => string }[] = [
  { title: 'File', width: 160, cell: (f) => f.relative_path },
  { title: 'Bytes', width: 56, cell: (f) => String(f.file_size) },
  {
    title: 'Outcome',
    width: 80,
    cell: (f) => (f.checksum_match === false ? `${f.status} (mismatch)` : f.status),
  },
  { title: 'Source checksum', width: 237, cell: (f) => f.source_checksum ?? '-' },
  { title: 'Destination checksum', width: 237, cell: (f) => f.destination_checksum ?? '-' },
];

function header(doc: PDFKit.PDFDocument, report: TransferReport): void {
  const t = report.transfer;
  const bytes = report.files.reduce((sum, f) => sum + f.file_size, 0);
  const facts: [string, string][] = [
    ['Source', t.source_path],
    ['Destination', t.destination_path],
    ['Mode', `${t.operation_mode}${t.watch_mode_enabled ? ' (watch)' : ''}`],
    ['Status', `${t.status}${t.error_message ? ` - ${t.error_message}` : ''}`],
    ['Algorithm', t.options.checksum_algorithm],
    ['Files', `${report.files.length} (${bytes} bytes)`],
    ['Created', t.created_at.toISOString()],
    ['Completed', t.completed_at?.toISOString() ?? '-'],
    ['Generated', report.generated_at],
  ];
  doc.font('Helvetica-Bold').fontSize(14).text(`Ferry transfer report #${t.id}`);
  doc.moveDown(0.4).fontSize(9);
  for (const [label, value] of facts) {
    doc.font('Helvetica-Bold').text(`${label}: `, { continued: true });
    doc.font('Helvetica').text(value);
  }
  doc.moveDown(0.8);
}

/** Writes one row at the current y; returns its height. */
function row(doc: PDFKit.PDFDocument, cells: string[], font: string): number {
  const y = doc.y;
  let x = margin;
  let height = 0;
  doc.font(font).fontSize(rowFont);
  cells.forEach((text, i) => {
    const width = columns[i]?.width ?? 0;
    doc.text(text, x, y, { width: width - 4 });
    height = Math.max(height, doc.y - y);
    x += width;
  });
  doc.x = margin;
  doc.y = y + height + 2;
  return height;
}

function table(doc: PDFKit.PDFDocument, files: readonly FileRow[]): void {
  const titles = columns.map((c) => c.title);
  const courier = 'Courier';
  row(doc, titles, 'Helvetica-Bold');
  const bottom = () => doc.page.height - margin - 20;
  for (const file of files) {
    // A row never splits across pages; the header row repeats on the next one.
    if (doc.y + 3 * rowFont * 1.3 > bottom()) {
      doc.addPage();
      row(doc, titles, 'Helvetica-Bold');
    }
    row(
      doc,
      columns.map((c) => c.cell(file)),
      courier,
    );
  }
}

/** "Page n of m" at the foot of every page (pages are buffered until the end). */
function pageNumbers(doc: PDFKit.PDFDocument): void {
  const range = doc.bufferedPageRange();
  for (let i = range.start; i < range.start + range.count; i += 1) {
    doc.switchToPage(i);
    // Writing inside the bottom margin must not start a new page.
    const bottomMargin = doc.page.margins.bottom;
    doc.page.margins.bottom = 0;
    doc
      .font('Helvetica')
      .fontSize(8)
      .text(`Page ${i - range.start + 1} of ${range.count}`, margin, doc.page.height - margin, {
        width: doc.page.width - 2 * margin,
        align: 'center',
      });
    doc.page.margins.bottom = bottomMargin;
  }
}

/** Renders the report; resolves with the PDF's bytes. */
export function reportPdf(report: TransferReport): Promise<Buffer> {
  const doc = new PDFDocument({
    size: 'A4',
    layout: 'landscape',
    margin,
    bufferPages: true,
    info: { Title: `Ferry transfer report #${report.transfer.id}`, Producer: 'Ferry' },
  });
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('data', (chunk: Buffer) => chunks.push(chunk));
    doc.on('end', () => {
      resolve(Buffer.concat(chunks));
    });
    doc.on('error', reject);
  });
  header(doc, report);
  table(doc, report.files);
  pageNumbers(doc);
  doc.end();
  return done;
}
