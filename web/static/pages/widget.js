// The customer chat widget: /widget/<business_id> (and, inside an iframe, /widget.js).
import {
  $, STATE_TEXT, attachmentView, bindComposer, currentUser, dateTimeOf, h, renderThread,
  signInForm, startSession, typingText,
} from "./common.js";

const body = document.body;
const businessId = Number(body.dataset.businessId);
const maxUploadBytes = Number(body.dataset.maxUploadMb) * 1024 * 1024;
const embedded = body.classList.contains("embedded");
const client = startSession(`bookingchat.widget.${businessId}`);
const draftKey = `bookingchat.widget.draft.${businessId}`;
window.chatClient = client; // for the browser tests and the curious

let room = null;
let isOpen = !embedded; // inside the embed: collapsed until the host page opens it
let attachment = null;
let business = null;
let chatting = false;

const thread = $("#thread");
const textarea = $("#message");
const composerError = $("#composer-error");

// ---------------------------------------------------------------- the business

async function loadBusiness() {
  try {
    ({ business } = await client.api("GET", `/api/businesses/${businessId}`, undefined, { auth: false }));
  } catch (error) {
    $("#business-status").textContent = error.status === 404 ? "This business does not exist." : "";
    return;
  }
  $("#business-name").textContent = business.name;
  document.title = `Chat with ${business.name}`;
  $("#business-status").textContent = business.is_open_now
    ? "Open now"
    : `Closed${business.next_open_at ? ` · opens ${dateTimeOf(business.next_open_at)}` : ""}`;
  $("#business-status").className = `status-line ${business.is_open_now ? "open" : "closed"}`;
}

// ---------------------------------------------------------------- signing in

async function signIn(reason) {
  $("#conversation").hidden = true;
  $("#sign-out").hidden = true;
  const box = $("#auth");
  box.hidden = false;
  const user = await signInForm(box, client, {
    allowRegister: true,
    title: reason || "Sign in to chat",
    check: (u) => (u.role === "customer" ? null : "This chat is for customers: staff use the dashboard."),
  });
  box.hidden = true;
  return user;
}

client.on("auth-expired", async () => {
  if (!chatting) return; // still starting: the start asks for a sign-in itself
  chatting = false;
  // The draft stays in the composer (and in sessionStorage) while the user signs in again.
  await signIn("Your session has ended: sign in again");
  await enterChat();
});

$("#sign-out").addEventListener("click", async () => {
  chatting = false;
  await client.logout();
  room = null;
  thread.replaceChildren();
  await signIn();
  await enterChat();
});

// ---------------------------------------------------------------- the conversation

const askedAbout = new Set();

function nameOf(userId) {
  const who = room?.info?.participants?.find((p) => p.user_id === userId);
  if (!who && userId && !askedAbout.has(userId)) {
    // Someone new wrote (a staff member's first reply): the room's participants name them.
    askedAbout.add(userId);
    client.api("GET", `/api/chat/rooms/${room.id}`)
      .then(({ room: info }) => { room.info = { ...room.info, participants: info.participants }; render(); })
      .catch(() => {});
  }
  return who ? who.name : "";
}

function render() {
  if (!room) return;
  renderThread(thread, client, room, {
    nameOf,
    onRetry: (message) => client.retry(room.id, message.client_msg_id),
    onAttachment: (a) => attachmentView(client, a),
    extra: feedbackRow,
  });
  $("#load-older").hidden = !room.hasOlder;
  $("#typing").textContent = typingText(client.typists(room.id));
  markReadIfSeen();
  if (embedded) window.parent.postMessage({ type: "bookingchat:unread", count: room.unreadCount }, "*");
}

function markReadIfSeen() {
  if (!room || !isOpen || document.visibilityState !== "visible") return;
  const newest = room.messages.at(-1);
  if (newest && newest.seq > room.readUpTo) client.markRead(room.id, newest.seq);
}

async function enterChat() {
  chatting = true;
  $("#conversation").hidden = false;
  $("#sign-out").hidden = false;
  if (!room) {
    room = await client.openCustomerRoom(businessId);
    room._scrollToEnd = true;
    await client.loadOlder(room.id); // the latest page; the socket catches up from there
  }
  client.joinRoom(room.id).catch(() => {});
  client.connect();
  render();
  textarea.focus();
}

client.on("room", (changed) => { if (room && changed.id === room.id) render(); });
client.on("state", (state) => {
  const el = $("#connection");
  el.textContent = STATE_TEXT[state] || "";
  el.dataset.state = state;
});
document.addEventListener("visibilitychange", markReadIfSeen);

