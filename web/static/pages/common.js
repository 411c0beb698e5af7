// What the widget and the dashboard share: the session (a token handed over in the URL
// fragment, or a sign-in kept in localStorage), DOM helpers that only ever set text, and the
// message thread.
import { createClient } from "/assets/chat-client/index.js";

/** An element; children are nodes or strings (always set as text, never parsed as HTML). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export const $ = (selector, root = document) => root.querySelector(selector);

export function timeOf(iso) {
  if (!iso) return "";
  return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

export function dateTimeOf(iso) {
  if (!iso) return "";
  return new Date(iso).toLocaleString([], { weekday: "short", hour: "2-digit", minute: "2-digit" });
}

export function sinceOf(iso, now = Date.now()) {
  if (!iso) return "";
  const minutes = Math.max(0, Math.round((now - new Date(iso).getTime()) / 60000));
  if (minutes < 1) return "just now";
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  return hours < 48 ? `${hours} h` : `${Math.floor(hours / 24)} d`;
}

/**
 * The page's client with its session: `#token=` in the address (then removed from it), or
 * what this page stored after a sign-in. Tokens handed over by a host page are not stored.
 */
export function startSession(storageKey) {
  const client = createClient();
  const fragment = new URLSearchParams(window.location.hash.slice(1));
  const handed = fragment.get("token");
  if (handed) {
    history.replaceState(null, "", window.location.pathname + window.location.search);
    client.setSession({ access_token: handed });
  } else {
    try {
      const saved = JSON.parse(localStorage.getItem(storageKey) || "null");
      if (saved?.access_token) client.setSession(saved);
    } catch { /* nothing saved */ }
  }
  client.on("session", (session) => {
    if (handed) return;
    if (session.accessToken) {
      localStorage.setItem(storageKey, JSON.stringify({
        access_token: session.accessToken, refresh_token: session.refreshToken, user: session.user,
      }));
    } else {
      localStorage.removeItem(storageKey);
    }
  });
  client.on("auth-expired", () => localStorage.removeItem(storageKey));
  return client;
}

/** The sign-in form, with registration as an option (customers). Resolves when signed in. */
export function signInForm(container, client, { allowRegister = false, title = "Sign in", check } = {}) {
  return new Promise((resolve) => {
    let registering = false;
    const error = h("p", { class: "form-error", role: "alert" });
    const nameRow = h("div", { class: "field", hidden: true },
      h("label", { for: "auth-name" }, "Your name"),
      h("input", { id: "auth-name", name: "name", autocomplete: "name" }));
    const heading = h("h2", {}, title);
    const submit = h("button", { type: "submit", class: "primary" }, "Sign in");
    const toggle = allowRegister
      ? h("button", { type: "button", class: "link", onclick: () => {
        registering = !registering;
        nameRow.hidden = !registering;
        heading.textContent = registering ? "Create an account" : title;
        submit.textContent = registering ? "Create account" : "Sign in";
        toggle.textContent = registering ? "I have an account: sign in" : "New here? Create an account";
      } }, "New here? Create an account")
      : null;
    const form = h("form", { class: "auth", "aria-labelledby": "auth-heading" },
      heading,
      nameRow,
      h("div", { class: "field" }, h("label", { for: "auth-email" }, "Email"),
        h("input", { id: "auth-email", name: "email", type: "email", required: true, autocomplete: "email" })),
      h("div", { class: "field" }, h("label", { for: "auth-password" }, "Password"),
        h("input", { id: "auth-password", name: "password", type: "password", required: true, minlength: 8,
          autocomplete: "current-password" })),
      error, submit, toggle);
    heading.id = "auth-heading";
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      error.textContent = "";
      submit.disabled = true;
      const data = new FormData(form);
      try {
        const user = registering
          ? await client.register(data.get("email"), data.get("password"), data.get("name") || "")
          : await client.login(data.get("email"), data.get("password"));
        const problem = check?.(user);
        if (problem) { error.textContent = problem; await client.logout(); return; }
        form.remove();
        resolve(user);
      } catch (failure) {
        error.textContent = failure.message || "Could not sign in.";
      } finally {
        submit.disabled = false;
      }
    });
    container.replaceChildren(form);
    form.querySelector(registering ? "#auth-name" : "#auth-email").focus();
  });
}

/** The user of the current token, or null when there is no (valid) session. */
export async function currentUser(client) {
  if (!client.accessToken) return null;
  try {
    return await client.me();
  } catch {
    return null;
  }
}

