/** The audit trail as CSV (RFC 4180 quoting; cells that a spreadsheet would run are defused). */
import type { AuditEntry } from './audit.ts';

function cell(value: string | number | Date | null): string {
  let text = value instanceof Date ? value.toISOString() : value === null ? '' : String(value);
  // A cell starting with = + - @ would be read as a formula by spreadsheet programs.
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One header line and one line per entry. */
export function auditCsv(items: readonly AuditEntry[]): string {
  const header = ['at', 'kind', 'user_id', 'actor', 'transfer_id', 'action', 'outcome', 'message'];
  const lines = items.map((e) =>
    [e.at, e.kind, e.user_id, e.actor, e.transfer_id, e.action, e.outcome, e.message]
      .map(cell)
      .join(','),
  );
  return [header.join(','), ...lines].join('\r\n') + '\r\n';
}
