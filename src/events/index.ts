export { makeEvents, type Events, type Accepted, type EventsDeps } from './ingest.ts';
export {
  countEvents,
  getEvent,
  listEvents,
  type EventRow,
  type NewEvent,
  type EventFilter,
} from './store.ts';
export {
  unstorableText,
  validationError,
  normalizeValue,
  normalizedProperties,
  depth,
  maxPayloadBytes,
  maxDepth,
} from './normalize.ts';
export { EventIn, EventBatch, toNewEvent, checkEventBatch, type EventClient } from './schema.ts';
