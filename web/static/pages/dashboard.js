// The staff dashboard: conversations (customers and colleagues), notifications, settings
// (owner) and activity. Everything it shows comes from the public API and socket events.
import {
  $, STATE_TEXT, attachmentView, bindComposer, currentUser, dateTimeOf, h, renderThread,
  signInForm, sinceOf, startSession, typingText,
} from "./common.js";

const client = startSession("bookingchat.dashboard");
window.chatClient = client; // for the browser tests and the curious
const draftKey = "bookingchat.dashboard.drafts";
// Rooms joined for live updates: the most recent ones (every join counts against the server's
// RATE_LIMIT_SOCKET_EVENTS); the list itself is refreshed by REST every ROOMS_REFRESH_MS.
const MAX_WATCHED = 40;
const ROOMS_REFRESH_MS = 30000;

let me = null;
let business = null;
let selected = null; // room id open in the conversation view
let filter = "all";
let colleagues = new Map(); // user_id -> user (with online)
let drafts = {};
try { drafts = JSON.parse(sessionStorage.getItem(draftKey) || "{}"); } catch { drafts = {}; }

const thread = $("#thread");
const textarea = $("#message");

// ---------------------------------------------------------------- session

async function signIn(reason) {
  $("#app").hidden = true;
  const box = $("#auth");
  box.hidden = false;
  const user = await signInForm(box, client, {
    title: reason || "Staff sign-in",
    check: (u) => (u.role === "customer" ? "This page is for staff: customers chat in the widget." : null),
  });
  box.hidden = true;
  return user;
}

let running = false;
client.on("auth-expired", async () => {
  if (!running) return;
  running = false;
  // The drafts stay (sessionStorage and the composer) while the user signs in again.
  const before = me?.id;
  me = await signIn("Your session has ended: sign in again");
  if (me.id !== before) { window.location.reload(); return; } // someone else: start afresh
  await enter();
});

$("#sign-out").addEventListener("click", async () => {
  running = false;
  await client.logout();
  window.location.reload();
});

// ---------------------------------------------------------------- names and presence

function isOnline(userId) {
  const live = client.presence.get(userId);
  if (live) return live.online;
  return colleagues.get(userId)?.online || false;
}

function nameOf(userId) {
  if (colleagues.has(userId)) return colleagues.get(userId).name;
  for (const room of client.rooms.values()) {
    const who = room.info?.participants?.find((p) => p.user_id === userId);
    if (who) return who.name;
  }
  return "";
}

function counterpart(room) {
  const people = room.info?.participants || [];
  if (room.info?.type === "customer") return people.find((p) => p.role === "customer") || null;
  return people.find((p) => p.user_id !== me.id) || null;
}

function roomTitle(room) {
  const info = room.info || {};
  if (info.type === "staff") {
    if (info.name) return info.name;
    const others = (info.participants || []).filter((p) => p.user_id !== me.id).map((p) => p.name);
    return others.join(", ") || "Staff room";
  }
  return counterpart(room)?.name || `Conversation ${room.id}`;
}

// ---------------------------------------------------------------- the conversation list

function visibleRooms() {
  let rooms = client.listRooms().filter((room) => room.info);
  if (filter === "waiting") {
    rooms = rooms.filter((r) => r.info.status === "waiting_for_staff")
      .sort((a, b) => (a.info.waiting_since || "").localeCompare(b.info.waiting_since || ""));
  } else if (filter === "staff") {
    rooms = rooms.filter((r) => r.info.type === "staff");
  }
  return rooms;
}

