/** The PDF report read back with pdftotext (poppler-utils): every file, both checksums, pages. */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers/stores.ts';
import type { FileRow } from './file-records.ts';
import type { TransferRow } from './records.ts';
import { reportPdf } from './report-pdf.ts';

const folder = tempDir('ferry-report-pdf-');
afterAll(() => {
  folder.remove();
});

const at = new Date('2026-12-01T10:00:00.000Z');
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

function file(i: number): FileRow {
  const sum = sha256(`file ${i}`);
  const failed = i % 17 === 0;
  return {
    id: i,
    transfer_id: 7,
    relative_path: `shoot/day${i % 3}/clip-${String(i).padStart(4, '0')}.mov`,
    file_size: 1000 + i,
    source_mtime_ms: at.getTime(),
    status: failed ? 'failed' : 'completed',
    algorithm: 'sha256',
    source_checksum: sum,
    destination_checksum: failed ? sha256(`corrupt ${i}`) : sum,
    checksum_match: !failed,
    bytes_transferred: 1000 + i,
    resume_point: null,
    attempts: 1,
    error_code: null,
    error_message: null,
    detected_at: at,
    transfer_started_at: at,
    transfer_completed_at: at,
    delivered_path: null,
  };
}

const transfer = {
  id: 7,
  owner_user_id: null,
  source_path: '/mnt/card-a',
  destination_path: '/mnt/raid/project',
  status: 'completed',
  operation_mode: 'copy',
  watch_mode_enabled: false,
  options: { checksum_algorithm: 'sha256' },
  error_message: null,
  created_at: at,
  completed_at: at,
} as TransferRow;

describe('transfer report PDF', () => {
  it('has the header, every file with both checksums and its outcome, and page numbers', async () => {
    const files = Array.from({ length: 130 }, (_, i) => file(i + 1));
    const pdf = await reportPdf({ transfer, files, generated_at: at.toISOString() });
    const target = path.join(folder.dir, 'report.pdf');
    writeFileSync(target, pdf);
    const text = execFileSync('pdftotext', ['-layout', target, '-']).toString();
    expect(text).toContain('Ferry transfer report #7');
    expect(text).toContain('/mnt/card-a');
    expect(text).toContain('/mnt/raid/project');
    for (const f of files) {
      const line = text.split('\n').find((l) => l.includes(f.relative_path)) ?? '';
      expect(line).toContain(f.source_checksum ?? 'missing');
      expect(line).toContain(f.destination_checksum ?? 'missing');
      expect(line).toMatch(f.checksum_match ? /completed/ : /failed \(mismatch\)/);
    }
    const pages = Number(/Page 1 of (\d+)/.exec(text)?.[1]);
    expect(pages).toBeGreaterThan(1);
    for (let n = 1; n <= pages; n += 1) expect(text).toContain(`Page ${n} of ${pages}`);
  });
});
