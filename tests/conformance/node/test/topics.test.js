'use strict';
// Topics: a new subscriber gets the latest item (history), then live items in order; the SDK resumes
// transparently without duplicates; scope and expiry apply to subscribe and publish.
const {test, after} = require('node:test');
const assert = require('node:assert/strict');
const L = require('../lib/local');

const {sdk, CACHE} = L;
const {MomentoErrorCode: E, PermissionScopes: P, ExpiresIn} = sdk;

after(L.closeAll);

test('a new subscriber first gets the latest item, then live ones in order', async () => {
  const topic = L.unique('history');
  const publisher = L.topicClient(await L.mint(P.topicPublishOnly(CACHE, topic)));
  for (const text of ['a', 'b', 'c']) {
    L.assertOk(await publisher.publish(CACHE, topic, text), `publish ${text}`);
  }
  const reader = await L.collect(L.topicClient(await L.mint(P.topicSubscribeOnly(CACHE, topic))), CACHE, topic);
  try {
    const [latest] = await reader.next(1);
    assert.equal(latest.valueString(), 'c');
    assert.equal(latest.sequenceNumber(), 3);
    L.assertOk(await publisher.publish(CACHE, topic, 'd'), 'publish d');
    L.assertOk(await publisher.publish(CACHE, topic, new Uint8Array([0, 1, 2])), 'publish bytes');
    const items = await reader.next(3);
    assert.equal(items[1].valueString(), 'd');
    assert.equal(items[1].sequenceNumber(), 4);
    assert.deepEqual(Array.from(items[2].valueUint8Array()), [0, 1, 2]);
    assert.equal(items[2].sequenceNumber(), 5);
    assert.deepEqual(reader.errors, []);
  } finally {
    reader.sub.unsubscribe();
  }
});

test('every subscriber sees the same numbers', async () => {
  const topic = L.unique('fanout');
  const topics = L.topicClient(L.MASTER_KEY);
  const readers = [await L.collect(topics, CACHE, topic), await L.collect(topics, CACHE, topic)];
  try {
    for (const text of ['x', 'y']) {
      L.assertOk(await topics.publish(CACHE, topic, text), 'publish');
    }
    const seen = [];
    for (const r of readers) {
      seen.push((await r.next(2)).map(i => [i.valueString(), i.sequenceNumber()]));
    }
    assert.deepEqual(seen[0], [['x', 1], ['y', 2]]);
    assert.deepEqual(seen[1], seen[0]);
  } finally {
    readers.forEach(r => r.sub.unsubscribe());
  }
});

test('subscribe and publish follow the token scope and expiry', async () => {
  const topic = L.unique('scoped');
  const subOnly = L.topicClient(await L.mint(P.topicSubscribeOnly(CACHE, topic)));
  L.assertError(await subOnly.publish(CACHE, topic, 'm'), E.PERMISSION_ERROR, 'subscribe-only publishing');
  const pubOnly = L.topicClient(await L.mint(P.topicPublishOnly(CACHE, topic)));
  const denied = await pubOnly.subscribe(CACHE, topic, {onItem: () => {}, onError: () => {}});
  L.assertError(denied, E.PERMISSION_ERROR, 'publish-only subscribing');
  const shortLived = L.topicClient(await L.mint(P.topicPublishSubscribe(CACHE, topic), ExpiresIn.seconds(1)));
  await L.sleep(2100);
  L.assertError(await shortLived.publish(CACHE, topic, 'm'), E.AUTHENTICATION_ERROR, 'expired token');
  L.assertError(
    await L.topicClient(L.MASTER_KEY).publish(L.unique('no-such-cache'), topic, 'm'),
    E.NOT_FOUND_ERROR,
    'unknown cache'
  );
});
