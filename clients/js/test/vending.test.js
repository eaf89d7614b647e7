// Unit tests of the vending client against a real HTTP server (node:http), no fetch mocks.
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer } from "node:http";
import { after, before, beforeEach, describe, it } from "node:test";

import { parseCredentials, TokenVendingClient, VendingError } from "../dist/index.js";

/** A disposable token as Momento's SDKs hand them out: base64 JSON {endpoint, api_key}. */
const b64 = (apiKey) => Buffer.from(JSON.stringify({ endpoint: "momento.local", api_key: apiKey })).toString("base64");
const key = (creds) => JSON.parse(Buffer.from(creds.authToken, "base64").toString()).api_key;

/** A scripted vendor: each request takes the next answer; every request is recorded. */
class FakeVendor {
  constructor() {
    this.requests = [];
    this.answers = [];
    this.server = createServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        this.requests.push({ method: req.method, url: req.url, headers: req.headers, body });
        const answer = this.answers.shift() ?? this.token(60, this.requests.length - 1);
        res.writeHead(answer.status, answer.headers ?? { "content-type": "application/json" });
        res.end(answer.body);
      });
    });
  }
  async start() {
    this.server.listen(0, "127.0.0.1");
    await once(this.server, "listening");
    this.url = `http://127.0.0.1:${this.server.address().port}/token`;
  }
  stop() {
    this.server.closeAllConnections();
    this.server.close();
  }
  token(lifetimeSeconds, n = this.requests.length, now = Date.now()) {
    const expiresAt = Math.floor(now / 1000) + lifetimeSeconds;
    return {
      status: 200,
      body: JSON.stringify({ authToken: b64(`tok-${n}`), token: b64(`tok-${n}`), expiresAt, exp: expiresAt, tokenId: "u1", permissions: [] }),
    };
  }
}

const vendor = new FakeVendor();
before(() => vendor.start());
after(() => vendor.stop());
beforeEach(() => {
  vendor.requests = [];
  vendor.answers = [];
});

describe("fetching", () => {
  it("GETs with the bearer token, no cookies, and the name as a query label", async () => {
    const client = new TokenVendingClient({ url: vendor.url, bearerToken: () => "id-token", name: "Taylor" });
    const creds = await client.credentials();
    assert.equal(key(creds), "tok-0");
    const [req] = vendor.requests;
    assert.equal(req.method, "GET");
    assert.equal(req.url, "/token?name=Taylor");
    assert.equal(req.headers.authorization, "Bearer id-token");
    assert.equal(req.headers.cookie, undefined);
  });

  it("POSTs exactly the requested permissions and lifetime", async () => {
    const permissions = [{ cache: "chat", topic: "room", role: "publish_subscribe" }];
    const client = new TokenVendingClient({ url: vendor.url, permissions, ttlSeconds: 120 });
    await client.credentials();
    const [req] = vendor.requests;
    assert.equal(req.method, "POST");
    assert.equal(req.headers["content-type"], "application/json");
    assert.deepEqual(JSON.parse(req.body), { permissions, ttlSeconds: 120 });
  });

  it("asks once for many concurrent callers", async () => {
    const client = new TokenVendingClient({ url: vendor.url });
    const all = await Promise.all([1, 2, 3, 4, 5].map(() => client.credentials()));
    assert.equal(vendor.requests.length, 1);
    assert.ok(all.every((c) => key(c) === "tok-0"));
  });

  it("refuses redirects, so the bearer token never goes elsewhere", async () => {
    const elsewhere = new FakeVendor();
    await elsewhere.start();
    try {
      vendor.answers.push({ status: 302, headers: { location: elsewhere.url }, body: "" });
      const client = new TokenVendingClient({ url: vendor.url, bearerToken: "secret-id-token" });
      await assert.rejects(
        client.credentials(),
        (err) => err instanceof VendingError && err.code === "redirect_refused" && !err.retryable,
      );
      assert.equal(elsewhere.requests.length, 0);
    } finally {
      elsewhere.stop();
    }
  });

  it("turns refusals into typed errors without the token in them", async () => {
    vendor.answers.push({ status: 403, body: JSON.stringify({ error: "forbidden", message: "not allowed" }) });
    const client = new TokenVendingClient({ url: vendor.url, bearerToken: "secret-id-token" });
    await assert.rejects(client.credentials(), (err) => {
      assert.equal(err.status, 403);
      assert.equal(err.code, "forbidden");
      assert.equal(err.retryable, false);
      assert.ok(!String(err).includes("secret-id-token"));
      return true;
    });
    assert.ok(!String(client).includes("secret"));
  });
});

describe("hostile or broken vendor answers", () => {
  const now = Date.now();
  const good = { authToken: b64("k"), expiresAt: Math.floor(now / 1000) + 60 };
  for (const [name, body] of [
    ["not JSON", "<html>"],
    ["an array", "[]"],
    ["no token", JSON.stringify({ ...good, authToken: undefined })],
    ["a non-string token", JSON.stringify({ ...good, authToken: { x: 1 } })],
    ["a huge token", JSON.stringify({ ...good, authToken: "x".repeat(20000) })],
    ["a token that is not base64", JSON.stringify({ ...good, authToken: "not base64!" })],
    ["a token that is not JSON inside", JSON.stringify({ ...good, authToken: btoa("hello") })],
    ["a token without api_key", JSON.stringify({ ...good, authToken: btoa('{"endpoint":"e"}') })],
    ["an expiry in the past", JSON.stringify({ ...good, expiresAt: Math.floor(now / 1000) - 1 })],
    ["an expiry in 2100", JSON.stringify({ ...good, expiresAt: 4102444800 })],
    ["a fractional expiry", JSON.stringify({ ...good, expiresAt: good.expiresAt + 0.5 })],
    ["a string expiry", JSON.stringify({ ...good, expiresAt: String(good.expiresAt) })],
  ]) {
    it(`refuses ${name}`, () => {
      assert.throws(() => parseCredentials(body, now, now), (err) => err.code === "bad_response");
    });
  }
  it("accepts the seed's shape (token, exp)", () => {
    const creds = parseCredentials(JSON.stringify({ token: b64("t"), exp: good.expiresAt }), now, now);
    assert.equal(key(creds), "t");
  });
});

