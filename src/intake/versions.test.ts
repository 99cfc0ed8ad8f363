import { describe, expect, it } from 'vitest';
import {
  compileVersionPatterns,
  defaultVersionPatterns,
  groupVersions,
  parseVersion,
} from './versions.ts';

const patterns = compileVersionPatterns(defaultVersionPatterns);
const f = (relative: string) => ({ relative });

describe('version names', () => {
  it.each([
    ['REPORT_20251105120450.xlsx', 'REPORT.xlsx', Date.UTC(2025, 10, 5, 12, 4, 50)],
    ['REPORT.20251105120450.xlsx', 'REPORT.xlsx', Date.UTC(2025, 10, 5, 12, 4, 50)],
    ['REPORT_20251105.xlsx', 'REPORT.xlsx', Date.UTC(2025, 10, 5)],
    ['REPORT_20251105', 'REPORT', Date.UTC(2025, 10, 5)],
    ['a.b_20240229.csv', 'a.b.csv', Date.UTC(2024, 1, 29)],
  ])('%s → %s', (name, base, ts) => {
    expect(parseVersion(name, patterns)).toEqual({ base, timestampMs: ts });
  });

  it.each([
    'REPORT_20251105T120450.xlsx', // T-separated time: not a default form
    'REPORT_20251105120450123.xlsx', // millisecond suffix: not a default form
    'REPORT-20251105.xlsx', // dash is not a version separator
    'INV_20231399.pdf', // not a real date: an order number
    'INV_20230230.pdf', // 30 February
    'REPORT_20251105_x.xlsx', // suffix not immediately before the extension
    'REPORT.xlsx',
  ])('%s is not a version', (name) => {
    expect(parseVersion(name, patterns)).toEqual({ base: name, timestampMs: undefined });
  });

  it('extra patterns group other forms', () => {
    const extra = compileVersionPatterns([
      ...defaultVersionPatterns,
      '_(?<date>\\d{8})T(?<time>\\d{6})',
      '_(?<date>\\d{8})(?<time>\\d{6})(?<ms>\\d{3})',
    ]);
    expect(parseVersion('R_20251105T120450.x', extra)).toEqual({
      base: 'R.x',
      timestampMs: Date.UTC(2025, 10, 5, 12, 4, 50),
    });
    expect(parseVersion('R_20251105120450123.x', extra).timestampMs).toBe(
      Date.UTC(2025, 10, 5, 12, 4, 50) + 123,
    );
  });

  it('refuses a pattern without a date group', () => {
    expect(() => compileVersionPatterns(['_(\\d{8})'])).toThrow(/date/);
  });
});

describe('grouping', () => {
  it('keeps the newest by parsed timestamp across 14-digit, 8-digit and mixed forms', () => {
    const groups = groupVersions(
      [
        f('acme/REPORT_20251105120450.xlsx'),
        f('acme/REPORT_20251106.xlsx'), // 6 Nov 00:00 beats 5 Nov 12:04
        f('acme/REPORT.20251105235959.xlsx'),
        f('acme/OTHER_20250101.csv'),
        f('beta/REPORT_20251107.xlsx'),
        f('acme/REPORT_20251105T120450.xlsx'),
      ],
      patterns,
    );
    expect(groups.map((g) => [g.key, g.newest.relative, g.older.map((o) => o.relative)])).toEqual([
      ['acme/OTHER.csv', 'acme/OTHER_20250101.csv', []],
      [
        'acme/REPORT.xlsx',
        'acme/REPORT_20251106.xlsx',
        ['acme/REPORT_20251105120450.xlsx', 'acme/REPORT.20251105235959.xlsx'],
      ],
      ['acme/REPORT_20251105T120450.xlsx', 'acme/REPORT_20251105T120450.xlsx', []],
      ['beta/REPORT.xlsx', 'beta/REPORT_20251107.xlsx', []],
    ]);
  });

  it('breaks timestamp ties by the name that sorts last; unversioned counts as oldest', () => {
    const [group] = groupVersions(
      [f('a/R.20251105.x'), f('a/R_20251105.x'), f('a/R.x'), f('a/R_20251105000000.x')],
      patterns,
    );
    expect(group?.newest.relative).toBe('a/R_20251105000000.x');
    expect(group?.older.map((o) => o.relative).sort()).toEqual([
      'a/R.20251105.x',
      'a/R.x',
      'a/R_20251105.x',
    ]);
  });
});
