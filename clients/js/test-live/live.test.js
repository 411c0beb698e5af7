// The client library against a real server: BOOKINGCHAT_URL=http://127.0.0.1:5000 with the
// demo business seeded (python -m web.serve --demo), access tokens of a minute
// (JWT_ACCESS_TOKEN_MINUTES=1) and generous rate limits. tests/pages/test_js_client.py starts
// such a server and runs this file; without BOOKINGCHAT_URL every test is skipped.
//
// socket.io-client is the copy vendored for the pages, so no npm install is needed; Node
// below 22 needs --experimental-websocket for the WebSocket it uses.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";

import { io } from "../../../web/static/vendor/socket.io-client.esm.min.js";
import { ChatClient, tokenExpiry } from "../src/core.js";

const BASE = process.env.BOOKINGCHAT_URL;
const BUSINESS_ID = Number(process.env.BOOKINGCHAT_BUSINESS_ID || 1);
const PASSWORD = "demo-password-1";
const skip = BASE ? false : "BOOKINGCHAT_URL is not set (tests/pages/test_js_client.py sets it)";

async function rest(method, path, token, body) {
  const response = await fetch(BASE + path, {
    method,
    headers: { "Content-Type": "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = response.status === 204 ? null : await response.json();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(data)}`);
  return data;
}

function newClient(session, options = {}) {
  const client = new ChatClient({ baseUrl: BASE, io, backoff: { min: 200, max: 2000 }, ...options });
  client.setSession(session);
  return client;
}

async function customer() {
  const session = await rest("POST", "/api/auth/register", null,
    { email: `live-${randomUUID().slice(0, 12)}@example.com`, password: PASSWORD, name: "Live Customer" });
  return session;
}

const login = (email) => rest("POST", "/api/auth/login", null, { email, password: PASSWORD });

function until(check, what, timeoutMs = 15000) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = () => {
      let value;
      try { value = check(); } catch (error) { reject(error); return; }
      if (value) { resolve(value); return; }
      if (Date.now() - started > timeoutMs) { reject(new Error(`timed out waiting for ${what}`)); return; }
      setTimeout(poll, 50);
    };
    poll();
  });
}

async function history(token, roomId) {
  const { messages } = await rest("GET", `/api/chat/rooms/${roomId}/messages?limit=200`, token);
  assert.deepEqual(messages.map((m) => m.seq), messages.map((_, i) => i + 1));
  return messages;
}

