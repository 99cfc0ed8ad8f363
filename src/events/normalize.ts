/**
 * Validation and normalization of one event, pure functions. Validation failures are final
 * (never retried); normalization is deterministic given the clock.
 */

import { inspectJson } from '../db/index.ts';

/** Largest accepted payload, serialized. */
export const maxPayloadBytes = 1024 * 1024;
/** Deepest accepted nesting of objects and arrays. */
export const maxDepth = 10;

/** Fields whose numeric strings become numbers (`"12.5"` → 12.5). */
export const numericFields: ReadonlySet<string> = new Set([
  'duration',
  'scroll_depth',
  'load_time',
  'value',
  'amount',
  'price',
  'quantity',
  'count',
  'position',
]);

/** The columns validation looks at. */
export interface EventFields {
  event_name: string | null;
  event_type: string | null;
  payload: unknown;
}

/** The reason an event is invalid, in PulseBoard's words, or undefined when it is valid. */
export function validationError(event: EventFields): string | undefined {
  if (!event.event_name?.trim()) return 'event_name is required';
  if (!event.event_type?.trim()) return 'event_type is required';
  const payload = event.payload;
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload))
    return 'Payload must be a JSON object';
  if (Buffer.byteLength(JSON.stringify(payload)) > maxPayloadBytes)
    return 'Payload exceeds 1MB size limit';
  if (depth(payload) > maxDepth) return `Payload exceeds max nesting depth (${maxDepth})`;
  return undefined;
}

/** Nesting depth: a scalar is 0, `{}` or `[]` is 1, `{a: {}}` is 2 (one iterative walk). */
export function depth(value: unknown): number {
  return inspectJson(value, '', Number.MAX_SAFE_INTEGER).depth;
}

/** Strings trimmed everywhere; known numeric fields converted when they hold a number. */
export function normalizeValue(value: unknown, key?: string): unknown {
  if (typeof value === 'string') {
    const trimmed = value.trim();
    if (
      key !== undefined &&
      numericFields.has(key) &&
      trimmed !== '' &&
      Number.isFinite(Number(trimmed))
    ) {
      return Number(trimmed);
    }
    return trimmed;
  }
  if (Array.isArray(value)) return value.map((v) => normalizeValue(v));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalizeValue(v, k)]));
  }
  return value;
}

/** Keys of `properties` Ferry sets itself; a payload key with one of these names is shadowed. */
export const reservedPropertyKeys = ['original', 'normalized_at', 'user_properties'] as const;

/**
 * The `properties` a processed event gets, in the compatible service's shape: the normalized
 * payload's fields at the top level, the untouched payload under `original`, when it was
 * normalized, and the client's own `properties` under `user_properties`. Ferry's own keys win
 * over payload keys of the same name (`reservedPropertyKeys`); the payload's value stays
 * readable, as sent, under `original`, so nothing is lost.
 */
export function normalizedProperties(
  payload: object,
  userProperties: unknown,
  now: Date,
): Record<string, unknown> {
  return {
    ...(normalizeValue(payload) as Record<string, unknown>),
    original: payload,
    normalized_at: now.toISOString(),
    user_properties: userProperties ?? {},
  };
}

/** The path (e.g. `payload.a.0`) of the first string PostgreSQL cannot store, if any. */
export function unstorableText(value: unknown, path: string): string | undefined {
  return inspectJson(value, path, Number.MAX_SAFE_INTEGER).unstorable;
}
