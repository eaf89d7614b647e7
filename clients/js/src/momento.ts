/**
 * `@gomomento/sdk-web` clients that always hold the current vended token.
 *
 * sdk-web reads a credential provider's token once, when a client is built, so "always current"
 * means: build new SDK clients when the vending client renews, move live topic subscriptions to
 * the new client (subscribe anew, then drop the old one, skipping items already delivered), and
 * when Momento answers AUTHENTICATION_ERROR (a token revoked or expired early) fetch a fresh
 * token and retry the operation once.
 */

import {
  CacheClient,
  Configurations,
  CredentialProvider,
  MomentoErrorCode,
  TopicClient,
  TopicConfigurations,
  type TopicItem,
  TopicSubscribe,
} from "@gomomento/sdk-web";

import type { TokenVendingClient, VendedCredentials } from "./vending.js";

/** Where sdk-web sends its calls; all three are required (local development: one gRPC-web URL). */
export interface Endpoints {
  cacheEndpoint: string;
  controlEndpoint: string;
  tokenEndpoint: string;
}

/** `http://host:port` for every endpoint (the local stack's gRPC-web front). */
export function localEndpoints(url: string): Endpoints {
  return { cacheEndpoint: url, controlEndpoint: url, tokenEndpoint: url };
}

/** A credential provider for one vended token (with endpoint overrides for local development). */
export function credentialProviderFor(creds: VendedCredentials, endpoints?: Endpoints): CredentialProvider {
  if (endpoints === undefined) return CredentialProvider.fromDisposableToken(creds.authToken);
  return CredentialProvider.fromDisposableToken({ apiKey: creds.authToken, endpointOverrides: endpoints });
}

interface ErrorLike {
  errorCode(): MomentoErrorCode;
}

function isAuthError(response: unknown): boolean {
  const candidate = response as Partial<ErrorLike> | null;
  return (
    typeof candidate?.errorCode === "function" && candidate.errorCode() === MomentoErrorCode.AUTHENTICATION_ERROR
  );
}

/** A CacheClient for the current token; `run` retries once with a fresh token on AUTHENTICATION_ERROR. */
export class RefreshingCacheClient {
  private client?: CacheClient;
  private forToken?: string;

  constructor(
    private readonly vending: TokenVendingClient,
    private readonly options: { endpoints?: Endpoints; defaultTtlSeconds?: number } = {},
  ) {}

  /** The SDK client for the current token (rebuilt after each renewal). */
  async current(): Promise<CacheClient> {
    const creds = await this.vending.credentials();
    if (this.client === undefined || this.forToken !== creds.authToken) {
      this.client?.close();
      this.client = new CacheClient({
        configuration: Configurations.Browser.v1(),
        credentialProvider: credentialProviderFor(creds, this.options.endpoints),
        defaultTtlSeconds: this.options.defaultTtlSeconds ?? 300,
      });
      this.forToken = creds.authToken;
    }
    return this.client;
  }

  async run<R>(operation: (client: CacheClient) => Promise<R>): Promise<R> {
    const first = await operation(await this.current());
    if (!isAuthError(first)) return first;
    this.vending.invalidate();
    return operation(await this.current());
  }

  close(): void {
    this.client?.close();
    this.client = undefined;
  }
}

export interface SubscriptionHandlers {
  onItem: (item: TopicItem) => void;
  onError?: (error: TopicSubscribe.Error) => void;
}

interface LiveSubscription {
  cache: string;
  topic: string;
  handlers: SubscriptionHandlers;
  lastSequence: number;
  current?: TopicSubscribe.Subscription;
  closed: boolean;
}

/** Topic subscriptions that survive token renewals; `publish` retries once on AUTHENTICATION_ERROR. */
export class RefreshingTopicClient {
  private client?: TopicClient;
  private forToken?: string;
  private readonly live = new Set<LiveSubscription>();
  private readonly stopListening: () => void;
  private moving: Promise<void> = Promise.resolve();

  /**
   * `onError` hears what fails in the background (moving subscriptions to a renewed token), so an
   * app can show it instead of silently losing its subscriptions when the old token expires.
   */
  constructor(
    private readonly vending: TokenVendingClient,
    private readonly options: { endpoints?: Endpoints; onError?: (error: unknown) => void } = {},
  ) {
    this.stopListening = vending.onChange((creds) => {
      this.moving = this.moving.then(() => this.moveTo(creds)).catch((error: unknown) => this.options.onError?.(error));
    });
  }

  private build(creds: VendedCredentials): TopicClient {
    return new TopicClient({
      configuration: TopicConfigurations.Browser.latest(),
      credentialProvider: credentialProviderFor(creds, this.options.endpoints),
    });
  }

  async current(): Promise<TopicClient> {
    const creds = await this.vending.credentials();
    if (this.client === undefined || this.forToken !== creds.authToken) {
      this.client = this.build(creds);
      this.forToken = creds.authToken;
    }
    return this.client;
  }

  /** Re-subscribe every live subscription with a client for `creds`, then drop the old streams. */
  private async moveTo(creds: VendedCredentials): Promise<void> {
    if (this.forToken === creds.authToken) return;
    const client = this.build(creds);
    this.client = client;
    this.forToken = creds.authToken;
    for (const sub of this.live) {
      const old = sub.current;
      const opened = await this.open(client, sub);
      if (opened === true) old?.unsubscribe();
      else if (opened !== false) sub.handlers.onError?.(opened);
    }
  }

  /** True when subscribed; the SDK's error otherwise (false when the subscription was closed meanwhile). */
  private async open(client: TopicClient, sub: LiveSubscription): Promise<true | false | TopicSubscribe.Error> {
    if (sub.closed) return false;
    const response = await client.subscribe(sub.cache, sub.topic, {
      onItem: (item: TopicItem) => {
        // Two streams overlap while a subscription moves: deliver each item once, in order.
        const sequence = item.sequenceNumber();
        if (sequence <= sub.lastSequence) return;
        sub.lastSequence = sequence;
        sub.handlers.onItem(item);
      },
      onError: (error: TopicSubscribe.Error) => sub.handlers.onError?.(error),
    });
    if (response instanceof TopicSubscribe.Subscription) {
      if (sub.closed) {
        response.unsubscribe();
        return false;
      }
      sub.current = response;
      return true;
    }
    return response instanceof TopicSubscribe.Error ? response : false;
  }

  /** Subscribe; the returned function unsubscribes (also from streams opened by later renewals). */
  async subscribe(cache: string, topic: string, handlers: SubscriptionHandlers): Promise<() => void> {
    const sub: LiveSubscription = { cache, topic, handlers, lastSequence: 0, closed: false };
    let opened = await this.open(await this.current(), sub);
    if (opened !== true && isAuthError(opened)) {
      // a token Momento no longer accepts: one retry with a fresh one
      this.vending.invalidate();
      opened = await this.open(await this.current(), sub);
    }
    if (opened !== true) {
      throw opened === false ? new Error(`subscription to ${cache}/${topic} was closed`) : opened.innerException();
    }
    this.live.add(sub);
    return () => {
      sub.closed = true;
      this.live.delete(sub);
      sub.current?.unsubscribe();
    };
  }

  async publish(cache: string, topic: string, value: string | Uint8Array): Promise<unknown> {
    const first = await (await this.current()).publish(cache, topic, value);
    if (!isAuthError(first)) return first;
    this.vending.invalidate();
    return (await this.current()).publish(cache, topic, value);
  }

  close(): void {
    this.stopListening();
    for (const sub of this.live) {
      sub.closed = true;
      sub.current?.unsubscribe();
    }
    this.live.clear();
  }
}
