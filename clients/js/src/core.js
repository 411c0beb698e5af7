// The booking chat client: every delivery rule a page or app must get right, in one place.
//
// This module has no imports, so it runs unchanged in browsers, Node and tests: the
// Socket.IO factory (`io`), `fetch` and the clock are handed in. `index.js` hands in
// socket.io-client's `io`; tests hand in fakes.
//
// Rules it holds:
// - connect with the access token; refresh it (REST, then `auth:refresh` on the live socket)
//   a margin before it expires; reconnect with exponential backoff and jitter;
// - on every (re)join, catch up with `after_seq`; drop duplicates by `seq`, keep seq order;
// - optimistic sends carry a `client_msg_id` and are retried with the same id after a lost
//   ack or a dropped connection, so the server stores them once;
// - typing is throttled while typing and expires by itself; read marks only go forward;
// - an unread count per room; notifications with their unread state.

const NAMESPACE = "/realtime";
// Errors a retry cannot fix: the send fails and waits for the user.
const FINAL_ERRORS = new Set(["invalid_input", "forbidden", "not_found", "conflict",
  "too_large", "unprocessable", "unauthorized"]);

export class Emitter {
  constructor() { this._handlers = new Map(); }

  on(event, handler) {
    if (!this._handlers.has(event)) this._handlers.set(event, new Set());
    this._handlers.get(event).add(handler);
    return () => this.off(event, handler);
  }

  off(event, handler) { this._handlers.get(event)?.delete(handler); }

  emit(event, ...args) {
    for (const handler of [...(this._handlers.get(event) || [])]) {
      try { handler(...args); } catch (error) { console.error(error); } // eslint-disable-line no-console
    }
  }
}

export class ApiError extends Error {
  constructor(status, code, message, body) {
    super(message || code);
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

/** The `exp` claim of a JWT, in milliseconds since the epoch (null if unreadable). */
export function tokenExpiry(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const json = typeof atob === "function" ? atob(part) : Buffer.from(part, "base64").toString();
    const exp = JSON.parse(json).exp;
    return typeof exp === "number" ? exp * 1000 : null;
  } catch {
    return null;
  }
}

/** The `iat` claim of a JWT, in milliseconds since the epoch (null if unreadable). */
export function tokenIssuedAt(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const json = typeof atob === "function" ? atob(part) : Buffer.from(part, "base64").toString();
    const iat = JSON.parse(json).iat;
    return typeof iat === "number" ? iat * 1000 : null;
  } catch {
    return null;
  }
}

/** Delay before reconnect attempt `attempt` (0-based): exponential, capped, with jitter. */
export function backoffDelay(attempt, { min = 500, max = 15000, jitter = 0.5 } = {}, random = Math.random) {
  const base = Math.min(max, min * 2 ** attempt);
  return Math.round(base * (1 - jitter / 2 + jitter * random()));
}

export function newClientMsgId() {
  if (globalThis.crypto?.randomUUID) return globalThis.crypto.randomUUID();
  return `c-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 12)}`;
}

/** One room as this client knows it: messages in seq order plus the sends still pending. */
export class RoomState {
  constructor(id) {
    this.id = id;
    this.info = null; // the room object of the API
    this.bySeq = new Map();
    this.messages = []; // stored messages, ascending seq, no duplicates
    this.pending = []; // optimistic sends not stored yet: {client_msg_id, content, status, ...}
    this.lastSeq = null; // highest seq known without a gap below it (null: nothing known)
    this.hasOlder = false;
    this.unreadCount = 0;
    this.readUpTo = 0; // my read mark, as sent to the server
    this.othersReadUpTo = 0; // the furthest read mark of anyone else in the room
    this.readBy = new Map(); // user_id -> up_to_seq
    this.typing = new Map(); // user_id -> {user_id, name, until}
    this.joined = false;
  }

  get oldestSeq() { return this.messages.length ? this.messages[0].seq : null; }

  /** Every message to show: stored ones in order, then the pending sends. */
  get timeline() { return [...this.messages, ...this.pending]; }
}

