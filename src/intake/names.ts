/**
 * Which names intake takes: temp/partial names are ignored (a writer is still busy with them),
 * include/exclude globs narrow the rest. Shared by watch profiles and pipelines.
 */
import { defaultTempPatterns } from '../config/pipeline-schema.ts';

export { defaultTempPatterns };

/**
 * Compiles a glob to a RegExp: `*` and `?` stay inside one path segment, `**` crosses segments,
 * `[abc]` is a class. Matching is case-sensitive, like the filesystems Ferry runs on.
 */
export function globToRegExp(glob: string): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i += 1) {
    const c = glob.charAt(i);
    if (c === '*' && glob[i + 1] === '*') {
      // `**/` matches zero or more whole folders; a trailing `**` matches anything.
      if (glob[i + 2] === '/') {
        source += '(?:.*/)?';
        i += 2;
      } else {
        source += '.*';
        i += 1;
      }
    } else if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end === -1) source += '\\[';
      else {
        const body = glob.slice(i + 1, end).replace(/\\/g, '\\\\');
        source += `[${body.startsWith('!') ? `^${body.slice(1)}` : body}]`;
        i = end;
      }
    } else source += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

/** What intake does with one name. */
export type NameVerdict = 'take' | 'temp' | 'excluded';

export interface NameFilterOptions {
  /** Globs matched against the file's base name; a match means "still being written". */
  temp?: readonly string[];
  /** Globs matched against the path relative to the source root; none means everything. */
  include?: readonly string[];
  /** Globs matched against the relative path; a match drops the file. */
  exclude?: readonly string[];
}

/** Builds the verdict function for a source's relative paths (POSIX separators). */
export function makeNameFilter(options: NameFilterOptions = {}): (relative: string) => NameVerdict {
  const temp = (options.temp ?? defaultTempPatterns).map(globToRegExp);
  const include = (options.include ?? []).map(globToRegExp);
  const exclude = (options.exclude ?? []).map(globToRegExp);
  return function verdict(relative) {
    const segments = relative.split('/');
    const base = segments.at(-1) ?? relative;
    // A file inside a temp-named folder (`.staging/x`) is as unfinished as a temp-named file.
    if (segments.some((segment) => temp.some((re) => re.test(segment)))) return 'temp';
    if (include.length > 0 && !include.some((re) => re.test(relative) || re.test(base))) {
      return 'excluded';
    }
    if (exclude.some((re) => re.test(relative) || re.test(base))) return 'excluded';
    return 'take';
  };
}