$("#load-older").addEventListener("click", async () => {
  const before = thread.scrollHeight;
  await client.loadOlder(room.id);
  thread.scrollTop = thread.scrollHeight - before; // keep the reader's place
});

// ---------------------------------------------------------------- the bot: feedback, suggestions

const feedback = new Map(); // message id -> "asked" | "thanks"

function feedbackRow(message) {
  if (message.sender_type !== "bot" || message.kind !== "faq") return null;
  if (message.id !== room.messages.filter((m) => m.kind === "faq").at(-1)?.id) return null;
  const state = feedback.get(message.id);
  if (state === "thanks") return h("p", { class: "feedback" }, "Thanks for telling us.");
  if (state === "asked") return null;
  const answer = (helpful) => async () => {
    feedback.set(message.id, "asked");
    render();
    try { await client.answerFeedback(room.id, message.id, helpful); } catch { /* given before */ }
    feedback.set(message.id, "thanks");
    render();
  };
  return h("div", { class: "feedback", role: "group", "aria-label": "Did this answer help?" },
    h("span", {}, "Did this help? "),
    h("button", { type: "button", class: "secondary", onclick: answer(true) }, "Yes"),
    h("button", { type: "button", class: "secondary", onclick: answer(false) }, "No, ask a person"));
}

client.on("faq-suggestions", (event) => {
  if (!room || event.room_id !== room.id || !event.suggestions?.length) return;
  const box = $("#suggestions");
  box.replaceChildren(h("span", {}, "Did you mean:"), ...event.suggestions.map((s) => h("button", {
    type: "button", class: "secondary",
    onclick: async () => {
      box.hidden = true;
      try { await client.pickSuggestion(room.id, event.message_id, s.faq_id); } catch (error) {
        composerError.textContent = error.message;
      }
    },
  }, s.question)));
  box.hidden = false;
});

// ---------------------------------------------------------------- composing and sending

textarea.value = sessionStorage.getItem(draftKey) || "";
textarea.addEventListener("input", () => sessionStorage.setItem(draftKey, textarea.value));

function send() {
  composerError.textContent = "";
  let content = textarea.value.trim();
  if (!room || (!content && !attachment)) return;
  if (!content) content = attachment.filename;
  $("#suggestions").hidden = true;
  const options = attachment ? { attachmentIds: [attachment.id] } : {};
  room._scrollToEnd = true;
  client.send(room.id, content, options).catch(() => {});
  textarea.value = "";
  sessionStorage.removeItem(draftKey);
  clearAttachment();
}

bindComposer(textarea, { onSend: send, onTyping: (typing) => room && client.typing(room.id, typing) });
$("#composer").addEventListener("submit", (event) => { event.preventDefault(); send(); });

function clearAttachment() {
  attachment = null;
  $("#upload").hidden = true;
  $("#file").value = "";
}

$("#upload-cancel").addEventListener("click", clearAttachment);

$("#file").addEventListener("change", async (event) => {
  const file = event.target.files[0];
  composerError.textContent = "";
  if (!file) return;
  const limitMb = maxUploadBytes / 1024 / 1024;
  if (file.size > maxUploadBytes) {
    composerError.textContent = `“${file.name}” is too large: files can be up to ${limitMb} MB.`;
    event.target.value = "";
    return;
  }
  $("#upload").hidden = false;
  $("#upload-name").textContent = file.name;
  const progress = $("#upload-progress");
  progress.value = 0;
  try {
    attachment = await client.upload(file, (fraction) => { progress.value = fraction; });
    progress.value = 1;
  } catch (error) {
    clearAttachment();
    composerError.textContent = error.status === 413
      ? `“${file.name}” is too large: files can be up to ${limitMb} MB.`
      : `The upload failed: ${error.message}`;
  }
});

// ---------------------------------------------------------------- inside the embed

window.addEventListener("message", (event) => {
  if (event.source !== window.parent || event.data?.type !== "bookingchat:open") return;
  isOpen = Boolean(event.data.open);
  if (isOpen) { markReadIfSeen(); textarea.focus(); }
});

// ---------------------------------------------------------------- start

(async () => {
  await loadBusiness();
  if (!business) return; // no such business: the header says so, there is no one to chat with
  setInterval(loadBusiness, 60000);
  const user = await currentUser(client);
  if (!user || user.role !== "customer") await signIn();
  await enterChat();
})().catch((error) => {
  $("#connection").textContent = `Something went wrong: ${error.message}. Reload the page to try again.`;
});