export class ChatClient extends Emitter {
  constructor(options = {}) {
    super();
    this.baseUrl = (options.baseUrl || "").replace(/\/$/, "");
    this._io = options.io;
    this._fetch = options.fetch || globalThis.fetch?.bind(globalThis);
    this.now = options.now || (() => Date.now());
    this.setTimeout = options.setTimeout || ((fn, ms) => setTimeout(fn, ms));
    this.clearTimeout = options.clearTimeout || ((id) => clearTimeout(id));
    this.random = options.random || Math.random;
    this.refreshMarginMs = options.refreshMarginMs ?? 60000;
    this.ackTimeoutMs = options.ackTimeoutMs ?? 8000;
    this.backoff = { min: 500, max: 15000, jitter: 0.5, ...(options.backoff || {}) };
    this.typingThrottleMs = options.typingThrottleMs ?? 2000;
    this.typingIdleMs = options.typingIdleMs ?? 3000;
    this.socketOptions = options.socketOptions || {};
    this.accessToken = options.accessToken || null;
    this.refreshToken = options.refreshToken || null;
    this.user = options.user || null;
    this.state = "disconnected"; // disconnected | connecting | connected | reconnecting
    this.socket = null;
    this.rooms = new Map();
    this.roomList = []; // room ids, latest activity first (loadRooms and live events)
    this.notifications = [];
    this.unreadNotifications = 0;
    this.presence = new Map(); // user_id -> {online, last_seen_at}
    this._attempt = 0;
    this._reconnectTimer = null;
    this._refreshTimer = null;
    this._refreshing = null;
    this._wanted = false;
    this._typingSent = new Map(); // room_id -> {at, idleTimer}
    this._inflight = new Set(); // fail(code, text) of each request awaiting its ack
  }

  // ---------------------------------------------------------------- auth and REST

  setSession({ access_token: access, refresh_token: refresh, user } = {}) {
    if (access) this.accessToken = access;
    if (refresh) this.refreshToken = refresh;
    if (user) this.user = user;
    this._scheduleRefresh();
    this.emit("session", this.session());
  }

  session() {
    return { accessToken: this.accessToken, refreshToken: this.refreshToken, user: this.user };
  }

  async login(email, password) {
    const body = await this.api("POST", "/api/auth/login", { email, password }, { auth: false });
    this.setSession(body);
    return body.user;
  }

  async register(email, password, name) {
    const body = await this.api("POST", "/api/auth/register", { email, password, name }, { auth: false });
    this.setSession(body);
    return body.user;
  }

  async me() {
    const { user } = await this.api("GET", "/api/auth/me");
    this.user = user;
    return user;
  }

  async logout() {
    try { await this.api("POST", "/api/auth/logout", {}); } catch { /* signed out anyway */ }
    this.disconnect();
    this.accessToken = null;
    this.refreshToken = null;
    this.user = null;
    // Nothing of this user stays for the next one.
    this.rooms.clear();
    this.roomList = [];
    this.notifications = [];
    this.unreadNotifications = 0;
    this.presence.clear();
    this.emit("session", this.session());
  }

  /** A REST call with the access token; a 401 refreshes the token once and retries. */
  async api(method, path, body, { auth = true, retried = false } = {}) {
    const headers = {};
    if (body !== undefined && !(body instanceof FormData_())) headers["Content-Type"] = "application/json";
    if (auth && this.accessToken) headers.Authorization = `Bearer ${this.accessToken}`;
    const response = await this._fetch(this.baseUrl + path, {
      method, headers,
      body: body === undefined ? undefined : (body instanceof FormData_() ? body : JSON.stringify(body)),
    });
    if (response.status === 401 && auth && !retried && this.refreshToken) {
      if (await this.refresh()) return this.api(method, path, body, { auth, retried: true });
    }
    if (response.status === 204) return null;
    const data = await response.json().catch(() => null);
    if (!response.ok) {
      const error = data?.error || {};
      const failure = new ApiError(response.status, error.code || `http_${response.status}`,
        error.message || `HTTP ${response.status}`, data);
      if (response.status === 401 && auth) this._expired(failure);
      throw failure;
    }
    return data;
  }

