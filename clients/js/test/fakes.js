// Fakes for the client's unit tests: a Socket.IO server in memory, its REST side as fetch,
// and a clock whose timers run when the test says so.

export class FakeClock {
  constructor(start = 1_700_000_000_000) { this.t = start; this.timers = []; this.nextId = 1; }
  now = () => this.t;
  setTimeout = (fn, ms) => { const id = this.nextId++; this.timers.push({ id, at: this.t + Math.max(0, ms), fn }); return id; };
  clearTimeout = (id) => { this.timers = this.timers.filter((t) => t.id !== id); };
  async tick(ms) {
    const end = this.t + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at || a.id - b.id);
      const next = this.timers[0];
      if (!next || next.at > end) break;
      this.timers.shift();
      this.t = next.at;
      next.fn();
      await flush();
    }
    this.t = end;
    await flush();
  }
}

export async function flush() {
  for (let i = 0; i < 10; i += 1) await new Promise((resolve) => setImmediate(resolve));
}

export function jwt(payload) {
  const b64 = (obj) => Buffer.from(JSON.stringify(obj)).toString("base64url");
  return `${b64({ alg: "HS256", typ: "JWT" })}.${b64(payload)}.sig`;
}

class FakeSocket {
  constructor(server, url, options) {
    this.server = server; this.url = url; this.options = options; this.auth = options.auth;
    this.connected = false; this.handlers = new Map(); this.emitted = [];
  }
  on(event, fn) { (this.handlers.get(event) || this.handlers.set(event, []).get(event)).push(fn); }
  removeAllListeners() { this.handlers.clear(); }
  fire(event, ...args) { for (const fn of this.handlers.get(event) || []) fn(...args); }
  emit(event, payload, ack) {
    this.emitted.push({ event, payload });
    this.server.handle(this, event, payload, ack);
  }
  disconnect() { if (this.connected) { this.connected = false; this.server.sockets.delete(this); } }
  // Test side: the server accepts, refuses or drops this socket.
  accept() { this.connected = true; this.server.sockets.add(this); this.fire("connect"); }
  refuse(message = "unauthorized") { this.fire("connect_error", new Error(message)); }
  drop(reason = "transport close") {
    this.connected = false; this.server.sockets.delete(this); this.fire("disconnect", reason);
  }
}

export class FakeServer {
  constructor({ userId = 1 } = {}) {
    this.userId = userId;
    this.rooms = new Map(); // room_id -> messages
    this.sockets = new Set();
    this.created = []; // every socket io() made
    this.autoAccept = true;
    this.dropNextAcks = 0; // sends whose ack is lost (stored all the same)
    this.sendErrors = []; // errors to answer the next sends with
    this.fetchLog = [];
    this.refreshCount = 0;
    this.accessExp = 0;
    this.joinLog = [];
    this.io = (url, options) => {
      const socket = new FakeSocket(this, url, options);
      this.created.push(socket);
      if (this.autoAccept) queueMicrotask(() => socket.accept());
      return socket;
    };
    this.fetch = async (url, init = {}) => this.rest(url, init);
  }

  get lastSocket() { return this.created[this.created.length - 1]; }

  messages(roomId) { return this.rooms.get(roomId) || this.rooms.set(roomId, []).get(roomId); }

  store(roomId, { content, sender_id = 99, client_msg_id = null, sender_type = "staff" }) {
    const list = this.messages(roomId);
    if (client_msg_id) {
      const found = list.find((m) => m.client_msg_id === client_msg_id);
      if (found) return { message: found, created: false };
    }
    const message = { id: 1000 + list.length + roomId * 10000, room_id: roomId, seq: list.length + 1, sender_id,
      sender_type, kind: "text", content, attachments: [], client_msg_id, created_at: new Date().toISOString() };
    list.push(message);
    return { message, created: true };
  }

  /** Store a message and deliver it live to the connected sockets (unless `silent`). */
  post(roomId, fields, { silent = false } = {}) {
    const { message } = this.store(roomId, fields);
    if (!silent) for (const socket of this.sockets) socket.fire("chat:new-message", { message });
    return message;
  }

  roomInfo(roomId) {
    const list = this.messages(roomId);
    return { id: roomId, business_id: 1, type: "customer", status: "open", waiting_since: null,
      last_seq: list.length, unread_count: 0, last_message: list[list.length - 1] || null };
  }

  handle(socket, event, payload, ack) {
    if (event === "chat:join-room") {
      this.joinLog.push(payload);
      const list = this.messages(payload.room_id);
      let items; let hasMore;
      if (payload.after_seq !== undefined) {
        const after = list.filter((m) => m.seq > payload.after_seq);
        items = after.slice(0, 200); hasMore = after.length > 200;
      } else {
        items = list.slice(-50); hasMore = list.length > 50;
      }
      ack?.({ ok: true, room: this.roomInfo(payload.room_id), messages: items, has_more: hasMore });
    } else if (event === "chat:send-message") {
      if (this.sendErrors.length) { ack?.({ ok: false, error: this.sendErrors.shift() }); return; }
      const { message, created } = this.store(payload.room_id, { content: payload.content,
        sender_id: this.userId, client_msg_id: payload.client_msg_id, sender_type: "customer" });
      // A lost ack: stored, but neither the ack nor the event reaches this client.
      if (this.dropNextAcks > 0) { this.dropNextAcks -= 1; return; }
      if (created) for (const other of this.sockets) other.fire("chat:new-message", { message });
      ack?.({ ok: true, message, duplicate: !created });
    } else {
      ack?.({ ok: true, up_to_seq: payload.up_to_seq, expires_at: this.accessExp });
    }
  }

  async rest(url, init) {
    this.fetchLog.push({ url, init });
    const u = new URL(url, "http://test");
    const json = (status, body) => ({ ok: status < 400, status, json: async () => body });
    if (u.pathname === "/api/auth/refresh") {
      this.refreshCount += 1;
      if (this.refuseRefresh) return json(401, { error: { code: "unauthorized", message: "expired" } });
      this.accessExp = Math.floor(this.clockNow() / 1000) + 900;
      return json(200, { access_token: jwt({ sub: "1", exp: this.accessExp, n: this.refreshCount }) });
    }
    const match = u.pathname.match(/^\/api\/chat\/rooms\/(\d+)\/messages$/);
    if (match && (init.method || "GET") === "GET") {
      const list = this.messages(Number(match[1]));
      const limit = Number(u.searchParams.get("limit") || 50);
      if (u.searchParams.has("after_seq")) {
        const after = list.filter((m) => m.seq > Number(u.searchParams.get("after_seq")));
        return json(200, { messages: after.slice(0, limit), has_more: after.length > limit });
      }
      const before = Number(u.searchParams.get("before_seq") || Infinity);
      const below = list.filter((m) => m.seq < before);
      return json(200, { messages: below.slice(-limit), has_more: below.length > limit });
    }
    if (u.pathname.startsWith("/api/notifications/read-all")) {
      return json(200, { unread_count: 0, read_through_id: 99, read_at: "2026-01-01T00:00:00Z" });
    }
    if (u.pathname === "/api/notifications") {
      return json(200, { notifications: this.notifications || [], unread_count: (this.notifications || []).filter((n) => !n.read_at).length });
    }
    return json(404, { error: { code: "not_found", message: u.pathname } });
  }

  clockNow() { return Date.now(); }
}
