/* The one-line embed of the customer chat for a business's own site:
 *   <script src="https://chat.example.com/widget.js" data-business="42" async></script>
 * Optional: data-token="<access token>" hands over the host page's signed-in customer
 * (passed to the widget in the URL fragment, never in a query string).
 * A launcher button opens the chat in an iframe; while it is closed, a badge counts unread
 * messages. Plain script, no dependencies: it only draws the button and the frame.
 */
(function () {
  var script = document.currentScript;
  if (!script) return;
  var business = script.getAttribute("data-business");
  if (!business) { console.error("widget.js: data-business is missing"); return; }
  var origin = new URL(script.src, window.location.href).origin;
  var token = script.getAttribute("data-token");
  var src = origin + "/widget/" + encodeURIComponent(business) + "?embed=1" +
    (token ? "#token=" + encodeURIComponent(token) : "");

  var root = document.createElement("div");
  root.setAttribute("data-bookingchat", "");
  root.style.cssText = "position:fixed;right:16px;bottom:16px;z-index:2147483000;font:14px system-ui,sans-serif";

  var frame = document.createElement("iframe");
  frame.title = "Chat with us";
  frame.src = src;
  frame.style.cssText = "display:none;width:min(380px,calc(100vw - 32px));height:min(560px,calc(100vh - 96px));" +
    "border:0;border-radius:12px;box-shadow:0 8px 32px rgba(0,0,0,.25);background:#fff;margin-bottom:8px";

  var button = document.createElement("button");
  button.type = "button";
  button.setAttribute("aria-expanded", "false");
  button.setAttribute("aria-label", "Open chat");
  button.style.cssText = "float:right;position:relative;width:56px;height:56px;border-radius:50%;border:0;" +
    "background:#0b6e4f;color:#fff;font-size:24px;cursor:pointer;box-shadow:0 4px 16px rgba(0,0,0,.25)";
  button.textContent = "💬";

  var badge = document.createElement("span");
  badge.setAttribute("aria-live", "polite");
  badge.style.cssText = "position:absolute;top:-4px;right:-4px;min-width:20px;padding:0 6px;border-radius:10px;" +
    "background:#b3261e;color:#fff;font-size:12px;font-weight:700;line-height:20px;display:none";
  button.appendChild(badge);

  var open = false;
  function setOpen(value) {
    open = value;
    frame.style.display = open ? "block" : "none";
    button.setAttribute("aria-expanded", String(open));
    button.setAttribute("aria-label", open ? "Close chat" : "Open chat");
    frame.contentWindow && frame.contentWindow.postMessage({ type: "bookingchat:open", open: open }, origin);
  }
  button.addEventListener("click", function () { setOpen(!open); });
  window.addEventListener("message", function (event) {
    if (event.origin !== origin || event.source !== frame.contentWindow) return;
    var data = event.data || {};
    if (data.type === "bookingchat:unread") {
      var count = Number(data.count) || 0;
      badge.textContent = count > 99 ? "99+" : String(count);
      badge.style.display = count && !open ? "inline-block" : "none";
      button.setAttribute("aria-label", (open ? "Close chat" : "Open chat") + (count ? ", " + count + " unread" : ""));
    }
  });

  root.appendChild(frame);
  root.appendChild(button);
  (document.body || document.documentElement).appendChild(root);
})();
