/**
 * The token vending machine client: the JavaScript counterpart of the Python `keyguard_client`.
 *
 * It keeps one current token, renews it `renewMarginSeconds` before `expiresAt` (at most half-way
 * through a short token's life), and when a renewal fails while the held token is still valid it
 * keeps that token and tries again after the vendor's `Retry-After` (else an exponential backoff
 * with jitter), never later than the expiry. Redirects are refused (`redirect: "manual"`), so the
 * bearer token only ever goes to `url`; cookies are never sent. The token never appears in
 * errors or in `toString()`.
 */

/** One permission statement, as the vendor's API takes and returns it. */
export interface Permission {
  cache: string;
  role: string;
  topic?: string;
  key?: string;
  keyPrefix?: string;
}

/** One vended token and what the vendor said about it. */
export interface VendedCredentials {
  /** Base64 JSON `{endpoint, api_key}`: what `CredentialProvider.fromDisposableToken` takes. */
  readonly authToken: string;
  /** Epoch seconds. */
  readonly expiresAt: number;
  readonly endpoint?: string;
  readonly tokenId?: string;
  readonly permissions: readonly Permission[];
  /** Epoch milliseconds at which this client asked for it. */
  readonly fetchedAt: number;
}

/** The vendor refused or could not be reached; `status` 0 means no readable HTTP answer. */
export class VendingError extends Error {
  readonly status: number;
  readonly code: string;
  /** Seconds, from the vendor's `Retry-After` (429, 503). */
  readonly retryAfterSeconds?: number;

  constructor(status: number, code: string, message: string, retryAfterSeconds?: number) {
    super(`${status} ${code}: ${message}`);
    this.name = "VendingError";
    this.status = status;
    this.code = code;
    this.retryAfterSeconds = retryAfterSeconds;
  }

  /** Worth trying again later (throttled, outage, network); refusals and redirects are not. */
  get retryable(): boolean {
    return (this.status === 0 && this.code === "unreachable") || this.status === 429 || this.status >= 500;
  }
}

export type BearerSource = string | (() => string | Promise<string>);

export interface VendingClientOptions {
  /** The token URL, e.g. `https://abc.execute-api.us-east-1.amazonaws.com/token`. */
  url: string;
  /** `Authorization: Bearer ...` (a string or a function returning a fresh one, e.g. an ID token). */
  bearerToken?: BearerSource;
  /** Extra request headers (an API key header, a Lambda authorizer's headers, ...). */
  headers?: Record<string, string>;
  /** With permissions or ttlSeconds the client POSTs exactly that request, otherwise it GETs. */
  permissions?: readonly Permission[];
  ttlSeconds?: number;
  /** `?name=`: a label the vendor puts into the token id (letters, digits, `._-`, ≤ 32). */
  name?: string;
  renewMarginSeconds?: number;
  /** First backoff after a failed renewal without Retry-After; doubles up to maxRetrySeconds. */
  minRetrySeconds?: number;
  maxRetrySeconds?: number;
  timeoutMs?: number;
  /** Without a valid token, keep retrying throttled/unavailable answers this long (default 30). */
  firstFetchPatienceSeconds?: number;
  fetch?: typeof fetch;
  /** Epoch milliseconds (tests). */
  now?: () => number;
  /** 0..1 (tests); default Math.random. */
  random?: () => number;
}

/** Momento's ceiling on a disposable token's lifetime, plus slack for clock skew. */
const MAX_LIFETIME_SECONDS = 25 * 3600 + 300;
const MAX_TOKEN_CHARS = 16 * 1024;

type Listener = (creds: VendedCredentials) => void;

export class TokenVendingClient {
  private readonly url: string;
  private readonly options: VendingClientOptions;
  private readonly fetchFn: typeof fetch;
  private readonly now: () => number;
  private readonly random: () => number;
  private held?: VendedCredentials;
  private inflight?: Promise<VendedCredentials>;
  private retryAtMs = -Infinity;
  private failures = 0;
  private timer?: ReturnType<typeof setTimeout>;
  private running = false;
  private readonly listeners = new Set<Listener>();
  /** How many tokens were fetched from the vendor. */
  fetches = 0;
  /** The last renewal error while a valid token was still held (cleared by a success). */
  lastError?: VendingError;

