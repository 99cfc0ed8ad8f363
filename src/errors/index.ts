export { errorCodes, type ErrorCode, type ErrorSpec } from './registry.ts';
export { FerryError, isFerryError, formatMessage, type ErrorParams } from './ferry-error.ts';
export { isStoreUnavailable } from './store-unavailable.ts';