const BOT_LABEL = { faq: "Bot answer", welcome: "Automatic reply", offline: "Automatic reply",
  escalation: "Automatic reply" };

/**
 * Draw a room's timeline into `list` (an <ol>): own messages right, others left, bot answers
 * marked; ticks on own messages (sent, read), "Sending…" and "Retry" on pending ones.
 */
export function renderThread(list, client, room, { nameOf = () => "", onRetry, onAttachment, extra } = {}) {
  const me = client.user?.id;
  const items = [];
  let lastDay = null;
  for (const message of room.timeline) {
    const day = message.created_at ? new Date(message.created_at).toDateString() : null;
    if (day && day !== lastDay && !message.pending) {
      items.push(h("li", { class: "day" }, new Date(message.created_at).toLocaleDateString()));
      lastDay = day;
    }
    const own = message.sender_id === me && message.sender_type !== "bot";
    const bot = message.sender_type === "bot";
    const classes = ["msg", own ? "own" : "other", bot ? "bot" : "", message.pending ? `pending ${message.status}` : ""];
    const meta = h("span", { class: "meta" }, timeOf(message.created_at));
    if (own && !message.pending) {
      const read = room.othersReadUpTo >= message.seq;
      meta.append(h("span", { class: read ? "tick read" : "tick", title: read ? "Read" : "Sent",
        "aria-label": read ? "Read" : "Sent" }, read ? "✓✓" : "✓"));
    }
    if (message.pending && message.status !== "failed") meta.append(h("span", { class: "sending" }, " Sending…"));
    const body = h("div", { class: "bubble" });
    if (!own) {
      const label = bot ? (BOT_LABEL[message.kind] || "Bot")
        : nameOf(message.sender_id, message) || (message.sender_type === "staff" ? "Staff" : "");
      if (label) body.append(h("span", { class: bot ? "sender bot-label" : "sender" }, label));
    }
    body.append(h("p", { class: "text" }, message.content));
    for (const attachment of message.attachments || []) body.append(onAttachment ? onAttachment(attachment) : "");
    body.append(meta);
    const more = extra?.(message);
    if (more) body.append(more);
    if (message.status === "failed") {
      body.append(h("div", { class: "failed-row", role: "alert" },
        h("span", {}, `Not sent: ${message.error?.message || "error"}`),
        h("button", { type: "button", class: "retry", onclick: () => onRetry?.(message) }, "Retry")));
    }
    items.push(h("li", { class: classes.filter(Boolean).join(" "),
      dataset: { seq: message.seq ?? "", clientMsgId: message.client_msg_id || "" } }, body));
  }
  const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  list.replaceChildren(...items);
  if (nearBottom || room._scrollToEnd) { list.scrollTop = list.scrollHeight; room._scrollToEnd = false; }
}

/** An attachment: images previewed (fetched with the token), other files as a download link. */
export function attachmentView(client, attachment) {
  const box = h("div", { class: "attachment" });
  const name = attachment.filename || "file";
  if ((attachment.content_type || "").startsWith("image/")) {
    const img = h("img", { alt: name, class: "preview" });
    client.attachmentUrl(attachment).then((url) => { img.src = url; }).catch(() => { img.alt = `${name} (could not load)`; });
    box.append(img);
  }
  const link = h("a", { href: "#", class: "file" }, `Attachment: ${name}`);
  link.addEventListener("click", async (event) => {
    event.preventDefault();
    const url = await client.attachmentUrl(attachment);
    const a = h("a", { href: url, download: name });
    document.body.append(a);
    a.click();
    a.remove();
  });
  box.append(link);
  return box;
}

/** "Sam is typing…" for the typists of a room. */
export function typingText(typists) {
  const names = typists.map((t) => t.name || "Someone");
  if (!names.length) return "";
  if (names.length === 1) return `${names[0]} is typing…`;
  return `${names.slice(0, -1).join(", ")} and ${names.at(-1)} are typing…`;
}

/** The composer: Enter sends, Shift+Enter breaks the line; typing is reported (throttled). */
export function bindComposer(textarea, { onSend, onTyping }) {
  textarea.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      onSend();
    }
  });
  textarea.addEventListener("input", () => onTyping(textarea.value.trim().length > 0));
}

export const STATE_TEXT = {
  connecting: "Connecting…", reconnecting: "Reconnecting…", connected: "", disconnected: "Offline",
};