  constructor(options: VendingClientOptions) {
    const parsed = new URL(options.url);
    if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
      throw new TypeError("url must be an http(s) URL");
    }
    if (options.name !== undefined) parsed.searchParams.set("name", options.name);
    this.url = parsed.toString();
    this.options = options;
    this.fetchFn = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
  }

  toString(): string {
    return `TokenVendingClient(${this.url})`;
  }

  /** The held token without asking the vendor (undefined before the first fetch). */
  current(): VendedCredentials | undefined {
    return this.held;
  }

  /** Epoch ms at which the held token is due for renewal. */
  renewAt(creds: VendedCredentials): number {
    const margin = (this.options.renewMarginSeconds ?? 60) * 1000;
    const lifetime = Math.max(0, creds.expiresAt * 1000 - creds.fetchedAt);
    return creds.expiresAt * 1000 - Math.min(margin, lifetime / 2);
  }

  /** The current token, fetching one when none is held or renewal is due (one request at a time). */
  async credentials(): Promise<VendedCredentials> {
    const held = this.held;
    const now = this.now();
    if (held && now < this.renewAt(held)) return held;
    if (held && now < Math.min(this.retryAtMs, held.expiresAt * 1000)) return held;
    this.inflight ??= this.renew().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  /** Drop the held token (e.g. after Momento answered AUTHENTICATION_ERROR); the next call fetches. */
  invalidate(): void {
    this.held = undefined;
    this.retryAtMs = -Infinity;
  }

  /** Called with every new token (renewals included). Returns an unsubscribe function. */
  onChange(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Renew in the background ahead of expiry, so pages never wait for a token. */
  start(): void {
    this.running = true;
    this.schedule();
  }

  stop(): void {
    this.running = false;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (!this.running) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    const held = this.held;
    const now = this.now();
    let at = Math.max(now, this.retryAtMs);
    if (held && now < held.expiresAt * 1000) {
      at = Math.max(this.renewAt(held), Math.min(this.retryAtMs, held.expiresAt * 1000));
    }
    const delay = Math.max(0, Math.min(at - this.now(), 2 ** 31 - 1));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.credentials()
        .catch(() => undefined)
        .finally(() => this.schedule());
    }, delay);
  }

  private backoffSeconds(error: VendingError): number {
    const min = this.options.minRetrySeconds ?? 1;
    // A vendor (or a proxy in front of it) saying "Retry-After: 0" must not start a retry storm.
    if (error.retryAfterSeconds !== undefined) return Math.max(min, error.retryAfterSeconds);
    const max = this.options.maxRetrySeconds ?? 30;
    const ceiling = Math.min(max, min * 2 ** Math.min(this.failures, 16));
    return min + (ceiling - min) * this.random();
  }

  private async renew(): Promise<VendedCredentials> {
    const held = this.held;
    const patience = (this.options.firstFetchPatienceSeconds ?? 30) * 1000;
    const giveUpAt = this.now() + patience;
    for (;;) {
      try {
        const fresh = await this.fetchOnce();
        this.held = fresh;
        this.retryAtMs = -Infinity;
        this.failures = 0;
        this.lastError = undefined;
        for (const listener of this.listeners) {
          try {
            listener(fresh);
          } catch {
            // a listener's failure is the app's, not the renewal's
          }
        }
        return fresh;
      } catch (err) {
        const error = err instanceof VendingError ? err : new VendingError(0, "unreachable", String(err));
        const now = this.now();
        const wait = this.backoffSeconds(error) * 1000;
        this.retryAtMs = now + wait;
        this.failures += 1;
        this.lastError = error;
        if (held && now < held.expiresAt * 1000) return held; // keep serving the valid token
        // No valid token to fall back on: wait as told, within patience, for throttling and outages.
        if (!error.retryable || now + wait > giveUpAt) throw error;
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  }

  private async bearer(): Promise<string | undefined> {
    const source = this.options.bearerToken;
    if (source === undefined) return undefined;
    return typeof source === "function" ? await source() : source;
  }

  private async fetchOnce(): Promise<VendedCredentials> {
    const headers: Record<string, string> = { Accept: "application/json", ...this.options.headers };
    const bearer = await this.bearer();
    if (bearer !== undefined) headers.Authorization = `Bearer ${bearer}`;
    let method = "GET";
    let body: string | undefined;
    if (this.options.permissions !== undefined || this.options.ttlSeconds !== undefined) {
      method = "POST";
      const request: Record<string, unknown> = {};
      if (this.options.permissions !== undefined) request.permissions = this.options.permissions;
      if (this.options.ttlSeconds !== undefined) request.ttlSeconds = this.options.ttlSeconds;
      body = JSON.stringify(request);
      headers["Content-Type"] = "application/json";
    }
    const controller = new AbortController();
    const timeout = setTimeout(() => controller.abort(), this.options.timeoutMs ?? 5000);
    const fetchedAt = this.now();
    let response: Response;
    let text: string;
    try {
      response = await this.fetchFn(this.url, {
        method,
        headers,
        body,
        // "manual": a redirect is answered to us (opaque in browsers) and never followed.
        redirect: "manual",
        credentials: "omit",
        cache: "no-store",
        signal: controller.signal,
      });
      text = await response.text();
    } catch (err) {
      const why = controller.signal.aborted ? "timed out" : "could not be reached";
      throw new VendingError(0, "unreachable", `the vendor ${why}: ${String(err)}`);
    } finally {
      clearTimeout(timeout);
    }
    if (response.type === "opaqueredirect" || (response.status >= 300 && response.status < 400)) {
      throw new VendingError(response.status, "redirect_refused", "the vendor redirected; redirects are never followed");
    }
    if (!response.ok) throw httpError(response, text);
    this.fetches += 1;
    return parseCredentials(text, fetchedAt, this.now());
  }
}

/** Base64 JSON with string `api_key` and `endpoint`: what `CredentialProvider.fromDisposableToken` reads. */
function isDisposableToken(token: string): boolean {
  try {
    const decoded: unknown = JSON.parse(atob(token));
    if (!decoded || typeof decoded !== "object") return false;
    const fields = decoded as Record<string, unknown>;
    return typeof fields.api_key === "string" && fields.api_key !== "" && typeof fields.endpoint === "string";
  } catch {
    return false;
  }
}

function retryAfter(response: Response): number | undefined {
  const value = response.headers.get("retry-after");
  if (value === null) return undefined;
  if (/^\d{1,6}$/.test(value.trim())) return Number(value.trim());
  const date = Date.parse(value);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, Math.min(3600, (date - Date.now()) / 1000));
}

