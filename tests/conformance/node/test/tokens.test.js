'use strict';
// Disposable tokens of every scope kind the SDK offers: one allowed and one denied operation each,
// expiry on the server, the 25 h lifetime cap and token ids.
const {test, after} = require('node:test');
const assert = require('node:assert/strict');
const L = require('../lib/local');

const {sdk, CACHE, OTHER_CACHE} = L;
const {
  AllCaches,
  AllTopics,
  CacheRole,
  TopicRole,
  ExpiresIn,
  MomentoErrorCode: E,
  PermissionScopes: P,
  DisposableTokenScopes: D,
} = sdk;

after(L.closeAll);

const get = (cache, key) => async t => (await L.cacheClient(t)).get(cache, key);
const set = (cache, key) => async t => (await L.cacheClient(t)).set(cache, key, 'v');
const publish = (cache, topic) => async t => L.topicClient(t).publish(cache, topic, 'm');
const subscribe = (cache, topic) => async t => {
  const resp = await L.topicClient(t).subscribe(cache, topic, {onItem: () => {}, onError: () => {}});
  if (resp instanceof sdk.TopicSubscribe.Subscription) {
    resp.unsubscribe();
  }
  return resp;
};

const CASES = [
  ['cacheReadWrite(name)', P.cacheReadWrite(CACHE), set(CACHE, 'k'), set(OTHER_CACHE, 'k')],
  ['cacheReadWrite(AllCaches)', P.cacheReadWrite(AllCaches), set(OTHER_CACHE, 'k'), publish(CACHE, 't')],
  ['cacheReadOnly(name)', P.cacheReadOnly(CACHE), get(CACHE, 'k'), set(CACHE, 'k')],
  ['cacheWriteOnly(name)', P.cacheWriteOnly(CACHE), set(CACHE, 'k'), get(CACHE, 'k')],
  ['cacheKeyReadWrite', D.cacheKeyReadWrite(CACHE, 'a'), set(CACHE, 'a'), set(CACHE, 'b')],
  ['cacheKeyReadOnly', D.cacheKeyReadOnly(CACHE, 'a'), get(CACHE, 'a'), set(CACHE, 'a')],
  ['cacheKeyWriteOnly', D.cacheKeyWriteOnly(CACHE, 'a'), set(CACHE, 'a'), get(CACHE, 'a')],
  ['cacheKeyPrefixReadWrite', D.cacheKeyPrefixReadWrite(CACHE, 'p-'), set(CACHE, 'p-1'), set(CACHE, 'q-1')],
  ['cacheKeyPrefixReadOnly', D.cacheKeyPrefixReadOnly(CACHE, 'p-'), get(CACHE, 'p-1'), get(CACHE, 'q-1')],
  ['cacheKeyPrefixWriteOnly', D.cacheKeyPrefixWriteOnly(CACHE, 'p-'), set(CACHE, 'p-1'), get(CACHE, 'p-1')],
  ['topicPublishSubscribe', P.topicPublishSubscribe(CACHE, 't'), subscribe(CACHE, 't'), publish(CACHE, 'u')],
  ['topicPublishOnly', P.topicPublishOnly(CACHE, 't'), publish(CACHE, 't'), subscribe(CACHE, 't')],
  ['topicSubscribeOnly', P.topicSubscribeOnly(CACHE, 't'), subscribe(CACHE, 't'), publish(CACHE, 't')],
  [
    'topicPublishSubscribe(AllCaches, AllTopics)',
    P.topicPublishSubscribe(AllCaches, AllTopics),
    publish(OTHER_CACHE, 'any'),
    get(CACHE, 'k'),
  ],
  [
    'permissions list (cache + topic + function)',
    {
      permissions: [
        {role: CacheRole.ReadOnly, cache: CACHE},
        {role: TopicRole.PublishOnly, cache: AllCaches, topic: 'news'},
        {role: sdk.FunctionRole.FunctionInvoke, cache: AllCaches, func: {namePrefix: 'f-'}},
      ],
    },
    publish(OTHER_CACHE, 'news'),
    publish(CACHE, 'sport'),
  ],
  [
    'disposable permissions list (key + key prefix)',
    {
      permissions: [
        {role: CacheRole.ReadWrite, cache: CACHE, item: {key: 'exact'}},
        {role: CacheRole.ReadOnly, cache: OTHER_CACHE, item: {keyPrefix: 'pub/'}},
      ],
    },
    get(OTHER_CACHE, 'pub/x'),
    set(OTHER_CACHE, 'pub/x'),
  ],
  ['AllDataReadWrite (with its function-invoke statement)', sdk.AllDataReadWrite, set(OTHER_CACHE, 'k'), null],
];

