'use strict';
// The SDK's default keepalive (Configurations.Laptop: a ping every 5 s, also without calls) must not
// be answered with GOAWAY too_many_pings. grpc-js logs such a GOAWAY ("rejected by server because of
// excess pings") through its logger, which this test captures. With grpc-core's default server
// policy the fourth ping without data (~20 s) triggers it (checked).
const {test, after} = require('node:test');
const assert = require('node:assert/strict');
const grpc = require('@grpc/grpc-js');
const L = require('../lib/local');

after(L.closeAll);

test('an idle CacheClient pinging every 5 s for 22 s is never told too_many_pings', async () => {
  const logged = [];
  grpc.setLogger({error: (...args) => logged.push(args.join(' ')), info: () => {}, debug: () => {}});
  grpc.setLogVerbosity(grpc.logVerbosity.ERROR);
  const cache = await L.cacheClient(L.MASTER_KEY);
  L.assertOk(await cache.set(L.CACHE, 'keepalive', 'v'), 'first call');
  await L.sleep(22000);
  L.assertOk(await cache.get(L.CACHE, 'keepalive'), 'call after the idle pings');
  const goaways = logged.filter(line => /excess pings|too_many_pings/.test(line));
  assert.deepEqual(goaways, []);
});