function httpError(response: Response, text: string): VendingError {
  let code = "http_error";
  let message = `the vendor answered ${response.status}`;
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === "object") {
      const obj = parsed as Record<string, unknown>;
      if (typeof obj.error === "string" && obj.error.length <= 64) code = obj.error;
      if (typeof obj.message === "string") message = obj.message.slice(0, 300);
    }
  } catch {
    // not JSON (a gateway's own answer): keep the generic code
  }
  const seconds = retryAfter(response);
  return new VendingError(response.status, code, message, seconds === undefined ? undefined : Math.min(seconds, 3600));
}

/** A vendor answer, checked: a hostile or broken vendor must not hand the SDK garbage. */
export function parseCredentials(text: string, fetchedAt: number, now: number): VendedCredentials {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new VendingError(200, "bad_response", "the vendor's answer is not JSON");
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new VendingError(200, "bad_response", "the vendor's answer is not a JSON object");
  }
  const body = parsed as Record<string, unknown>;
  const token = body.authToken ?? body.token;
  const expiresAt = body.expiresAt ?? body.exp;
  if (typeof token !== "string" || token.length === 0 || token.length > MAX_TOKEN_CHARS) {
    throw new VendingError(200, "bad_response", "the vendor's answer has no usable authToken");
  }
  if (!isDisposableToken(token)) {
    throw new VendingError(200, "bad_response", "the vendor's authToken is not a Momento disposable token");
  }
  if (typeof expiresAt !== "number" || !Number.isInteger(expiresAt)) {
    throw new VendingError(200, "bad_response", "the vendor's answer has no integer expiresAt");
  }
  const nowSeconds = now / 1000;
  if (expiresAt <= nowSeconds || expiresAt > nowSeconds + MAX_LIFETIME_SECONDS) {
    throw new VendingError(200, "bad_response", "the vendor's expiresAt is in the past or beyond Momento's limit");
  }
  const permissions = Array.isArray(body.permissions)
    ? (body.permissions.filter((p) => p && typeof p === "object" && !Array.isArray(p)) as Permission[])
    : [];
  return {
    authToken: token,
    expiresAt,
    endpoint: typeof body.endpoint === "string" ? body.endpoint : undefined,
    tokenId: typeof body.tokenId === "string" ? body.tokenId : undefined,
    permissions,
    fetchedAt,
  };
}