  /** Trade the refresh token for a new access token; hand it to the live socket too. */
  refresh() {
    if (this._refreshing) return this._refreshing;
    this._refreshing = (async () => {
      try {
        if (!this.refreshToken) {
          // A token handed over without its refresh token: when it lapses, the session ends.
          this._expired(new ApiError(401, "unauthorized", "The session has expired."));
          return false;
        }
        const response = await this._fetch(`${this.baseUrl}/api/auth/refresh`, {
          method: "POST", headers: { Authorization: `Bearer ${this.refreshToken}` },
        });
        const data = await response.json().catch(() => null);
        if (!response.ok) {
          const failure = new ApiError(response.status, data?.error?.code || "unauthorized",
            data?.error?.message || "Refresh failed", data);
          if (response.status === 401 || response.status === 422) this._expired(failure);
          return false;
        }
        this.accessToken = data.access_token;
        if (this.socket) {
          this.socket.auth = { token: this.accessToken };
          if (this.socket.connected) {
            this.socket.emit("auth:refresh", { token: this.accessToken }, () => {});
          }
        }
        this._scheduleRefresh();
        this.emit("session", this.session());
        this.emit("token-refreshed", this.accessToken);
        return true;
      } catch (error) {
        if (error instanceof ApiError) return false;
        // Network trouble: try again soon rather than let the token lapse.
        this._refreshTimer = this.setTimeout(() => this.refresh(), 5000);
        return false;
      } finally {
        this._refreshing = null;
      }
    })();
    return this._refreshing;
  }

  _scheduleRefresh() {
    if (this._refreshTimer) this.clearTimeout(this._refreshTimer);
    this._refreshTimer = null;
    const exp = this.accessToken && tokenExpiry(this.accessToken);
    if (!exp || !this.refreshToken) return;
    // A margin of at most a third of the token's life, so a short-lived token is not
    // refreshed over and over.
    const iat = tokenIssuedAt(this.accessToken);
    const margin = iat ? Math.min(this.refreshMarginMs, (exp - iat) / 3) : this.refreshMarginMs;
    const wait = Math.max(1000, exp - margin - this.now());
    this._refreshTimer = this.setTimeout(() => { this._refreshTimer = null; this.refresh(); }, wait);
  }

  _expired(error) {
    // The sign-in is over: stop reconnecting and let the page ask for a new one.
    this._wanted = false;
    if (this._reconnectTimer) this.clearTimeout(this._reconnectTimer);
    this._reconnectTimer = null;
    if (this.socket) { this.socket.disconnect(); this.socket = null; }
    this._setState("disconnected");
    this.emit("auth-expired", error);
  }

  // ---------------------------------------------------------------- connection

  connect() {
    if (!this._io) throw new Error("ChatClient needs an io factory (socket.io-client's io)");
    this._wanted = true;
    if (this.socket) return;
    this._scheduleRefresh();
    this._setState(this._attempt ? "reconnecting" : "connecting");
    const socket = this._io(`${this.baseUrl}${NAMESPACE}`, {
      auth: { token: this.accessToken }, reconnection: false, forceNew: true,
      transports: ["websocket"], ...this.socketOptions,
    });
    this.socket = socket;
    socket.on("connect", () => this._onConnect(socket));
    socket.on("connect_error", (error) => this._onDown(socket, error?.message || "connect_error"));
    socket.on("disconnect", (reason) => this._onDown(socket, reason));
    socket.on("chat:new-message", ({ message }) => this._incoming(message));
    socket.on("chat:user-typing", (event) => this._typingEvent(event));
    socket.on("chat:messages-read", (event) => this._readEvent(event));
    socket.on("chat:new-conversation", ({ room }) => this._roomEvent(room, true));
    socket.on("chat:room-updated", ({ room }) => this._roomEvent(room, false));
    socket.on("notification:new", ({ notification }) => this._notificationEvent(notification));
    socket.on("presence:update", (event) => {
      this.presence.set(event.user_id, event);
      this.emit("presence", event);
    });
    socket.on("audit:log", ({ audit_log: log }) => this.emit("audit", log));
    socket.on("chat:faq-suggestions", (event) => this.emit("faq-suggestions", event));
    socket.on("connection:resync", () => this._rejoinAll());
  }

