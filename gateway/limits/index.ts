/** The query limits' public API: what the HTTP and WebSocket edges wire in (see create-query-limits.ts). */
export { checkRequest, type CheckedRequest } from './check-request.ts';
export { createQueryLimits, type CostRequest, type QueryLimits } from './create-query-limits.ts';
export { createLimitedSubscribe } from './create-limited-subscribe.ts';
/** How a field is priced. */
export type { FieldCost } from './field-cost.ts';
export { measureOperations, type DocumentMeasures, type OperationMeasures } from './measure-operations.ts';
export { PRODUCT_FIELD_COSTS } from './product-field-costs.ts';
export {
  QUERY_LIMIT_CODES,
  QueryLimitError,
  type QueryLimitCode,
  type QueryLimitExtensions,
} from './query-limit-error.ts';
export {
  DEFAULT_QUERY_LIMITS,
  checkFieldCosts,
  resolveQueryLimitOptions,
  type QueryLimitOptions,
  type ResolvedQueryLimitOptions,
} from './query-limit-options.ts';
export { queryLimitsPlugin } from './query-limits-plugin.ts';
export { parseWithTokenLimit, tooManyTokensError } from './too-many-tokens.ts';
export { withQueryLimitErrors, type FormatError } from './with-query-limit-errors.ts';