for (const [name, scope, allowed, denied] of CASES) {
  test(`disposable token ${name}: allowed and denied`, async () => {
    const token = await L.mint(scope);
    L.assertOk(await allowed(token), `${name} allowed`);
    if (denied) {
      L.assertError(await denied(token), E.PERMISSION_ERROR, `${name} denied`);
    }
  });
}

test('disposable tokens cannot use the control plane or mint', async () => {
  const token = await L.mint(P.cacheReadWrite(AllCaches));
  const cache = await L.cacheClient(token);
  L.assertError(await cache.createCache(L.unique('nope')), E.PERMISSION_ERROR, 'createCache');
  const minted = await L.authClient(token).generateDisposableToken(P.cacheReadOnly(CACHE), ExpiresIn.minutes(1));
  L.assertError(minted, E.PERMISSION_ERROR, 'token minting a token');
});

test('a disposable token expires on the server', async () => {
  const token = await L.mint(P.cacheReadWrite(CACHE), ExpiresIn.seconds(2));
  const cache = await L.cacheClient(token);
  L.assertOk(await cache.set(CACHE, 'k', 'v'), 'before expiry');
  await L.sleep(3100);
  L.assertError(await cache.get(CACHE, 'k'), E.AUTHENTICATION_ERROR, 'after expiry');
});

test('lifetime: 25 hours is accepted, one second more is INVALID_ARGUMENT', async () => {
  const auth = L.authClient(L.MASTER_KEY);
  const ok = await auth.generateDisposableToken(P.cacheReadOnly(CACHE), ExpiresIn.seconds(25 * 3600));
  assert.ok(ok instanceof sdk.GenerateDisposableToken.Success, `${ok}`);
  assert.ok(Math.abs(ok.expiresAt.epoch() - (Date.now() / 1000 + 25 * 3600)) < 60);
  const tooLong = await auth.generateDisposableToken(P.cacheReadOnly(CACHE), ExpiresIn.seconds(25 * 3600 + 1));
  L.assertError(tooLong, E.INVALID_ARGUMENT_ERROR, '25 h + 1 s');
});

test('empty or conflicting permissions are INVALID_ARGUMENT', async () => {
  const auth = L.authClient(L.MASTER_KEY);
  const empty = await auth.generateDisposableToken({permissions: []}, ExpiresIn.minutes(1));
  L.assertError(empty, E.INVALID_ARGUMENT_ERROR, 'empty');
  const conflicting = {
    permissions: [
      {role: CacheRole.ReadOnly, cache: CACHE},
      {role: CacheRole.ReadWrite, cache: {name: CACHE}},
    ],
  };
  L.assertError(
    await auth.generateDisposableToken(conflicting, ExpiresIn.minutes(1)),
    E.INVALID_ARGUMENT_ERROR,
    'conflicting'
  );
});

test('a token id of 64 characters reaches subscribers as the publisher id', async () => {
  const id = 'i'.repeat(64);
  const publisher = await L.mint(P.topicPublishOnly(CACHE, 'ids'), ExpiresIn.minutes(5), {tokenId: id});
  const reader = await L.collect(L.topicClient(L.MASTER_KEY), CACHE, 'ids');
  try {
    L.assertOk(await L.topicClient(publisher).publish(CACHE, 'ids', 'hello'), 'publish');
    const items = await reader.next(1);
    const last = items[items.length - 1];
    assert.equal(last.valueString(), 'hello');
    assert.equal(last.tokenId(), id);
  } finally {
    reader.sub.unsubscribe();
  }
  // 65 characters: the SDK itself refuses before the call (validateDisposableTokenTokenID)
  const long = await L.authClient(L.MASTER_KEY).generateDisposableToken(
    P.cacheReadOnly(CACHE),
    ExpiresIn.minutes(1),
    {tokenId: 'i'.repeat(65)}
  );
  L.assertError(long, E.INVALID_ARGUMENT_ERROR, '65-character token id');
});