function renderRooms() {
  const all = client.listRooms().filter((room) => room.info);
  const waiting = all.filter((r) => r.info.status === "waiting_for_staff").length;
  $("#count-waiting").textContent = waiting ? String(waiting) : "";
  $("#count-all").textContent = `(${all.length})`;
  const items = visibleRooms().map((room) => {
    const info = room.info;
    const who = counterpart(room);
    const last = info.last_message;
    const unread = room.id === selected ? 0 : room.unreadCount;
    const button = h("button", {
      type: "button", "aria-current": room.id === selected ? "true" : "false",
      onclick: () => openRoom(room.id),
      "aria-label": `${roomTitle(room)}${unread ? `, ${unread} unread` : ""}${info.status === "waiting_for_staff" ? ", waiting for staff" : ""}`,
    },
    h("span", { class: "title" }, who ? h("span", { class: isOnline(who.user_id) ? "dot online" : "dot",
      title: isOnline(who.user_id) ? "Online" : "Offline" }) : null, roomTitle(room)),
    h("span", { class: "badge unread" }, unread ? String(unread) : ""),
    h("span", { class: "preview" }, last ? last.content : "No messages yet"),
    info.status === "waiting_for_staff"
      ? h("span", { class: "waiting" }, `Waiting ${sinceOf(info.waiting_since)}`) : null);
    return h("li", { dataset: { roomId: room.id, status: info.status } }, button);
  });
  $("#room-list").replaceChildren(...(items.length ? items : [h("li", { class: "empty" }, "No conversations here.")]));
}

document.querySelectorAll("[data-filter]").forEach((button) => {
  button.addEventListener("click", () => {
    filter = button.dataset.filter;
    document.querySelectorAll("[data-filter]").forEach((b) => b.setAttribute("aria-pressed", String(b === button)));
    renderRooms();
  });
});

// ---------------------------------------------------------------- one conversation

async function openRoom(roomId) {
  if (selected !== null && selected !== roomId) drafts[selected] = textarea.value;
  selected = roomId;
  showView("conversations");
  const room = client.room(roomId);
  room._scrollToEnd = true;
  $("#no-room").hidden = true;
  $("#conversation").hidden = false;
  textarea.value = drafts[roomId] || "";
  renderConversation();
  renderRooms();
  if (!room.messages.length && room.hasOlder) await client.loadOlder(roomId);
  client.joinRoom(roomId).catch(() => {});
  textarea.focus();
}

function renderConversation() {
  if (selected === null) return;
  const room = client.room(selected);
  $("#room-title").textContent = roomTitle(room);
  const info = room.info || {};
  $("#room-status").textContent = info.status === "waiting_for_staff"
    ? `Waiting for staff since ${dateTimeOf(info.waiting_since)}` : (info.status || "");
  renderThread(thread, client, room, {
    nameOf: (userId) => nameOf(userId),
    onRetry: (message) => client.retry(room.id, message.client_msg_id),
    onAttachment: (a) => attachmentView(client, a),
  });
  $("#load-older").hidden = !room.hasOlder;
  $("#typing").textContent = typingText(client.typists(room.id));
  const newest = room.messages.at(-1);
  if (newest && newest.seq > room.readUpTo && document.visibilityState === "visible") {
    client.markRead(room.id, newest.seq);
  }
}

$("#load-older").addEventListener("click", async () => {
  const before = thread.scrollHeight;
  await client.loadOlder(selected);
  thread.scrollTop = thread.scrollHeight - before;
});

function send() {
  const content = textarea.value.trim();
  if (selected === null || !content) return;
  client.room(selected)._scrollToEnd = true;
  client.send(selected, content).catch(() => {});
  textarea.value = "";
  delete drafts[selected];
  saveDrafts();
}

function saveDrafts() {
  if (selected !== null) drafts[selected] = textarea.value;
  sessionStorage.setItem(draftKey, JSON.stringify(drafts));
}

bindComposer(textarea, { onSend: send, onTyping: (typing) => selected !== null && client.typing(selected, typing) });
textarea.addEventListener("input", saveDrafts);
$("#composer").addEventListener("submit", (event) => { event.preventDefault(); send(); });

// ---------------------------------------------------------------- staff rooms

async function loadColleagues() {
  try {
    const { users } = await client.api("GET", `/api/businesses/${me.business_id}/staff`);
    colleagues = new Map(users.map((u) => [u.id, u]));
  } catch { /* the list stays empty */ }
}

