export {
  type BearerSource,
  type Permission,
  parseCredentials,
  TokenVendingClient,
  type VendedCredentials,
  type VendingClientOptions,
  VendingError,
} from "./vending.js";
export {
  credentialProviderFor,
  type Endpoints,
  localEndpoints,
  RefreshingCacheClient,
  RefreshingTopicClient,
  type SubscriptionHandlers,
} from "./momento.js";
