'use strict';
// v1 API keys through AuthClient: generateApiKey (refused for super-user, allowed for data-only),
// refreshApiKey chains and a reused refresh token. Expectations from Momento's own integration tests
// (client-sdk-javascript packages/common-integration-tests/src/auth/auth-client.ts).
const {test, after} = require('node:test');
const assert = require('node:assert/strict');
const L = require('../lib/local');

const {sdk, CACHE} = L;
const {ExpiresIn, MomentoErrorCode: E, PermissionScopes: P, CacheRole, AllCaches} = sdk;
// What the SDK sends for super-user permissions (the integration tests use the same class).
const {InternalSuperUserPermissions} = require('@gomomento/sdk-core/dist/src/internal/utils/auth');

after(L.closeAll);

test('a v1 super-user key cannot generate a super-user key: PERMISSION_ERROR, "Insufficient permissions"', async () => {
  const auth = L.authClient(L.MASTER_KEY);
  for (const expiresIn of [ExpiresIn.seconds(60), ExpiresIn.never()]) {
    const resp = await auth.generateApiKey(new InternalSuperUserPermissions(), expiresIn);
    assert.ok(resp instanceof sdk.GenerateApiKey.Error, `${resp}`);
    assert.equal(resp.errorCode(), E.PERMISSION_ERROR);
    assert.match(resp.message(), /Insufficient permissions/);
  }
});

test('a v1 super-user key generates AllDataReadWrite keys; a never-expiring one has no refresh token', async () => {
  const auth = L.authClient(L.MASTER_KEY);
  const expiring = await auth.generateApiKey(sdk.AllDataReadWrite, ExpiresIn.minutes(10));
  assert.ok(expiring instanceof sdk.GenerateApiKey.Success, `${expiring}`);
  assert.ok(expiring.refreshToken.length > 0);
  assert.ok(expiring.expiresAt.doesExpire());
  const never = await auth.generateApiKey(sdk.AllDataReadWrite, ExpiresIn.never());
  assert.ok(never instanceof sdk.GenerateApiKey.Success, `${never}`);
  assert.equal(never.expiresAt.doesExpire(), false);
  assert.equal(never.refreshToken, '');

  // the data-only key reads and writes data, but makes no caches, tokens or keys
  const cache = await L.cacheClient(never.apiKey);
  L.assertOk(await cache.set(CACHE, 'from-data-key', 'v'), 'data-only set');
  L.assertError(await cache.createCache(L.unique('c')), E.PERMISSION_ERROR, 'data-only createCache');
  const dataAuth = L.authClient(never.apiKey);
  L.assertError(
    await dataAuth.generateDisposableToken(P.cacheReadOnly(CACHE), ExpiresIn.minutes(1)),
    E.PERMISSION_ERROR,
    'data-only mint'
  );
  L.assertError(
    await dataAuth.generateApiKey(sdk.AllDataReadWrite, ExpiresIn.minutes(1)),
    E.PERMISSION_ERROR,
    'data-only generateApiKey'
  );
});

test('generateApiKey with empty or conflicting permissions is INVALID_ARGUMENT', async () => {
  const auth = L.authClient(L.MASTER_KEY);
  L.assertError(
    await auth.generateApiKey({permissions: []}, ExpiresIn.seconds(60)),
    E.INVALID_ARGUMENT_ERROR,
    'empty'
  );
  const conflicting = {
    permissions: [
      {role: CacheRole.ReadOnly, cache: AllCaches},
      {role: CacheRole.ReadWrite, cache: AllCaches},
    ],
  };
  L.assertError(
    await auth.generateApiKey(conflicting, ExpiresIn.seconds(60)),
    E.INVALID_ARGUMENT_ERROR,
    'conflicting'
  );
});

test('refreshApiKey chains: every refreshed key works; a reused refresh token is refused', async () => {
  const first = await L.authClient(L.MASTER_KEY).generateApiKey(sdk.AllDataReadWrite, ExpiresIn.seconds(600));
  assert.ok(first instanceof sdk.GenerateApiKey.Success, `${first}`);
  let key = first.apiKey;
  let refreshToken = first.refreshToken;
  const seen = new Set([key]);
  for (let step = 0; step < 3; step++) {
    const resp = await L.authClient(key).refreshApiKey(refreshToken);
    assert.ok(resp instanceof sdk.RefreshApiKey.Success, `step ${step}: ${resp}`);
    assert.ok(!seen.has(resp.apiKey), 'a new key each time');
    assert.notEqual(resp.refreshToken, refreshToken);
    // the same lifetime, counted from the refresh
    assert.ok(Math.abs(resp.expiresAt.epoch() - (Date.now() / 1000 + 600)) < 60, `${resp.expiresAt.epoch()}`);
    const cache = await L.cacheClient(resp.apiKey);
    L.assertOk(await cache.set(CACHE, `chain-${step}`, 'v'), `refreshed key ${step} works`);
    seen.add(resp.apiKey);
    // reusing the refresh token just spent is refused, and does not disturb the chain
    const reused = await L.authClient(key).refreshApiKey(refreshToken);
    assert.ok(reused instanceof sdk.RefreshApiKey.Error, `reused: ${reused}`);
    assert.ok(
      [E.AUTHENTICATION_ERROR, E.INVALID_ARGUMENT_ERROR].includes(reused.errorCode()),
      `reused: ${reused.errorCode()}`
    );
    key = resp.apiKey;
    refreshToken = resp.refreshToken;
  }
});

test('the console key refreshes into a key that still mints tokens', async () => {
  const resp = await L.authClient(L.MASTER_KEY).refreshApiKey(L.MASTER_REFRESH);
  assert.ok(resp instanceof sdk.RefreshApiKey.Success, `${resp}`);
  const minted = await L.authClient(resp.apiKey).generateDisposableToken(P.cacheReadOnly(CACHE), ExpiresIn.minutes(1));
  assert.ok(minted instanceof sdk.GenerateDisposableToken.Success, `${minted}`);
  // and still cannot generate a super-user key
  const su = await L.authClient(resp.apiKey).generateApiKey(new InternalSuperUserPermissions(), ExpiresIn.minutes(1));
  L.assertError(su, E.PERMISSION_ERROR, 'refreshed console key generating super-user');
});

test('an expired key cannot be refreshed', async () => {
  const gen = await L.authClient(L.MASTER_KEY).generateApiKey(sdk.AllDataReadWrite, ExpiresIn.seconds(1));
  assert.ok(gen instanceof sdk.GenerateApiKey.Success, `${gen}`);
  await L.sleep(2100);
  const resp = await L.authClient(gen.apiKey).refreshApiKey(gen.refreshToken);
  assert.ok(resp instanceof sdk.RefreshApiKey.Error, `${resp}`);
  assert.ok([E.AUTHENTICATION_ERROR, E.INVALID_ARGUMENT_ERROR].includes(resp.errorCode()));
});
