'use strict';
// Shared setup: Momento's unpatched Node.js SDK pointed at the local server over plaintext.
// The pytest driver (tests/conformance/test_node_sdk.py) starts the server and passes:
//   MOMENTO_LOCAL_ADDRESS   host:port of the gRPC listener
//   MOMENTO_MASTER_KEY      a console-style v1 super-user key (expires in 30 days)
//   MOMENTO_MASTER_REFRESH  its refresh token
//   MOMENTO_CACHE           an existing cache; MOMENTO_OTHER_CACHE a second one
const assert = require('node:assert/strict');
const sdk = require('@gomomento/sdk');

function env(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: run this suite through tests/conformance/test_node_sdk.py`);
  }
  return value;
}

const ADDRESS = env('MOMENTO_LOCAL_ADDRESS');
const MASTER_KEY = env('MOMENTO_MASTER_KEY');
const MASTER_REFRESH = env('MOMENTO_MASTER_REFRESH');
const CACHE = env('MOMENTO_CACHE');
const OTHER_CACHE = env('MOMENTO_OTHER_CACHE');

/** The SDK's own provider for a v1 key or a disposable token, with every endpoint overridden. */
function provider(key) {
  return sdk.CredentialProvider.fromString({
    apiKey: key,
    endpointOverrides: {
      controlEndpoint: ADDRESS,
      cacheEndpoint: ADDRESS,
      tokenEndpoint: ADDRESS,
      secureConnection: false,
    },
  });
}

const closers = [];

async function cacheClient(key) {
  const client = await sdk.CacheClient.create({
    configuration: sdk.Configurations.Laptop.v1(),
    credentialProvider: provider(key),
    defaultTtlSeconds: 300,
  });
  closers.push(() => client.close());
  return client;
}

function topicClient(key) {
  const client = new sdk.TopicClient({
    configuration: sdk.TopicConfigurations.Default.latest(),
    credentialProvider: provider(key),
  });
  return client; // TopicClient has no close(); subscriptions are unsubscribed by the tests
}

function authClient(key) {
  const client = new sdk.AuthClient({
    configuration: sdk.AuthClientConfigurations.Default.latest(),
    credentialProvider: provider(key),
  });
  return client; // AuthClient has no close()
}

function closeAll() {
  while (closers.length) {
    try {
      closers.pop()();
    } catch {
      // already closed
    }
  }
}

/** A disposable token for `scope`, minted with the master key; fails the test if minting fails. */
async function mint(scope, expiresIn = sdk.ExpiresIn.minutes(5), props = undefined) {
  const resp = await authClient(MASTER_KEY).generateDisposableToken(scope, expiresIn, props);
  assert.ok(resp instanceof sdk.GenerateDisposableToken.Success, `mint failed: ${resp}`);
  return resp.authToken;
}

/** The SDK error code of a response, or null for anything that is not an error. */
function errorCode(resp) {
  return typeof resp.errorCode === 'function' ? resp.errorCode() : null;
}

function assertOk(resp, what) {
  assert.equal(errorCode(resp), null, `${what}: ${resp}`);
}

function assertError(resp, code, what) {
  assert.equal(errorCode(resp), code, `${what}: expected ${code}, got ${resp}`);
}

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));

/** Subscribe and collect items; `next(n)` waits (bounded) for the first n items. */
async function collect(topics, cache, topic) {
  const items = [];
  const errors = [];
  const sub = await topics.subscribe(cache, topic, {
    onItem: item => items.push(item),
    onError: err => errors.push(err),
  });
  return {
    sub,
    items,
    errors,
    async next(n, timeoutMs = 5000) {
      const until = Date.now() + timeoutMs;
      while (items.length < n && Date.now() < until) {
        await sleep(20);
      }
      assert.ok(items.length >= n, `expected ${n} items, got ${items.length} (errors: ${errors})`);
      return items.slice(0, n);
    },
  };
}

let counter = 0;
/** A key or topic name unique within this run. */
function unique(prefix) {
  counter += 1;
  return `${prefix}-${process.pid}-${counter}`;
}

module.exports = {
  sdk,
  ADDRESS,
  MASTER_KEY,
  MASTER_REFRESH,
  CACHE,
  OTHER_CACHE,
  provider,
  cacheClient,
  topicClient,
  authClient,
  closeAll,
  mint,
  errorCode,
  assertOk,
  assertError,
  sleep,
  collect,
  unique,
};
