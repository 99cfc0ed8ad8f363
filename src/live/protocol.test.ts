/** Parsing client messages: nesting and unstorable text are bad input, never a store failure. */
import { describe, expect, it } from 'vitest';
import { hardMaxDepth } from '../db/index.ts';
import { parseMessage } from './protocol.ts';

const setContext = (variables: string) =>
  `{"type":"set_context","id":1,"payload":{"variables":${variables}}}`;

describe('parseMessage', () => {
  it('refuses a set_context nested 15,000 levels deep as malformed (a strike, not a retry)', () => {
    const deep = '{"a":'.repeat(15_000) + '1' + '}'.repeat(15_000);
    const parsed = parseMessage(setContext(deep));
    expect(parsed).toMatchObject({
      ok: false,
      id: 1,
      problem: { code: 'FERRY_ERR_LIVE_MALFORMED' },
    });
  });

  it('accepts nesting up to the hard limit', () => {
    const levels = hardMaxDepth - 2; // payload and variables are two of the levels
    const deep = '{"a":'.repeat(levels) + '1' + '}'.repeat(levels);
    expect(parseMessage(setContext(deep)).ok).toBe(true);
  });

  it('refuses NUL and lone surrogates in keys and values', () => {
    for (const variables of ['{"a":"x\\u0000"}', '{"\\ud800":1}']) {
      const parsed = parseMessage(setContext(variables));
      expect(parsed).toMatchObject({
        ok: false,
        problem: { code: 'FERRY_ERR_LIVE_INVALID_PAYLOAD' },
      });
    }
  });
});
