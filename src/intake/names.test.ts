import { describe, expect, it } from 'vitest';
import { globToRegExp, makeNameFilter } from './names.ts';

describe('name filter', () => {
  const verdict = makeNameFilter({ exclude: ['**/*.log'] });

  it.each([
    ['.hidden', 'temp'],
    ['~$report.xlsx', 'temp'],
    ['movie.mov.part', 'temp'],
    ['a.partial', 'temp'],
    ['x.tmp', 'temp'],
    ['get.crdownload', 'temp'],
    ['f.download', 'temp'],
    ['.staging/clip.mov', 'temp'],
    ['day1/clip.mov', 'take'],
    ['report.xlsx', 'take'],
    ['logs/run.log', 'excluded'],
    ['run.log', 'excluded'],
  ])('%s → %s', (name, expected) => {
    expect(verdict(name)).toBe(expected);
  });

  it('include narrows to matching names', () => {
    const only = makeNameFilter({ include: ['*.mov'] });
    expect(only('a/b/c.mov')).toBe('take');
    expect(only('a/b/c.txt')).toBe('excluded');
  });

  it('globs keep * inside one segment and let ** cross', () => {
    expect(globToRegExp('a/*.txt').test('a/b/c.txt')).toBe(false);
    expect(globToRegExp('a/**/*.txt').test('a/b/c.txt')).toBe(true);
    expect(globToRegExp('a/**/*.txt').test('a/c.txt')).toBe(true);
    expect(globToRegExp('[!a]?.x').test('bc.x')).toBe(true);
    expect(globToRegExp('[!a]?.x').test('ac.x')).toBe(false);
    expect(globToRegExp('f(1).txt').test('f(1).txt')).toBe(true);
  });
});