$("#new-staff-room").addEventListener("click", async () => {
  await loadColleagues();
  const boxes = [...colleagues.values()].filter((u) => u.id !== me.id).map((u) => h("div", {},
    h("input", { type: "checkbox", id: `colleague-${u.id}`, value: u.id }),
    h("label", { for: `colleague-${u.id}` }, h("span", { class: u.online ? "dot online" : "dot" }), `${u.name} (${u.role})`)));
  $("#colleagues").replaceChildren(...(boxes.length ? boxes : [h("p", {}, "No colleagues yet.")]));
  $("#staff-room-form").hidden = false;
  $("#staff-room-form input")?.focus();
});
$("#staff-room-cancel").addEventListener("click", () => { $("#staff-room-form").hidden = true; });
$("#staff-room-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const ids = [...document.querySelectorAll("#colleagues input:checked")].map((i) => Number(i.value));
  $("#staff-room-error").textContent = "";
  if (!ids.length) { $("#staff-room-error").textContent = "Choose at least one colleague."; return; }
  try {
    const room = await client.createStaffRoom(ids, $("#staff-room-name").value.trim());
    $("#staff-room-form").hidden = true;
    $("#staff-room-name").value = "";
    await openRoom(room.id);
  } catch (error) {
    $("#staff-room-error").textContent = error.message;
  }
});

// ---------------------------------------------------------------- notifications

function renderNotifications() {
  const count = client.unreadNotifications;
  $("#bell-count").textContent = count ? String(count) : "";
  $("#bell").setAttribute("aria-label", `Notifications, ${count} unread`);
  const items = client.notifications.map((n) => h("li", { class: n.read_at ? "" : "unread", dataset: { id: n.id } },
    h("span", { class: "title" }, n.title),
    h("span", { class: "text" }, n.message),
    h("span", { class: "when" }, ` ${dateTimeOf(n.created_at)}`),
    n.read_at ? null : h("button", { type: "button", class: "link", onclick: () => client.markNotificationRead(n.id) }, "Mark read")));
  $("#notification-list").replaceChildren(...(items.length ? items : [h("li", {}, "Nothing yet.")]));
}

$("#bell").addEventListener("click", () => {
  const panel = $("#notifications");
  panel.hidden = !panel.hidden;
  $("#bell").setAttribute("aria-expanded", String(!panel.hidden));
  if (!panel.hidden) client.loadNotifications().catch(() => {});
});
$("#read-all").addEventListener("click", () => client.markAllNotificationsRead());

function toast(notification) {
  const el = h("div", { class: `toast ${notification.severity || ""}` },
    h("span", { class: "title" }, notification.title), h("span", {}, notification.message));
  $("#toasts").append(el);
  setTimeout(() => el.remove(), 8000);
}

// ---------------------------------------------------------------- views: settings, activity

function showView(name) {
  for (const view of ["conversations", "settings", "activity"]) {
    $(`#view-${view}`).hidden = view !== name;
  }
  document.querySelectorAll("[data-view]").forEach((b) => b.setAttribute("aria-current", b.dataset.view === name ? "page" : "false"));
  const failed = (view) => (error) => {
    $(`#view-${view}`).replaceChildren(h("p", { class: "form-error", role: "alert" }, `Could not load this: ${error.message}`));
  };
  if (name === "settings") renderSettings().catch(failed("settings"));
  if (name === "activity") renderActivity().catch(failed("activity"));
}

document.querySelectorAll("[data-view]").forEach((button) => button.addEventListener("click", () => showView(button.dataset.view)));

function errorLine() { return h("p", { class: "form-error", role: "alert" }); }

async function renderSettings() {
  const view = $("#view-settings");
  view.replaceChildren(h("p", {}, "Loading…"));
  const [{ faqs }, { auto_responses: autos }, fresh] = await Promise.all([
    client.api("GET", "/api/chat/faqs"), client.api("GET", "/api/chat/auto-responses"),
    client.api("GET", `/api/businesses/${me.business_id}`)]);
  business = fresh.business;
  view.replaceChildren(faqSection(faqs), testSection(), autoSection(autos), hoursSection());
}