describe("renewal", () => {
  it("reuses the token until the renewal margin, then fetches a new one", async () => {
    let t = Date.now();
    const client = new TokenVendingClient({ url: vendor.url, renewMarginSeconds: 10, now: () => t });
    vendor.answers.push(vendor.token(60, 0, t));
    const first = await client.credentials();
    t += 49_000;
    assert.equal((await client.credentials()).authToken, first.authToken);
    vendor.answers.push(vendor.token(60, 1, t + 2000));
    t += 2_000;
    assert.equal(key(await client.credentials()), "tok-1");
    assert.equal(vendor.requests.length, 2);
  });

  it("keeps the held token through a 429 and waits for Retry-After", async () => {
    let t = Date.now();
    const client = new TokenVendingClient({ url: vendor.url, renewMarginSeconds: 30, now: () => t });
    vendor.answers.push(vendor.token(60, 0, t));
    await client.credentials();
    t += 31_000;
    vendor.answers.push({ status: 429, headers: { "content-type": "application/json", "retry-after": "7" }, body: '{"error":"momento_limit_exceeded","message":"later"}' });
    assert.equal(key(await client.credentials()), "tok-0");
    assert.equal(client.lastError.status, 429);
    assert.equal(client.lastError.retryAfterSeconds, 7);
    t += 6_000;
    await client.credentials();
    await client.credentials();
    assert.equal(vendor.requests.length, 2, "no request before Retry-After");
    t += 1_500;
    vendor.answers.push(vendor.token(60, 2, t));
    assert.equal(key(await client.credentials()), "tok-2");
    assert.equal(client.lastError, undefined);
  });

  it("without a token yet, waits out a 429 as told instead of failing the page", async () => {
    vendor.answers.push({ status: 429, headers: { "retry-after": "1" }, body: '{"error":"auth_quota_reserved"}' });
    const client = new TokenVendingClient({ url: vendor.url });
    const started = Date.now();
    const creds = await client.credentials();
    assert.equal(key(creds), "tok-1");
    assert.ok(Date.now() - started >= 900, "Retry-After was honoured");
    assert.equal(vendor.requests.length, 2);
  });

  it("gives up on a first fetch once patience runs out, and never retries a refusal", async () => {
    vendor.answers.push({ status: 503, headers: { "retry-after": "5" }, body: "{}" });
    const impatient = new TokenVendingClient({ url: vendor.url, firstFetchPatienceSeconds: 1 });
    await assert.rejects(impatient.credentials(), (err) => err.status === 503);
    vendor.answers.push({ status: 401, body: '{"error":"unauthenticated"}' });
    await assert.rejects(new TokenVendingClient({ url: vendor.url }).credentials(), (err) => err.status === 401);
    assert.equal(vendor.requests.length, 2);
  });

  it("never retries faster than minRetrySeconds, even when told Retry-After: 0", async () => {
    let t = Date.now();
    const client = new TokenVendingClient({ url: vendor.url, renewMarginSeconds: 30, now: () => t });
    vendor.answers.push(vendor.token(60, 0, t));
    await client.credentials();
    t += 31_000;
    vendor.answers.push({ status: 429, headers: { "retry-after": "0" }, body: "{}" });
    await client.credentials();
    for (let i = 0; i < 9; i++) {
      t += 100;
      await client.credentials();
    }
    assert.equal(vendor.requests.length, 2, "no retry storm within the first second");
  });

  it("backs off exponentially without Retry-After, and never past the expiry", async () => {
    let t = Date.now();
    const client = new TokenVendingClient({
      url: vendor.url, renewMarginSeconds: 50, minRetrySeconds: 1, maxRetrySeconds: 8, now: () => t, random: () => 1,
      firstFetchPatienceSeconds: 0,
    });
    vendor.answers.push(vendor.token(60, 0, t));
    await client.credentials();
    t += 31_000; // past renewAt (half-way)
    const gaps = [];
    let last = t;
    for (let i = 0; i < 5; i++) {
      vendor.answers.push({ status: 503, body: "{}" });
      const before = vendor.requests.length;
      while (vendor.requests.length === before) {
        await client.credentials();
        if (vendor.requests.length === before) t += 250;
      }
      gaps.push(t - last);
      last = t;
    }
    // 1 s, 2 s, 4 s, 8 s, 8 s (capped); the first request came at once
    assert.deepEqual(gaps.slice(1), [1000, 2000, 4000, 8000]);
    t = (await client.credentials()).expiresAt * 1000 + 1;
    vendor.answers.push({ status: 503, body: "{}" });
    await assert.rejects(client.credentials(), (err) => err.status === 503);
  });

  it("renews in the background ahead of expiry and tells listeners", async () => {
    vendor.answers.push(vendor.token(2));
    const client = new TokenVendingClient({ url: vendor.url, renewMarginSeconds: 1 });
    const seen = [];
    client.onChange((c) => seen.push(c.authToken));
    await client.credentials();
    client.start();
    try {
      const deadline = Date.now() + 3000;
      while (seen.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    } finally {
      client.stop();
    }
    assert.equal(seen.length >= 2, true);
    assert.notEqual(seen[0], seen[1]);
  });
});
