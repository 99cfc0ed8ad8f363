/**
 * The schema of text PostgreSQL can store (no NUL, no lone surrogate), for every schema that
 * declares such text: the API's bodies and the domain checks of what jobs carry.
 */
import Type, { type TStringOptions } from 'typebox';

// Every code point but NUL and the surrogate halves; with the `u` flag (ajv's and TypeBox's) a
// valid pair is one code point above U+FFFF, so only unpaired halves fail.
const storableBody = '[^\\u0000\\uD800-\\uDFFF]*';
const storable = `^${storableBody}$`;

/** Text PostgreSQL can store. A `pattern` of its own (anchored with `^`) must match too. */
export function Text(options: TStringOptions = {}) {
  const { pattern, ...rest } = options;
  return Type.String({
    ...rest,
    pattern: pattern === undefined ? storable : `^(?=${storableBody}$)(?:${pattern})`,
  });
}
