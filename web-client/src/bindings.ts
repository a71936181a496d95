/**
 * The server's contract as this package uses it, from the generated `@tidings/bindings`: the
 * router type for tRPC, the update types and the map from each to the queries it invalidates.
 * The one place the client imports the bindings from.
 */
export {
  UPDATE_QUERY_MAP,
  UPDATE_TYPES,
  type AppRouter,
  type RouterInputs,
  type RouterOutputs,
  type SubscribeRequest,
  type UpdateNotice,
  type UpdateType,
} from '@tidings/bindings';
