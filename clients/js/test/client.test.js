import assert from "node:assert/strict";
import { test } from "node:test";

import { ChatClient, backoffDelay, tokenExpiry } from "../src/core.js";
import { FakeClock, FakeServer, flush, jwt } from "./fakes.js";

const ROOM = 7;

function setup({ exp = 3600, ...options } = {}) {
  const clock = new FakeClock();
  const server = new FakeServer();
  server.clockNow = clock.now;
  const client = new ChatClient({
    io: server.io, fetch: server.fetch, now: clock.now, setTimeout: clock.setTimeout,
    clearTimeout: clock.clearTimeout, random: () => 0.5,
    accessToken: jwt({ sub: "1", exp: Math.floor(clock.now() / 1000) + exp }),
    refreshToken: "refresh-token", user: { id: 1, role: "customer", name: "Ann" }, ...options,
  });
  return { clock, server, client };
}

const seqs = (room) => room.messages.map((m) => m.seq);

test("joins with the latest page, then catches up with after_seq on every rejoin, dropping duplicates", async () => {
  const { clock, server, client } = setup();
  for (let i = 1; i <= 3; i += 1) server.post(ROOM, { content: `m${i}` }, { silent: true });
  client.connect();
  await flush();
  assert.equal(client.state, "connected");
  const room = await client.joinRoom(ROOM);
  assert.deepEqual(seqs(room), [1, 2, 3]);
  assert.equal(server.joinLog[0].after_seq, undefined);

  // Dropped; meanwhile two messages are stored that this client never hears of.
  server.lastSocket.drop();
  assert.equal(client.state, "reconnecting");
  server.post(ROOM, { content: "m4" }, { silent: true });
  server.post(ROOM, { content: "m5" }, { silent: true });
  await new Promise((r) => setImmediate(r));
  // A late duplicate of an old event changes nothing.
  client._incoming(server.messages(ROOM)[2]);

  // Reconnect after the backoff, rejoin with after_seq = 3.
  await clock.tick(60000);
  assert.equal(client.state, "connected");
  assert.deepEqual(server.joinLog.at(-1), { room_id: ROOM, after_seq: 3 });
  assert.deepEqual(seqs(room), [1, 2, 3, 4, 5]);

  // The same events again (the server's emit arriving after the catch-up) are dropped.
  for (const message of server.messages(ROOM)) client._incoming(message);
  assert.deepEqual(seqs(room), [1, 2, 3, 4, 5]);
});

test("keeps per-room order when events arrive out of order, and fills a gap from the API", async () => {
  const { server, client } = setup();
  client.connect();
  await flush();
  const room = await client.joinRoom(ROOM);
  const a = server.post(ROOM, { content: "a" }, { silent: true });
  const b = server.post(ROOM, { content: "b" }, { silent: true });
  const c = server.post(ROOM, { content: "c" }, { silent: true });
  client._incoming(c); // seq 3 first: a gap below it
  await flush();
  assert.deepEqual(seqs(room), [1, 2, 3]); // the gap was fetched with after_seq=0
  client._incoming(b);
  client._incoming(a);
  assert.deepEqual(seqs(room), [1, 2, 3]);
  assert.equal(room.lastSeq, 3);
  assert.ok(server.fetchLog.some((f) => f.url.includes("after_seq=0")));
});

test("an optimistic send shows at once and is stored once although its ack was lost", async () => {
  const { clock, server, client } = setup();
  client.connect();
  await flush();
  const room = await client.joinRoom(ROOM);
  server.dropNextAcks = 1;
  const sent = client.send(ROOM, "hello");
  assert.equal(room.pending.length, 1);
  assert.equal(room.timeline.at(-1).content, "hello");
  const firstId = room.pending[0].client_msg_id;

  await clock.tick(client.ackTimeoutMs + 5000); // ack timeout, then the retry
  const message = await sent;
  assert.equal(message.client_msg_id, firstId);
  const sends = server.lastSocket.emitted.filter((e) => e.event === "chat:send-message");
  assert.equal(sends.length, 2);
  assert.equal(sends[1].payload.client_msg_id, firstId);
  assert.equal(server.messages(ROOM).length, 1); // the server stored it once
  assert.deepEqual(seqs(room), [1]); // and the client shows it once
  assert.equal(room.pending.length, 0);
});

test("a send whose connection drops before the ack is retried on reconnect with the same id", async () => {
  const { clock, server, client } = setup();
  client.connect();
  await flush();
  const room = await client.joinRoom(ROOM);
  server.dropNextAcks = 1;
  const sent = client.send(ROOM, "are you there?");
  server.lastSocket.drop(); // the ack is lost with the connection
  await flush();
  assert.equal(room.pending[0].status, "queued");
  await clock.tick(60000);
  const message = await sent;
  assert.equal(message.content, "are you there?");
  assert.equal(server.messages(ROOM).length, 1);
  assert.deepEqual(seqs(room), [1]);
  assert.equal(room.timeline.length, 1);
});