function faqSection(faqs) {
  const error = errorLine();
  const list = h("ul", { class: "faq-list" }, faqs.map((faq) => h("li", {},
    h("span", { class: "q" }, faq.question), h("div", {}, faq.answer),
    h("label", {}, h("input", { type: "checkbox", checked: faq.is_active, onchange: async (e) => {
      try { await client.api("PUT", `/api/chat/faqs/${faq.id}`, { is_active: e.target.checked }); } catch (x) { error.textContent = x.message; }
    } }), " active "),
    h("button", { type: "button", class: "link", onclick: async () => {
      if (!window.confirm(`Delete the FAQ “${faq.question}”?`)) return;
      try { await client.api("DELETE", `/api/chat/faqs/${faq.id}`); renderSettings().catch(() => {}); } catch (x) { error.textContent = x.message; }
    } }, "Delete"))));
  const form = h("form", {},
    h("div", { class: "field" }, h("label", { for: "faq-q" }, "Question"), h("input", { id: "faq-q", required: true })),
    h("div", { class: "field" }, h("label", { for: "faq-a" }, "Answer"), h("textarea", { id: "faq-a", required: true, rows: 3 })),
    h("div", { class: "field" }, h("label", { for: "faq-k" }, "Keywords (comma-separated)"), h("input", { id: "faq-k" })),
    error, h("button", { type: "submit", class: "primary" }, "Add FAQ"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await client.api("POST", "/api/chat/faqs", { question: $("#faq-q").value, answer: $("#faq-a").value,
        keywords: $("#faq-k").value.split(",").map((k) => k.trim()).filter(Boolean) });
      await renderSettings();
    } catch (x) { error.textContent = x.message; }
  });
  return h("section", { "aria-labelledby": "faq-h" }, h("h2", { id: "faq-h" }, "FAQs"), list, form);
}

function testSection() {
  const out = h("div", { id: "match-result", "aria-live": "polite" });
  const form = h("form", {},
    h("div", { class: "field" }, h("label", { for: "match-text" }, "Test a question"), h("input", { id: "match-text", required: true })),
    h("button", { type: "submit", class: "primary" }, "Test"), out);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const result = await client.api("POST", "/api/chat/faqs/match", { text: $("#match-text").value });
      out.replaceChildren(
        h("p", {}, result.match
          ? `The bot answers (confidence ${result.match.confidence.toFixed(2)}): ${result.match.answer}`
          : "The bot would not answer: the question goes to staff."),
        h("table", { class: "simple" }, h("tr", {}, h("th", {}, "Candidate"), h("th", {}, "Confidence")),
          result.candidates.map((c) => h("tr", {}, h("td", {}, c.question), h("td", {}, c.confidence.toFixed(2))))));
    } catch (x) { out.replaceChildren(h("p", { class: "form-error" }, x.message)); }
  });
  return h("section", {}, h("h2", {}, "Test the bot"), form);
}

function autoSection(autos) {
  const rows = autos.map((auto) => {
    const error = errorLine();
    const text = h("textarea", { rows: 2, id: `auto-${auto.id}` }, auto.message);
    const active = h("input", { type: "checkbox", checked: auto.is_active, id: `auto-active-${auto.id}` });
    const save = h("button", { type: "button", class: "secondary", onclick: async () => {
      try {
        await client.api("PUT", `/api/chat/auto-responses/${auto.id}`, { message: text.value, is_active: active.checked });
        error.textContent = "Saved.";
      } catch (x) { error.textContent = x.message; }
    } }, "Save");
    return h("div", { class: "field" }, h("label", { for: `auto-${auto.id}` }, `${auto.trigger} reply`), text,
      h("span", {}, active, h("label", { for: `auto-active-${auto.id}` }, " active "), save), error);
  });
  return h("section", {}, h("h2", {}, "Automatic replies"), rows);
}

const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

function hoursSection() {
  const error = errorLine();
  const hours = business.business_hours || {};
  const rows = DAYS.map((day) => h("div", { class: "hours-row" },
    h("label", { for: `hours-${day}` }, day),
    h("input", { id: `hours-${day}`, value: (hours[day] || []).map((r) => r.join("-")).join(", "),
      placeholder: "closed, or 09:00-17:00, 18:00-20:00" })));
  const holidays = h("textarea", { id: "holidays", rows: 3 }, (business.holidays || []).join("\n"));
  const form = h("form", {}, rows,
    h("div", { class: "field" }, h("label", { for: "holidays" }, "Holidays (one YYYY-MM-DD a line)"), holidays),
    error, h("button", { type: "submit", class: "primary" }, "Save hours"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const businessHours = {};
    for (const day of DAYS) {
      const text = $(`#hours-${day}`).value.trim();
      businessHours[day] = text && text !== "closed"
        ? text.split(",").map((range) => range.trim().split("-").map((t) => t.trim())) : [];
    }
    try {
      await client.api("PUT", `/api/businesses/${me.business_id}`, { business_hours: businessHours,
        holidays: holidays.value.split(/\s+/).filter(Boolean) });
      error.textContent = "Saved.";
    } catch (x) { error.textContent = x.message; }
  });
  return h("section", {}, h("h2", {}, `Opening hours (${business.timezone})`), form);
}

