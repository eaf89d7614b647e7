'use strict';
// The data-plane calls the apps use: the SetIf family (setIfAbsent / setIfNotExists send SetIf{absent})
// and increment.
const {test, after} = require('node:test');
const assert = require('node:assert/strict');
const L = require('../lib/local');

const {sdk, CACHE} = L;
const {MomentoErrorCode: E, DisposableTokenScopes: D, PermissionScopes: P} = sdk;

after(L.closeAll);

async function value(cache, key) {
  const got = await cache.get(CACHE, key);
  return got instanceof sdk.CacheGet.Hit ? got.valueString() : null;
}

test('setIfAbsent and setIfNotExists store only when the key is absent', async () => {
  const cache = await L.cacheClient(L.MASTER_KEY);
  const key = L.unique('absent');
  assert.ok((await cache.setIfAbsent(CACHE, key, 'first')) instanceof sdk.CacheSetIfAbsent.Stored);
  assert.ok((await cache.setIfAbsent(CACHE, key, 'second')) instanceof sdk.CacheSetIfAbsent.NotStored);
  assert.equal(await value(cache, key), 'first');
  const other = L.unique('notexists');
  assert.ok((await cache.setIfNotExists(CACHE, other, 'a')) instanceof sdk.CacheSetIfNotExists.Stored);
  assert.ok((await cache.setIfNotExists(CACHE, other, 'b')) instanceof sdk.CacheSetIfNotExists.NotStored);
  assert.equal(await value(cache, other), 'a');
});

test('setIfAbsent honours its TTL', async () => {
  const cache = await L.cacheClient(L.MASTER_KEY);
  const key = L.unique('ttl');
  assert.ok((await cache.setIfAbsent(CACHE, key, 'v', {ttl: 1})) instanceof sdk.CacheSetIfAbsent.Stored);
  await L.sleep(1300);
  assert.equal(await value(cache, key), null);
  assert.ok((await cache.setIfAbsent(CACHE, key, 'again')) instanceof sdk.CacheSetIfAbsent.Stored);
});

test('the other SetIf conditions decide against the stored value', async () => {
  const cache = await L.cacheClient(L.MASTER_KEY);
  const key = L.unique('cond');
  const stored = r => r.constructor.name === 'Stored';
  assert.equal(stored(await cache.setIfPresent(CACHE, key, 'x')), false, 'setIfPresent on absent');
  assert.equal(stored(await cache.setIfAbsentOrEqual(CACHE, key, 'old', 'zzz')), true, 'absentOrEqual on absent');
  assert.equal(stored(await cache.setIfEqual(CACHE, key, 'new', 'other')), false, 'setIfEqual mismatch');
  assert.equal(stored(await cache.setIfEqual(CACHE, key, 'new', 'old')), true, 'setIfEqual match');
  assert.equal(stored(await cache.setIfNotEqual(CACHE, key, 'x', 'new')), false, 'setIfNotEqual equal');
  assert.equal(stored(await cache.setIfPresentAndNotEqual(CACHE, key, 'y', 'other')), true, 'presentAndNotEqual');
  assert.equal(stored(await cache.setIfPresent(CACHE, key, 'z')), true, 'setIfPresent on present');
  assert.equal(stored(await cache.setIfAbsentOrEqual(CACHE, key, 'w', 'nope')), false, 'absentOrEqual mismatch');
  assert.equal(await value(cache, key), 'z');
});

test('setIfAbsent needs write permission on the key', async () => {
  const token = await L.mint(D.cacheKeyReadOnly(CACHE, 'ro'));
  const cache = await L.cacheClient(token);
  L.assertError(await cache.setIfAbsent(CACHE, 'ro', 'v'), E.PERMISSION_ERROR, 'read-only setIfAbsent');
  const writer = await L.cacheClient(await L.mint(D.cacheKeyReadWrite(CACHE, L.unique('rw'))));
  L.assertError(await writer.setIfAbsent(CACHE, 'elsewhere', 'v'), E.PERMISSION_ERROR, 'other key');
});

test('increment counts from the amount, adds to integers set by set(), and refuses non-integers', async () => {
  const cache = await L.cacheClient(L.MASTER_KEY);
  const key = L.unique('counter');
  let resp = await cache.increment(CACHE, key, 5);
  assert.ok(resp instanceof sdk.CacheIncrement.Success, `${resp}`);
  assert.equal(resp.valueNumber(), 5);
  resp = await cache.increment(CACHE, key, -7);
  assert.equal(resp.valueNumber(), -2);
  assert.equal(await value(cache, key), '-2');
  resp = await cache.increment(CACHE, key); // amount defaults to 1
  assert.equal(resp.valueNumber(), -1);

  const set = L.unique('set');
  await cache.set(CACHE, set, '10');
  assert.equal((await cache.increment(CACHE, set, 0)).valueNumber(), 10);

  const text = L.unique('text');
  await cache.set(CACHE, text, 'abcxyz');
  L.assertError(await cache.increment(CACHE, text, 1), E.FAILED_PRECONDITION_ERROR, 'increment a string');
  assert.equal(await value(cache, text), 'abcxyz');
});

test('increment takes a TTL', async () => {
  const cache = await L.cacheClient(L.MASTER_KEY);
  const key = L.unique('ttl-counter');
  assert.equal((await cache.increment(CACHE, key, 1, {ttl: 1})).valueNumber(), 1);
  await L.sleep(1300);
  assert.equal(await value(cache, key), null);
  assert.equal((await cache.increment(CACHE, key, 1, {ttl: 60})).valueNumber(), 1);
});

test('increment needs read and write on the key (a token scoped to one key)', async () => {
  const key = L.unique('quota');
  const rw = await L.cacheClient(await L.mint(D.cacheKeyReadWrite(CACHE, key)));
  assert.equal((await rw.increment(CACHE, key, 1)).valueNumber(), 1);
  L.assertError(await rw.increment(CACHE, `${key}-other`, 1), E.PERMISSION_ERROR, 'another key');
  const ro = await L.cacheClient(await L.mint(P.cacheReadOnly(CACHE)));
  L.assertError(await ro.increment(CACHE, key, 1), E.PERMISSION_ERROR, 'read-only token');
});