test("the event of a send arriving before its ack resolves the pending message without a copy", async () => {
  const { server, client } = setup();
  client.connect();
  await flush();
  const room = await client.joinRoom(ROOM);
  const message = await client.send(ROOM, "hi");
  assert.equal(message.seq, 1);
  assert.deepEqual(seqs(room), [1]);
  assert.equal(room.pending.length, 0);
});

test("a final error leaves the send failed; retry reuses its client_msg_id", async () => {
  const { server, client } = setup();
  client.connect();
  await flush();
  const room = await client.joinRoom(ROOM);
  server.sendErrors.push({ code: "invalid_input", message: "nope" });
  client.send(ROOM, "x");
  await flush();
  assert.equal(room.pending[0].status, "failed");
  const id = room.pending[0].client_msg_id;
  const message = await client.retry(ROOM, id);
  assert.equal(message.client_msg_id, id);
  assert.equal(room.pending.length, 0);
  assert.deepEqual(seqs(room), [1]);
});

test("the access token is refreshed before it expires and handed to the live socket", async () => {
  const { clock, server, client } = setup({ exp: 300 });
  client.connect();
  await flush();
  const first = client.accessToken;
  await clock.tick(300 * 1000 - client.refreshMarginMs - 1000);
  assert.equal(server.refreshCount, 0);
  await clock.tick(2000);
  assert.equal(server.refreshCount, 1);
  assert.notEqual(client.accessToken, first);
  const handed = server.lastSocket.emitted.find((e) => e.event === "auth:refresh");
  assert.equal(handed.payload.token, client.accessToken);
  assert.deepEqual(server.lastSocket.auth, { token: client.accessToken });
  // And the next one is scheduled from the new token's expiry.
  await clock.tick(900 * 1000);
  assert.equal(server.refreshCount, 2);
});

test("a connection refused as unauthorized refreshes the token, then reconnects with it", async () => {
  const { clock, server, client } = setup();
  server.autoAccept = false;
  client.connect();
  server.lastSocket.refuse("unauthorized");
  await flush();
  assert.equal(server.refreshCount, 1);
  server.autoAccept = true;
  await clock.tick(10000);
  assert.equal(client.state, "connected");
  assert.equal(server.lastSocket.options.auth.token, client.accessToken);
});

test("a refresh token that is refused ends the session: auth-expired, no more reconnects", async () => {
  const { clock, server, client } = setup();
  server.autoAccept = false;
  server.refuseRefresh = true;
  let expired = 0;
  client.on("auth-expired", () => { expired += 1; });
  client.connect();
  server.lastSocket.refuse("unauthorized");
  await flush();
  await clock.tick(120000);
  assert.equal(expired, 1);
  assert.equal(server.created.length, 1);
  assert.equal(client.state, "disconnected");
});

test("reconnects with exponential backoff and jitter, capped", async () => {
  assert.equal(backoffDelay(0, { min: 500, max: 15000, jitter: 0 }), 500);
  assert.equal(backoffDelay(3, { min: 500, max: 15000, jitter: 0 }), 4000);
  assert.equal(backoffDelay(10, { min: 500, max: 15000, jitter: 0 }), 15000);
  const low = backoffDelay(2, { min: 500, max: 15000, jitter: 0.5 }, () => 0);
  const high = backoffDelay(2, { min: 500, max: 15000, jitter: 0.5 }, () => 0.999);
  assert.ok(low >= 1500 && high <= 2500 && low < high);

  const { clock, server, client } = setup();
  const delays = [];
  client.on("reconnect-scheduled", ({ delay }) => delays.push(delay));
  server.autoAccept = false;
  client.connect();
  for (let i = 0; i < 6; i += 1) {
    server.lastSocket.refuse("xhr poll error");
    await flush();
    await clock.tick(delays.at(-1));
  }
  assert.deepEqual(delays, [500, 1000, 2000, 4000, 8000, 15000]);
  assert.equal(server.created.length, 7);
});

test("typing is throttled while typing, stops by itself, and a typist's mark expires", async () => {
  const { clock, server, client } = setup();
  client.connect();
  await flush();
  await client.joinRoom(ROOM);
  const typingEvents = () => server.lastSocket.emitted.filter((e) => e.event === "chat:typing").map((e) => e.payload.is_typing);
  for (let i = 0; i < 12; i += 1) { client.typing(ROOM, true); await clock.tick(200); }
  assert.deepEqual(typingEvents(), [true, true]); // 2.2 s of keystrokes: one "typing" per 2 s
  await clock.tick(client.typingIdleMs);
  assert.deepEqual(typingEvents(), [true, true, false]);

  server.lastSocket.fire("chat:user-typing", { room_id: ROOM, user_id: 9, name: "Sam", is_typing: true, expires_in_ms: 6000 });
  assert.deepEqual(client.typists(ROOM).map((t) => t.name), ["Sam"]);
  await clock.tick(5999);
  assert.equal(client.typists(ROOM).length, 1);
  await clock.tick(2);
  assert.equal(client.typists(ROOM).length, 0);
});