async function renderActivity() {
  const view = $("#view-activity");
  const { summary } = await client.api("GET", "/api/activity/summary");
  const max = Math.max(1, ...Object.values(summary.events_by_type));
  const sections = [
    h("section", {}, h("h2", {}, "Conversations"),
      h("p", {}, `${summary.waiting_conversations} waiting for staff, ${summary.open_conversations} open.`)),
    h("section", {}, h("h2", {}, `Events in the last ${summary.window_hours} h`),
      h("table", { class: "simple" }, Object.entries(summary.events_by_type).map(([type, count]) => h("tr", {},
        h("td", {}, type), h("td", {}, String(count)),
        h("td", { style: "width:50%" }, h("div", { class: "bar", style: `width:${(100 * count) / max}%` })))))),
  ];
  try {
    const { days } = await client.api("GET", "/api/chat/automation-stats?days=14");
    const total = days.reduce((s, d) => s + d.customer_messages, 0);
    const answered = days.reduce((s, d) => s + d.faq_answers, 0);
    sections.push(h("section", {}, h("h2", {}, "Answered by the bot"),
      h("p", {}, total ? `${Math.round((100 * answered) / total)}% of ${total} customer messages in 14 days.` : "No customer messages yet."),
      h("div", { class: "chart", role: "img", "aria-label": "Share answered by the bot, per day" },
        days.map((d) => h("div", { title: `${d.date}: ${d.faq_answers}/${d.customer_messages}`,
          style: `height:${d.customer_messages ? (100 * d.faq_answers) / d.customer_messages : 0}%` })))));
  } catch { /* a server without the statistics */ }
  view.replaceChildren(...sections);
}

// ---------------------------------------------------------------- live updates

client.on("room", (room) => {
  if (room.id === selected) renderConversation();
  renderRoomsSoon();
});
client.on("rooms", renderRoomsSoon);
client.on("new-conversation", (room) => client.joinRoom(room.id).catch(() => {}));
client.on("presence", renderRoomsSoon);
client.on("notifications", renderNotifications);
client.on("notification", toast);
client.on("state", (state) => {
  const el = $("#connection");
  el.textContent = STATE_TEXT[state] || "";
  el.dataset.state = state;
});

let roomsQueued = false;
function renderRoomsSoon() {
  if (roomsQueued) return;
  roomsQueued = true;
  requestAnimationFrame(() => { roomsQueued = false; renderRooms(); });
}

// ---------------------------------------------------------------- start

async function enter() {
  running = true;
  $("#app").hidden = false;
  $("#me").textContent = me.name;
  $("#nav-settings").hidden = me.role !== "owner";
  ({ business } = await client.api("GET", `/api/businesses/${me.business_id}`));
  $("#business-name").textContent = business.name;
  document.title = `${business.name} · dashboard`;
  await Promise.all([client.loadRooms(), loadColleagues(), client.loadNotifications()]);
  for (const room of client.listRooms().slice(0, MAX_WATCHED)) client.joinRoom(room.id).catch(() => {});
  client.connect();
  if (!enter.refreshing) {
    enter.refreshing = setInterval(() => { if (running) client.loadRooms().catch(() => {}); }, ROOMS_REFRESH_MS);
  }
  renderRooms();
  renderNotifications();
}

(async () => {
  me = await currentUser(client);
  if (!me || me.role === "customer") me = await signIn();
  await enter();
})().catch((error) => {
  $("#connection").textContent = `Something went wrong: ${error.message}. Reload the page to try again.`;
});
