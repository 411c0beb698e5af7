// The React hooks over a ChatClient with a fake server. Needs react and react-test-renderer
// (devDependencies: cd clients/js && npm install); skipped without them.
import assert from "node:assert/strict";
import { test } from "node:test";

import { ChatClient } from "../src/core.js";
import { FakeServer, flush, jwt } from "./fakes.js";

let React; let TestRenderer; let hooks;
try {
  React = (await import("react")).default;
  TestRenderer = (await import("react-test-renderer")).default;
  hooks = await import("../src/react.js");
} catch {
  React = null;
}
const skip = React ? false : "react and react-test-renderer are not installed (cd clients/js && npm install)";
globalThis.IS_REACT_ACT_ENVIRONMENT = true;

function setup() {
  const server = new FakeServer();
  const client = new ChatClient({
    io: server.io, fetch: server.fetch, random: () => 0.5,
    accessToken: jwt({ sub: "1", exp: Math.floor(Date.now() / 1000) + 3600 }), refreshToken: "r",
    user: { id: 1, role: "customer", name: "Ann" },
  });
  return { server, client };
}

async function render(element) {
  let renderer;
  await TestRenderer.act(async () => { renderer = TestRenderer.create(element); await flush(); });
  return renderer;
}

test("useConnection connects and reports the state; useChat shows messages, sends and typing", { skip }, async () => {
  const { server, client } = setup();
  server.post(5, { content: "hello from staff" }, { silent: true });
  const seen = {};
  function Chat() {
    const connection = hooks.useConnection(client);
    const chat = hooks.useChat(client, 5);
    Object.assign(seen, { state: connection.state, chat });
    return React.createElement("ol", null, chat.messages.map((m) => React.createElement("li", { key: m.seq ?? m.client_msg_id }, m.content)));
  }
  const renderer = await render(React.createElement(Chat));
  await TestRenderer.act(async () => { await flush(); });
  assert.equal(seen.state, "connected");
  assert.deepEqual(seen.chat.messages.map((m) => m.content), ["hello from staff"]);

  await TestRenderer.act(async () => { await seen.chat.send("hi back"); await flush(); });
  assert.deepEqual(seen.chat.messages.map((m) => m.content), ["hello from staff", "hi back"]);
  assert.equal(server.messages(5).length, 2);

  await TestRenderer.act(async () => {
    server.lastSocket.fire("chat:user-typing", { room_id: 5, user_id: 9, name: "Sam", is_typing: true, expires_in_ms: 6000 });
  });
  assert.deepEqual(seen.chat.typists.map((t) => t.name), ["Sam"]);
  await TestRenderer.act(async () => { renderer.unmount(); await flush(); });
  assert.ok(server.lastSocket.emitted.some((e) => e.event === "chat:leave-room"));
  client.disconnect();
});

test("useNotifications lists them with the unread count and calls onNew for live ones", { skip }, async () => {
  const { server, client } = setup();
  server.notifications = [{ id: 1, title: "Old", message: "", read_at: null }];
  const fresh = [];
  const seen = {};
  function Bell() {
    hooks.useConnection(client);
    const notes = hooks.useNotifications(client, { onNew: (n) => fresh.push(n.title) });
    Object.assign(seen, notes);
    return React.createElement("span", null, String(notes.unreadCount));
  }
  const renderer = await render(React.createElement(Bell));
  await TestRenderer.act(async () => { await flush(); });
  assert.equal(seen.unreadCount, 1);
  await TestRenderer.act(async () => {
    server.lastSocket.fire("notification:new", { notification: { id: 2, title: "Booking", message: "", read_at: null } });
  });
  assert.deepEqual(fresh, ["Booking"]);
  assert.equal(seen.unreadCount, 2);
  assert.deepEqual(renderer.toJSON().children, ["2"]);
  await TestRenderer.act(async () => { await seen.markAllRead(); });
  assert.equal(seen.unreadCount, 0);
  await TestRenderer.act(async () => { renderer.unmount(); });
  client.disconnect();
});

test("useChat follows a change of room: joins the new one, leaves the old, renders its events", { skip }, async () => {
  const { server, client } = setup();
  const seen = {};
  function Chat({ roomId }) {
    hooks.useConnection(client);
    seen.chat = hooks.useChat(client, roomId);
    return null;
  }
  const renderer = await render(React.createElement(Chat, { roomId: 5 }));
  await TestRenderer.act(async () => { await flush(); });
  await TestRenderer.act(async () => { renderer.update(React.createElement(Chat, { roomId: 6 })); await flush(); });
  const emitted = server.lastSocket.emitted.map((e) => `${e.event}:${e.payload.room_id}`);
  assert.ok(emitted.includes("chat:leave-room:5") && emitted.includes("chat:join-room:6"), emitted.join(" "));
  await TestRenderer.act(async () => { server.post(6, { content: "in room six" }); await flush(); });
  assert.deepEqual(seen.chat.messages.map((m) => m.content), ["in room six"]);
  await TestRenderer.act(async () => { renderer.unmount(); });
  client.disconnect();
});