/** Every client shows exactly what the server stored: the same seqs, once each, in order. */
async function sameAsStored(client, token, roomId) {
  let stored;
  for (let i = 0; i < 100; i += 1) {
    stored = await history(token, roomId);
    const shown = client.room(roomId).messages.map((m) => m.seq);
    if (shown.length === stored.length && shown.every((seq, k) => seq === k + 1)) return stored;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.deepEqual(client.room(roomId).messages.map((m) => m.seq), stored.map((m) => m.seq));
  return stored;
}

test("catches up after a forced disconnect, with no duplicates", { skip }, async () => {
  const me = await customer();
  const staff = await login("staff@demo.example");
  const client = newClient(me);
  try {
    client.connect();
    const room = await client.openCustomerRoom(BUSINESS_ID);
    await until(() => client.state === "connected", "connected");
    await client.joinRoom(room.id);
    await client.send(room.id, "before the drop");

    // The connection drops; meanwhile staff write three messages.
    const states = [];
    client.on("state", (state) => states.push(state));
    client.socket.io.engine.close();
    await until(() => client.state === "reconnecting", "reconnecting");
    for (const text of ["one", "two", "three"]) {
      await rest("POST", `/api/chat/rooms/${room.id}/messages`, staff.access_token, { content: `staff ${text}` });
    }
    await until(() => client.state === "connected", "reconnected");
    const stored = await sameAsStored(client, me.access_token, room.id);
    for (const text of ["staff one", "staff two", "staff three", "before the drop"]) {
      assert.equal(client.room(room.id).messages.filter((m) => m.content === text).length, 1, text);
      assert.equal(stored.filter((m) => m.content === text).length, 1, text);
    }
    assert.deepEqual(states.slice(0, 2), ["reconnecting", "connected"]);
  } finally {
    client.disconnect();
  }
});

test("a send whose ack and event are lost is retried with its client_msg_id and stored once", { skip }, async () => {
  // A staff room: no bot writes in it, so nothing but the retry can bring the message back.
  const me = await login("staff@demo.example");
  const owner = await login("owner@demo.example");
  const client = newClient(me, { ackTimeoutMs: 1000 });
  try {
    client.connect();
    const room = await client.createStaffRoom([owner.user.id], `lost ack ${randomUUID().slice(0, 6)}`);
    await until(() => client.state === "connected", "connected");
    await client.joinRoom(room.id);

    // Lose the first ack of a send, and the event that would also have told us.
    const socket = client.socket;
    const emit = socket.emit.bind(socket);
    const sentIds = [];
    socket.emit = (event, payload, ack) => {
      if (event !== "chat:send-message") return emit(event, payload, ack);
      sentIds.push(payload.client_msg_id);
      return emit(event, payload, sentIds.length === 1 ? () => {} : ack);
    };
    const incoming = client._incoming.bind(client);
    let dropped = 0;
    client._incoming = (message) => {
      if (message.client_msg_id && message.client_msg_id === sentIds[0] && dropped === 0) { dropped += 1; return; }
      incoming(message);
    };

    const message = await client.send(room.id, "sent once, acked late");
    assert.equal(sentIds.length, 2);
    assert.equal(sentIds[0], sentIds[1]);
    assert.equal(message.client_msg_id, sentIds[0]);
    assert.equal(dropped, 1);
    const stored = await history(me.access_token, room.id);
    assert.equal(stored.filter((m) => m.content === "sent once, acked late").length, 1);
    assert.equal(client.room(room.id).timeline.filter((m) => m.content === "sent once, acked late").length, 1);
  } finally {
    client.disconnect();
  }
});

test("per-room order holds under concurrent senders", { skip }, async () => {
  const me = await customer();
  const staff = await login("staff@demo.example");
  const owner = await login("owner@demo.example");
  const clients = [newClient(me), newClient(staff), newClient(owner)];
  try {
    const room = await clients[0].openCustomerRoom(BUSINESS_ID);
    for (const client of clients) client.connect();
    await until(() => clients.every((c) => c.state === "connected"), "all connected");
    await Promise.all(clients.map((c) => c.joinRoom(room.id)));
    const perSender = 12;
    await Promise.all(clients.map((client, k) => Promise.all(
      Array.from({ length: perSender }, (_, i) => client.send(room.id, `sender ${k} message ${i}`)))));
    for (const client of clients) {
      const stored = await sameAsStored(client, me.access_token, room.id);
      for (let k = 0; k < clients.length; k += 1) {
        const mine = stored.filter((m) => m.content.startsWith(`sender ${k} `)).map((m) => m.content);
        assert.equal(mine.length, perSender);
      }
    }
  } finally {
    for (const client of clients) client.disconnect();
  }
});

test("the access token is refreshed before it expires and the socket keeps going", { skip }, async () => {
  const me = await customer();
  const first = me.access_token;
  const lifetime = tokenExpiry(first) - Date.now();
  assert.ok(lifetime <= 61000, "the server must issue one-minute tokens (JWT_ACCESS_TOKEN_MINUTES=1)");
  // Refresh 50 s before expiry (instead of the default 60 s), so about 10 s from now.
  const client = newClient(me, { refreshMarginMs: 50000 });
  const disconnects = [];
  try {
    client.connect();
    const room = await client.openCustomerRoom(BUSINESS_ID);
    await until(() => client.state === "connected", "connected");
    const socket = client.socket;
    socket.on("disconnect", (reason) => disconnects.push(reason));
    await client.joinRoom(room.id);
    const refreshed = new Promise((resolve) => client.on("token-refreshed", resolve));
    const token = await refreshed;
    assert.notEqual(token, first);
    assert.ok(tokenExpiry(token) > tokenExpiry(first));
    // The live socket took the new token: it answers on the same connection.
    const ack = await client.request("auth:refresh", { token });
    assert.equal(ack.expires_at * 1000, tokenExpiry(token));
    await client.send(room.id, "after the refresh");
    assert.equal(client.socket, socket);
    assert.deepEqual(disconnects, []);
  } finally {
    client.disconnect();
  }
});
