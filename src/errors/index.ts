export { errorCodes, type ErrorCode, type ErrorSpec } from './registry.ts';
export {
  FerryError,
  isFerryError,
  errorBody,
  formatMessage,
  invalidFields,
  type ErrorParams,
  type FieldProblem,
} from './ferry-error.ts';
export { isStoreUnavailable } from './store-unavailable.ts';
