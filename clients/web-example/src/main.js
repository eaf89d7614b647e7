// Seed 000's chat room, on @gomomento/sdk-web with tokens from the momento-key-guard vendor.
//
// 1. Sign in (locally the dev stack plays the JWT issuer: POST /sign-in gives an ID token).
// 2. Two tokens from the vendor (one Momento token cannot hold key-prefix and topic grants):
//    items (read-write under `user-<sub>-` in the cache) and room (publish/subscribe on the topic).
// 3. Chat through the topic; keep the user's status in the cache; "pin" writes outside the user's
//    prefix, which the policy does not allow: Momento refuses it and the page shows PERMISSION_ERROR.
// The vending clients renew ahead of expiry and the SDK clients follow, so nothing visible fails
// across token expiries, master-key rotations or a throttled vendor.
import { CacheGet, CacheSet, TopicPublish } from "@gomomento/sdk-web";
import {
  localEndpoints,
  RefreshingCacheClient,
  RefreshingTopicClient,
  TokenVendingClient,
} from "@momento-key-guard/vending-client";

const $ = (id) => document.getElementById(id);
const state = { messages: 0, renewals: 0, errors: [], clients: [] };
window.keyguard = state; // read by the browser tests

function showError(text) {
  state.errors.push(text);
  const li = document.createElement("li");
  li.textContent = text;
  $("errors").append(li);
}

function addMessage(who, text) {
  const li = document.createElement("li");
  const name = document.createElement("span");
  name.className = "who";
  name.textContent = who; // textContent only: chat text and names are untrusted
  li.append(name, document.createTextNode(text));
  $("messages").append(li);
  li.scrollIntoView({ block: "nearest" });
  state.messages += 1;
}

/** `alice·f0a4` from `f0a42c9c-.../alice`: the chosen name plus a bit of the verified principal. */
function sender(tokenId) {
  if (typeof tokenId !== "string" || tokenId === "") return "unknown:";
  const slash = tokenId.lastIndexOf("/");
  if (slash < 0) return `${tokenId.slice(0, 12)}:`;
  const name = tokenId.slice(slash + 1).split("~")[0].slice(0, 32);
  return `${name}·${tokenId.slice(0, 4)}:`;
}

/** An event handler whose failures (no token any more, a broken vendor answer) are shown, not lost. */
function guarded(action, what) {
  return (event) => {
    Promise.resolve(action(event)).catch((error) => showError(`${what}: ${String(error?.message ?? error)}`));
  };
}

function describe(response) {
  return typeof response?.errorCode === "function" ? `${response.errorCode()}: ${response.message()}` : String(response);
}

async function loadConfig() {
  const params = new URLSearchParams(location.search);
  const config = await (await fetch("config.json", { cache: "no-store" })).json();
  for (const key of ["ttlSeconds", "renewMarginSeconds"]) {
    if (params.has(key)) config[key] = Number(params.get(key));
  }
  return config;
}

async function signIn(config, username) {
  const response = await fetch(config.signInUrl, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username }),
  });
  if (!response.ok) throw new Error(`sign-in failed: ${response.status}`);
  return response.json(); // {idToken, sub, username}
}

function tokenView(vending) {
  const update = () => {
    const creds = vending.current();
    if (creds) {
      $("token-id").textContent = creds.tokenId ?? "–";
      $("token-expiry").textContent = `${Math.max(0, Math.round(creds.expiresAt - Date.now() / 1000))} s`;
    }
    const err = vending.lastError;
    $("vendor-status").textContent = err ? `retrying (${err.status} ${err.code})` : "ok";
    $("vendor-status").className = err ? "denied" : "ok";
  };
  setInterval(update, 250);
  update();
}

async function start(config, user) {
  const endpoints = config.grpcWebUrl ? localEndpoints(config.grpcWebUrl) : undefined;
  const common = {
    url: config.vendorUrl,
    bearerToken: () => user.idToken,
    name: user.username,
    ttlSeconds: config.ttlSeconds,
    renewMarginSeconds: config.renewMarginSeconds,
  };
  const items = new TokenVendingClient({
    ...common,
    permissions: [{ cache: config.cache, keyPrefix: `user-${user.sub}-`, role: "read_write" }],
  });
  const room = new TokenVendingClient({
    ...common,
    permissions: [{ cache: config.cache, topic: config.topic, role: "publish_subscribe" }],
  });
  state.clients = [items, room];
  for (const vending of state.clients) {
    vending.onChange(() => {
      state.renewals += 1;
      $("token-renewals").textContent = String(state.renewals - 2 < 0 ? 0 : state.renewals - 2);
    });
  }
  await Promise.all([items.credentials(), room.credentials()]);
  items.start();
  room.start();
  tokenView(room);

  const cache = new RefreshingCacheClient(items, { endpoints, defaultTtlSeconds: 3600 });
  const topics = new RefreshingTopicClient(room, {
    endpoints,
    onError: (error) => showError(`moving the subscription to a renewed token: ${String(error?.message ?? error)}`),
  });
  const noteKey = `user-${user.sub}-note`;

  const saved = await cache.run((c) => c.get(config.cache, noteKey));
  if (saved instanceof CacheGet.Hit) $("note-saved").textContent = saved.valueString();

  await topics.subscribe(config.cache, config.topic, {
    onItem: (item) => {
      let message;
      try {
        message = JSON.parse(item.valueString());
      } catch {
        return; // not ours
      }
      if (typeof message?.text !== "string") return;
      // Who sent it comes from Momento (the publisher's token id: `<verified principal>/<name>`),
      // never from the message body, which any member could fill with another member's name.
      addMessage(sender(item.tokenId()), message.text);
    },
    onError: (error) => showError(`subscription: ${describe(error)}`),
  });

  $("send").addEventListener("submit", guarded(async (event) => {
    event.preventDefault();
    const text = $("text").value.trim();
    if (!text) return;
    $("text").value = "";
    const response = await topics.publish(config.cache, config.topic, JSON.stringify({ user: user.username, text }));
    if (response instanceof TopicPublish.Error) showError(`publish: ${describe(response)}`);
  }, "send"));

  $("note").addEventListener("submit", guarded(async (event) => {
    event.preventDefault();
    const text = $("note-text").value;
    const response = await cache.run((c) => c.set(config.cache, noteKey, text));
    if (response instanceof CacheSet.Success) $("note-saved").textContent = text;
    else showError(`save status: ${describe(response)}`);
  }, "save status"));

  $("pin").addEventListener("click", guarded(async () => {
    // Outside this user's prefix: the policy does not allow it, so Momento refuses.
    const response = await cache.run((c) => c.set(config.cache, "pinned", "last message"));
    const result = $("pin-result");
    if (response instanceof CacheSet.Success) {
      result.textContent = "pinned";
      result.className = "ok";
    } else {
      result.textContent = `denied: ${describe(response)}`;
      result.className = "denied";
    }
  }, "pin"));

  window.addEventListener("pagehide", () => {
    topics.close();
    cache.close();
    for (const vending of state.clients) vending.stop();
  });
  $("signin").hidden = true;
  $("app").hidden = false;
  $("who").textContent = `signed in as ${user.username}`;
  document.body.dataset.ready = "1";
}

async function main() {
  const config = await loadConfig();
  $("signin").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("signin-button").disabled = true;
    try {
      await start(config, await signIn(config, $("username").value.trim()));
    } catch (error) {
      $("signin-error").textContent = String(error?.message ?? error);
      $("signin-button").disabled = false;
      showError(String(error?.message ?? error));
    }
  });
}

main().catch((error) => showError(String(error)));