test("read marks only go forward, and unread counts per room follow them", async () => {
  const { server, client } = setup();
  client.connect();
  await flush();
  const room = await client.joinRoom(ROOM);
  const other = await client.joinRoom(8);
  server.post(ROOM, { content: "1" });
  server.post(ROOM, { content: "2" });
  server.post(8, { content: "elsewhere" });
  client.send(ROOM, "mine");
  await flush();
  assert.equal(room.unreadCount, 2);
  assert.equal(other.unreadCount, 1);
  await client.markRead(ROOM, 2);
  await client.markRead(ROOM, 1);
  await client.markRead(ROOM, 2);
  const reads = server.lastSocket.emitted.filter((e) => e.event === "chat:read-messages");
  assert.deepEqual(reads.map((e) => e.payload.up_to_seq), [2]);
  assert.equal(room.unreadCount, 0);
  assert.equal(other.unreadCount, 1);
  // Someone else's read mark gives the read tick.
  server.lastSocket.fire("chat:messages-read", { room_id: ROOM, user_id: 9, up_to_seq: 3 });
  server.lastSocket.fire("chat:messages-read", { room_id: ROOM, user_id: 9, up_to_seq: 1 });
  assert.equal(room.othersReadUpTo, 3);
});

test("notifications keep their unread state; a repeated event is not counted twice", async () => {
  const { server, client } = setup();
  server.notifications = [{ id: 1, type: "booking.created", title: "t", message: "m", read_at: null }];
  client.connect();
  await flush();
  await client.loadNotifications();
  assert.equal(client.unreadNotifications, 1);
  const seen = [];
  client.on("notification", (n) => seen.push(n.id));
  const live = { id: 2, type: "payment.failed", title: "t", message: "m", read_at: null };
  server.lastSocket.fire("notification:new", { notification: live });
  server.lastSocket.fire("notification:new", { notification: live });
  assert.deepEqual(seen, [2]);
  assert.equal(client.unreadNotifications, 2);
  await client.markAllNotificationsRead();
  assert.equal(client.unreadNotifications, 0);
  assert.ok(client.notifications.every((n) => n.read_at));
});

test("tokenExpiry reads the exp claim", () => {
  assert.equal(tokenExpiry(jwt({ exp: 10 })), 10000);
  assert.equal(tokenExpiry("garbage"), null);
});

test("a short-lived token is refreshed a third of its life before expiry, not in a loop", async () => {
  const clock = new FakeClock();
  const server = new FakeServer();
  server.clockNow = clock.now;
  const now = Math.floor(clock.now() / 1000);
  const client = new ChatClient({
    io: server.io, fetch: server.fetch, now: clock.now, setTimeout: clock.setTimeout,
    clearTimeout: clock.clearTimeout, random: () => 0.5, refreshMarginMs: 60000,
    accessToken: jwt({ sub: "1", iat: now, exp: now + 30 }), refreshToken: "r", user: { id: 1 },
  });
  client.connect();
  await flush();
  await clock.tick(19000);
  assert.equal(server.refreshCount, 0);
  await clock.tick(2000);
  assert.equal(server.refreshCount, 1);
});

test("a rejoin refused as rate limited waits as told and tries again", async () => {
  const { clock, server, client } = setup();
  client.connect();
  await flush();
  await client.joinRoom(ROOM);
  const handle = server.handle.bind(server);
  let refusals = 1;
  server.handle = (socket, event, payload, ack) => {
    if (event === "chat:join-room" && refusals > 0) {
      refusals -= 1;
      ack({ ok: false, error: { code: "rate_limited", message: "slow down", retry_after: 3 } });
      return;
    }
    handle(socket, event, payload, ack);
  };
  server.lastSocket.drop();
  await clock.tick(1000); // reconnected; the first rejoin is refused
  const joins = () => server.joinLog.length;
  const before = joins();
  await clock.tick(2000); // 3 s after the refusal have not passed
  assert.equal(joins(), before);
  await clock.tick(2000);
  assert.equal(joins(), before + 1);
  assert.equal(client.room(ROOM).joined, true);
});

test("logout forgets the user's rooms and notifications", async () => {
  const { server, client } = setup();
  client.connect();
  await flush();
  await client.joinRoom(ROOM);
  server.lastSocket.fire("notification:new", { notification: { id: 3, read_at: null } });
  await client.logout();
  assert.equal(client.rooms.size, 0);
  assert.equal(client.unreadNotifications, 0);
  assert.equal(client.state, "disconnected");
  assert.equal(client.accessToken, null);
});

test("a handed-over token without a refresh token ends the session when it is refused", async () => {
  const { clock, server, client } = setup({ refreshToken: null });
  client.refreshToken = null;
  let expired = 0;
  client.on("auth-expired", () => { expired += 1; });
  server.autoAccept = false;
  client.connect();
  server.lastSocket.refuse("unauthorized");
  await flush();
  await clock.tick(60000);
  assert.equal(expired, 1);
  assert.equal(server.created.length, 1);
  assert.equal(server.refreshCount, 0);
});
