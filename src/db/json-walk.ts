/**
 * One iterative walk over JSON a client sent, before it reaches code that recurses (ajv, pg's
 * serializer, jsonb parsing, normalization): how deep it nests, and the first string PostgreSQL
 * cannot store. Iterative, and it stops at the first problem, so a value nested 100,000 levels
 * deep costs no stack and little time.
 */

/** Deepest nesting any client JSON may have at all (event payloads, live context); documented. */
export const hardMaxDepth = 1000;

// NUL, and UTF-16 surrogates without their pair: JSON allows them, PostgreSQL text and jsonb do not.
// eslint-disable-next-line no-control-regex -- matching NUL is the point
const unstorable = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** True for text PostgreSQL cannot store (NUL, a lone surrogate). */
export function isUnstorable(text: string): boolean {
  return unstorable.test(text);
}

/** What the walk found; `tooDeep` stops it, so `depth` is then `limit + 1`. */
export interface JsonShape {
  /** Nesting depth: a scalar is 0, `{}` or `[]` is 1, `{a: {}}` is 2 (capped at `limit + 1`). */
  depth: number;
  tooDeep: boolean;
  /** The path (e.g. `payload.a.0`) of the first key or string PostgreSQL cannot store. */
  unstorable: string | undefined;
}

/**
 * Walks `value` without recursion. Stops as soon as it is deeper than `limit` (default
 * `hardMaxDepth`) or holds unstorable text, so the answer costs at most what the body cost to parse.
 */
export function inspectJson(value: unknown, path: string, limit = hardMaxDepth): JsonShape {
  const stack: [unknown, string, number][] = [[value, path, 0]];
  let deepest = 0;
  for (let next = stack.pop(); next; next = stack.pop()) {
    const [node, at, level] = next;
    if (typeof node === 'string') {
      if (unstorable.test(node)) return { depth: deepest, tooDeep: false, unstorable: at };
      continue;
    }
    if (typeof node !== 'object' || node === null) continue;
    const here = level + 1;
    deepest = Math.max(deepest, here);
    if (here > limit) return { depth: here, tooDeep: true, unstorable: undefined };
    for (const [key, child] of Object.entries(node)) {
      if (unstorable.test(key))
        return { depth: deepest, tooDeep: false, unstorable: `${at}.${key}` };
      stack.push([child, `${at}.${key}`, here]);
    }
  }
  return { depth: deepest, tooDeep: false, unstorable: undefined };
}