  disconnect() {
    this._wanted = false;
    if (this._reconnectTimer) this.clearTimeout(this._reconnectTimer);
    if (this._refreshTimer) this.clearTimeout(this._refreshTimer);
    this._reconnectTimer = null;
    this._refreshTimer = null;
    const socket = this.socket;
    this.socket = null;
    if (socket) socket.disconnect();
    for (const room of this.rooms.values()) room.joined = false;
    for (const fail of [...this._inflight]) fail("offline", "disconnected");
    this._setState("disconnected");
  }

  _setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.emit("state", state);
  }

  _onConnect(socket) {
    if (socket !== this.socket) return;
    this._attempt = 0;
    this._setState("connected");
    this._rejoinAll();
    this._flushPending();
  }

  async _onDown(socket, reason) {
    if (socket !== this.socket) return;
    socket.removeAllListeners?.();
    socket.disconnect?.();
    this.socket = null;
    for (const room of this.rooms.values()) room.joined = false;
    for (const fail of [...this._inflight]) fail("offline", "connection lost");
    if (!this._wanted) { this._setState("disconnected"); return; }
    this._setState("reconnecting");
    // Refused for the token, or the token is about to lapse: refresh before trying again.
    const exp = this.accessToken && tokenExpiry(this.accessToken);
    if (reason === "unauthorized" || (exp && exp - this.now() < this.refreshMarginMs)) {
      const ok = await this.refresh();
      if (!ok && !this._wanted) return;
    }
    const delay = backoffDelay(this._attempt, this.backoff, this.random);
    this._attempt += 1;
    this.emit("reconnect-scheduled", { attempt: this._attempt, delay, reason });
    this._reconnectTimer = this.setTimeout(() => {
      this._reconnectTimer = null;
      if (this._wanted && !this.socket) this.connect();
    }, delay);
  }

  /** Emit with an ack; rejects on a timeout or when there is no connection. */
  request(event, payload, timeoutMs = this.ackTimeoutMs) {
    return new Promise((resolve, reject) => {
      const socket = this.socket;
      if (!socket || !socket.connected) { reject(Object.assign(new Error("offline"), { code: "offline" })); return; }
      let done = false;
      const fail = (code, text) => {
        if (done) return;
        done = true;
        this.clearTimeout(timer);
        this._inflight.delete(fail);
        reject(Object.assign(new Error(text), { code }));
      };
      // An ack that never comes: a timeout, or at once when the connection drops.
      const timer = this.setTimeout(() => fail("timeout", "ack timeout"), timeoutMs);
      this._inflight.add(fail);
      socket.emit(event, payload, (ack) => {
        if (done) return;
        done = true;
        this.clearTimeout(timer);
        this._inflight.delete(fail);
        if (ack && ack.ok) resolve(ack);
        else {
          const error = ack?.error || { code: "error", message: "No answer" };
          reject(Object.assign(new Error(error.message), { code: error.code, retryAfter: ack?.retry_after ?? error.retry_after }));
        }
      });
    });
  }

  // ---------------------------------------------------------------- rooms and messages

  room(roomId) {
    let room = this.rooms.get(roomId);
    if (!room) { room = new RoomState(roomId); this.rooms.set(roomId, room); }
    return room;
  }

  _setInfo(room, info) {
    room.info = { ...(room.info || {}), ...info };
    if (typeof info.unread_count === "number") room.unreadCount = info.unread_count;
    if (room.lastSeq === null && typeof info.last_seq === "number" && !room.messages.length) {
      // Known up to here without loading it: history is paged in on demand.
      room.lastSeq = info.last_seq;
      room.hasOlder = info.last_seq > 0;
    }
  }

  /** Rooms of the caller, newest activity first (REST), remembered for live updates. */
  async loadRooms() {
    const { rooms } = await this.api("GET", "/api/chat/rooms");
    for (const info of rooms) this._setInfo(this.room(info.id), info);
    this.roomList = rooms.map((info) => info.id);
    this.emit("rooms", this.listRooms());
    return this.listRooms();
  }

  listRooms() {
    return this.roomList.map((id) => this.rooms.get(id)).filter(Boolean);
  }

  async openCustomerRoom(businessId) {
    const { room } = await this.api("POST", "/api/chat/rooms/create", { business_id: businessId });
    this._setInfo(this.room(room.id), room);
    if (!this.roomList.includes(room.id)) this.roomList.unshift(room.id);
    return this.room(room.id);
  }

  async createStaffRoom(participantIds, name) {
    const { room } = await this.api("POST", "/api/chat/rooms/create",
      { type: "staff", participant_ids: participantIds, ...(name ? { name } : {}) });
    this._roomEvent(room, true);
    return this.room(room.id);
  }

  /**
   * Join a room on the socket (again after every reconnect). With what is already known it
   * asks only for what came after (`after_seq`); with nothing known, for the latest page.
   */
  async joinRoom(roomId) {
    const room = this.room(roomId);
    room.wanted = true;
    if (!this.socket?.connected) return room; // joined on connect
    const payload = { room_id: roomId };
    if (room.lastSeq !== null) payload.after_seq = room.lastSeq;
    const ack = await this.request("chat:join-room", payload);
    room.joined = true;
    // Messages first, then the room: its unread_count already counts them.
    this._merge(room, ack.messages);
    this._setInfo(room, ack.room);
    if (payload.after_seq === undefined) room.hasOlder = ack.has_more;
    if (payload.after_seq !== undefined && ack.has_more) await this._catchUp(room);
    this._changed(room);
    return room;
  }

  async leaveRoom(roomId) {
    const room = this.room(roomId);
    room.wanted = false;
    room.joined = false;
    if (this.socket?.connected) await this.request("chat:leave-room", { room_id: roomId }).catch(() => {});
  }

  async _rejoinAll() {
    const socket = this.socket;
    for (const room of [...this.rooms.values()]) {
      if (!room.wanted) continue;
      for (let attempt = 0; attempt < 5 && socket === this.socket; attempt += 1) {
        try {
          await this.joinRoom(room.id);
          break;
        } catch (error) {
          // Over the server's per-user event limit: wait as it says, then go on.
          if (error.code !== "rate_limited") { this.emit("error", error); break; }
          await new Promise((resolve) => { this.setTimeout(resolve, (error.retryAfter || 2) * 1000); });
        }
      }
    }
  }

  /** Fetch every message after `lastSeq` by REST, page by page (after a gap or a long absence). */
  async _catchUp(room, countUnread = false) {
    if (room._catchingUp) return room._catchingUp;
    room._catchingUp = (async () => {
      try {
        for (let guard = 0; guard < 1000; guard += 1) {
          const after = room.lastSeq ?? 0;
          const page = await this.api("GET", `/api/chat/rooms/${room.id}/messages?after_seq=${after}&limit=200`);
          this._merge(room, page.messages, countUnread);
          if (!page.has_more || !page.messages.length) break;
        }
      } finally {
        room._catchingUp = null;
      }
      this._changed(room);
    })();
    return room._catchingUp;
  }

  /** History paging upward: the page before the oldest message shown. */
  async loadOlder(roomId, limit = 50) {
    const room = this.room(roomId);
    const before = room.oldestSeq ?? ((room.lastSeq ?? 0) + 1);
    if (before <= 1) { room.hasOlder = false; this._changed(room); return room; }
    const page = await this.api("GET", `/api/chat/rooms/${roomId}/messages?before_seq=${before}&limit=${limit}`);
    room.hasOlder = page.has_more;
    this._merge(room, page.messages);
    this._changed(room);
    return room;
  }

  /** Add stored messages: duplicates (by seq) dropped, order kept, pending sends resolved. */
  _merge(room, messages, countUnread = false) {
    let added = 0;
    for (const message of messages || []) {
      if (room.bySeq.has(message.seq)) continue;
      room.bySeq.set(message.seq, message);
      added += 1;
      if (message.client_msg_id) {
        const index = room.pending.findIndex((p) => p.client_msg_id === message.client_msg_id);
        if (index >= 0) {
          const [sent] = room.pending.splice(index, 1);
          sent.resolve?.(message);
        }
      }
      if (countUnread && message.sender_id !== this.user?.id && message.seq > room.readUpTo
          && room.lastSeq !== null && message.seq > room.lastSeq) {
        room.unreadCount += 1;
      }
    }
    if (!added) return 0;
    room.messages = [...room.bySeq.values()].sort((a, b) => a.seq - b.seq);
    // lastSeq: the highest seq with no gap below it, counted from the oldest one loaded.
    let last = room.lastSeq ?? room.messages[0].seq - 1;
    if (room.lastSeq !== null && room.messages[0].seq > room.lastSeq + 1) last = room.lastSeq;
    while (room.bySeq.has(last + 1)) last += 1;
    room.lastSeq = Math.max(room.lastSeq ?? 0, last);
    const newest = room.messages[room.messages.length - 1];
    if (room.info) {
      room.info.last_message = newest.seq >= (room.info.last_message?.seq ?? 0) ? newest : room.info.last_message;
      room.info.last_seq = Math.max(room.info.last_seq ?? 0, newest.seq);
    }
    return added;
  }

  _incoming(message) {
    const room = this.room(message.room_id);
    const gap = room.lastSeq !== null && message.seq > room.lastSeq + 1;
    const added = this._merge(room, [message], true);
    if (!added) return;
    // A typist who sent their message is no longer typing.
    room.typing.delete(message.sender_id);
    if (!this.roomList.includes(room.id)) this.roomList.unshift(room.id);
    else if (this.roomList[0] !== room.id) {
      this.roomList = [room.id, ...this.roomList.filter((id) => id !== room.id)];
    }
    this.emit("message", message);
    this._changed(room);
    this.emit("rooms", this.listRooms());
    if (gap) this._catchUp(room, true).catch((error) => this.emit("error", error));
  }

  _changed(room) { this.emit("room", room); }

  /**
   * Send a message at once on screen; stored exactly once however often it is retried.
   * Resolves with the stored message; a final error leaves it `failed` for `retry()`.
   */
  send(roomId, content, { attachmentIds, clientMsgId } = {}) {
    const room = this.room(roomId);
    const pending = {
      client_msg_id: clientMsgId || newClientMsgId(), room_id: roomId, content,
      attachment_ids: attachmentIds || [], attachments: [], sender_id: this.user?.id,
      sender_type: this.user?.role === "customer" ? "customer" : "staff",
      kind: "text", status: "sending", pending: true, created_at: new Date(this.now()).toISOString(),
      attempts: 0, error: null,
    };
    const promise = new Promise((resolve, reject) => { pending.resolve = resolve; pending.reject = reject; });
    promise.catch(() => {});
    pending.promise = promise;
    room.pending.push(pending);
    this._setTyping(roomId, false);
    this._changed(room);
    this._attemptSend(room, pending);
    return promise;
  }

  /** Try a failed send again, with its original client_msg_id. */
  retry(roomId, clientMsgId) {
    const room = this.room(roomId);
    const pending = room.pending.find((p) => p.client_msg_id === clientMsgId);
    if (!pending) return null;
    pending.status = "sending";
    pending.error = null;
    this._changed(room);
    this._attemptSend(room, pending);
    return pending.promise;
  }

  /** Forget a failed send that the user discards. */
  discard(roomId, clientMsgId) {
    const room = this.room(roomId);
    room.pending = room.pending.filter((p) => p.client_msg_id !== clientMsgId);
    this._changed(room);
  }

  async _attemptSend(room, pending) {
    if (pending.inFlight || !room.pending.includes(pending)) return;
    if (!this.socket?.connected) { pending.status = "queued"; this._changed(room); return; }
    pending.inFlight = true;
    pending.attempts += 1;
    const payload = { room_id: room.id, content: pending.content, client_msg_id: pending.client_msg_id };
    if (pending.attachment_ids.length) payload.attachment_ids = pending.attachment_ids;
    try {
      const ack = await this.request("chat:send-message", payload);
      pending.inFlight = false;
      this._merge(room, [ack.message]);
      if (room.pending.includes(pending)) { // the stored message carried no client_msg_id?
        room.pending.splice(room.pending.indexOf(pending), 1);
        pending.resolve(ack.message);
      }
      this._changed(room);
    } catch (error) {
      pending.inFlight = false;
      if (!room.pending.includes(pending)) return; // stored meanwhile (arrived as an event)
      if (FINAL_ERRORS.has(error.code) || pending.attempts >= 6) {
        pending.status = "failed";
        pending.error = { code: error.code, message: error.message };
        this._changed(room);
        return;
      }
      // A lost ack, no connection or a server that is busy: the same id again, later.
      pending.status = this.socket?.connected ? "sending" : "queued";
      this._changed(room);
      const wait = error.retryAfter ? error.retryAfter * 1000 : backoffDelay(pending.attempts - 1, this.backoff, this.random);
      pending.timer = this.setTimeout(() => {
        if (this.socket?.connected) this._attemptSend(room, pending);
      }, wait);
    }
  }

  _flushPending() {
    for (const room of this.rooms.values()) {
      for (const pending of room.pending) {
        if (pending.status === "queued" || pending.status === "sending") this._attemptSend(room, pending);
      }
    }
  }

  /** Customer: answer with one of the FAQs offered by `chat:faq-suggestions`. */
  async pickSuggestion(roomId, messageId, faqId) {
    const ack = await this.request("chat:pick-suggestion", { room_id: roomId, message_id: messageId, faq_id: faqId });
    this._merge(this.room(roomId), [ack.message]);
    this._changed(this.room(roomId));
    return ack.message;
  }

  /** Customer: say whether a bot answer helped (once per answer; "no" calls staff in). */
  async answerFeedback(roomId, messageId, helpful) {
    return this.request("chat:answer-feedback", { room_id: roomId, message_id: messageId, helpful });
  }

  // ---------------------------------------------------------------- typing

  /** Call on every keystroke (true) and when the input empties (false). */
  typing(roomId, isTyping = true) { this._setTyping(roomId, isTyping); }

  _setTyping(roomId, isTyping) {
    const sent = this._typingSent.get(roomId);
    if (!isTyping) {
      if (!sent) return;
      this.clearTimeout(sent.idleTimer);
      this._typingSent.delete(roomId);
      this._emitQuiet("chat:typing", { room_id: roomId, is_typing: false });
      return;
    }
    const now = this.now();
    if (sent) this.clearTimeout(sent.idleTimer);
    const entry = sent || { at: -Infinity };
    if (now - entry.at >= this.typingThrottleMs) {
      entry.at = now;
      this._emitQuiet("chat:typing", { room_id: roomId, is_typing: true });
    }
    // Stopped typing without sending: say so after a quiet moment.
    entry.idleTimer = this.setTimeout(() => this._setTyping(roomId, false), this.typingIdleMs);
    this._typingSent.set(roomId, entry);
  }

  _emitQuiet(event, payload) {
    if (this.socket?.connected) this.request(event, payload).catch(() => {});
  }

  _typingEvent(event) {
    const room = this.room(event.room_id);
    if (event.user_id === this.user?.id) return;
    const old = room.typing.get(event.user_id);
    if (old) this.clearTimeout(old.timer);
    if (event.is_typing) {
      const ttl = event.expires_in_ms || 6000;
      const entry = { user_id: event.user_id, name: event.name, until: this.now() + ttl };
      entry.timer = this.setTimeout(() => {
        if (room.typing.get(event.user_id) === entry) { room.typing.delete(event.user_id); this._changed(room); }
      }, ttl);
      room.typing.set(event.user_id, entry);
    } else {
      room.typing.delete(event.user_id);
    }
    this.emit("typing", { room_id: room.id, typing: [...room.typing.values()] });
    this._changed(room);
  }

  typists(roomId) { return [...this.room(roomId).typing.values()]; }

  // ---------------------------------------------------------------- read marks

  /** Mark read up to a seq (default: the newest known); never goes backwards. */
  async markRead(roomId, upToSeq) {
    const room = this.room(roomId);
    const target = upToSeq ?? room.lastSeq ?? 0;
    if (!target || target <= room.readUpTo) return room.readUpTo;
    room.readUpTo = target;
    room.unreadCount = room.messages.filter((m) => m.seq > target && m.sender_id !== this.user?.id).length;
    if (room.lastSeq !== null && target >= room.lastSeq) room.unreadCount = 0;
    this._changed(room);
    this.emit("rooms", this.listRooms());
    try {
      if (this.socket?.connected) await this.request("chat:read-messages", { room_id: roomId, up_to_seq: target });
      else await this.api("PUT", `/api/chat/rooms/${roomId}/messages/read`, { up_to_seq: target });
    } catch (error) {
      this.emit("error", error);
    }
    return room.readUpTo;
  }

  _readEvent(event) {
    const room = this.room(event.room_id);
    if (event.user_id === this.user?.id) {
      room.readUpTo = Math.max(room.readUpTo, event.up_to_seq);
    } else {
      room.readBy.set(event.user_id, Math.max(room.readBy.get(event.user_id) || 0, event.up_to_seq));
      room.othersReadUpTo = Math.max(room.othersReadUpTo, event.up_to_seq);
    }
    this._changed(room);
  }

  // ---------------------------------------------------------------- rooms listed live

  _roomEvent(info, isNew) {
    const room = this.room(info.id);
    this._setInfo(room, info);
    if (!this.roomList.includes(room.id)) {
      if (isNew || info.status) this.roomList.unshift(room.id);
    }
    this.emit(isNew ? "new-conversation" : "room-updated", room);
    this.emit("rooms", this.listRooms());
    this._changed(room);
  }

  // ---------------------------------------------------------------- notifications

  async loadNotifications({ unread = false, limit = 50 } = {}) {
    const data = await this.api("GET", `/api/notifications?limit=${limit}${unread ? "&unread=true" : ""}`);
    this.notifications = data.notifications;
    this.unreadNotifications = data.unread_count;
    this.emit("notifications", this.notifications, this.unreadNotifications);
    return data;
  }

  _notificationEvent(notification) {
    if (this.notifications.some((n) => n.id === notification.id)) return;
    this.notifications = [notification, ...this.notifications];
    if (!notification.read_at) this.unreadNotifications += 1;
    this.emit("notification", notification);
    this.emit("notifications", this.notifications, this.unreadNotifications);
  }

  async markNotificationRead(id) {
    const data = await this.api("PUT", `/api/notifications/${id}/read`);
    this.notifications = this.notifications.map((n) => (n.id === id ? { ...n, ...data.notification } : n));
    this.unreadNotifications = data.unread_count;
    this.emit("notifications", this.notifications, this.unreadNotifications);
  }

  async markAllNotificationsRead() {
    const data = await this.api("PUT", "/api/notifications/read-all");
    this.notifications = this.notifications.map((n) => (
      n.read_at || n.id > data.read_through_id ? n : { ...n, read_at: data.read_at }));
    this.unreadNotifications = data.unread_count;
    this.emit("notifications", this.notifications, this.unreadNotifications);
  }

  // ---------------------------------------------------------------- attachments

  /**
   * Upload a file (browser): resolves with the attachment; `onProgress(fraction)` as it goes.
   * Uses XMLHttpRequest where present, since fetch reports no upload progress.
   */
  upload(file, onProgress) {
    const Xhr = globalThis.XMLHttpRequest;
    const form = new (FormData_())();
    form.append("file", file, file.name);
    if (!Xhr) return this.api("POST", "/api/chat/attachments", form).then((d) => d.attachment);
    return new Promise((resolve, reject) => {
      const xhr = new Xhr();
      xhr.open("POST", `${this.baseUrl}/api/chat/attachments`);
      if (this.accessToken) xhr.setRequestHeader("Authorization", `Bearer ${this.accessToken}`);
      xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress?.(e.loaded / e.total); };
      xhr.onload = () => {
        let data = null;
        try { data = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
        if (xhr.status === 201) resolve(data.attachment);
        else {
          const error = data?.error || {};
          reject(new ApiError(xhr.status, error.code || `http_${xhr.status}`,
            error.message || (xhr.status === 413 ? "The file is too large." : `Upload failed (${xhr.status})`), data));
        }
      };
      xhr.onerror = () => reject(new ApiError(0, "network", "The upload failed: no connection."));
      xhr.send(form);
    });
  }

  /** Fetch an attachment with the token (an <img> cannot send it) as an object URL. */
  async attachmentUrl(attachment) {
    const response = await this._fetch(this.baseUrl + attachment.url, {
      headers: { Authorization: `Bearer ${this.accessToken}` },
    });
    if (!response.ok) throw new ApiError(response.status, "download_failed", "Could not load the file");
    return URL.createObjectURL(await response.blob());
  }
}

function FormData_() {
  return globalThis.FormData || class NoFormData {};
}
