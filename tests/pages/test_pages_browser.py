"""The customer widget and the staff dashboard end to end: a customer context and a staff
context in headless Chromium against a real web process (embedded mode, demo business)."""
from __future__ import annotations

import re
import struct
import threading
import time
import uuid
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.helpers.pages import MAX_UPLOAD_MB, OWNER, PASSWORD, STAFF, Server
from tests.processes import Api
from tests.services import in_ci

try:
    from playwright.sync_api import Page, expect
except ImportError:
    if in_ci():
        raise
    pytest.skip("the playwright package is not installed, and the browser tests need it "
                "(pip install -r requirements-dev.txt)", allow_module_level=True)

BUSINESS_ID = 1  # the demo business of a fresh database
XSS = '<img src=x onerror="window.__xss=1"><script>window.__xss=1</script>'


def open_dashboard(page: Page, email: str = STAFF) -> None:
    page.goto("/dashboard")
    page.fill("#auth-email", email)
    page.fill("#auth-password", PASSWORD)
    page.click("form.auth button[type=submit]")
    expect(page.locator("#app")).to_be_visible()
    expect(page.locator("#connection")).to_have_attribute("data-state", "connected")


def open_widget(page: Page, name: str) -> str:
    """Register a new customer through the widget's form; returns the email."""
    email = f"c-{uuid.uuid4().hex[:10]}@example.com"
    page.goto(f"/widget/{BUSINESS_ID}")
    page.click("text=New here? Create an account")
    page.fill("#auth-name", name)
    page.fill("#auth-email", email)
    page.fill("#auth-password", PASSWORD)
    page.click("form.auth button[type=submit]")
    expect(page.locator("#conversation")).to_be_visible()
    expect(page.locator("#connection")).to_have_attribute("data-state", "connected")
    return email


def write(page: Page, text: str) -> None:
    page.fill("#message", text)
    page.press("#message", "Enter")


def room_item(page: Page, name: str):
    return page.locator("#room-list li", has_text=name)


def login(api: Api, email: str) -> dict:
    return api.call("POST", "/api/auth/login", json={"email": email, "password": PASSWORD},
                    expect=200)


def stored_contents(api: Api, token: str, room_id: int) -> list[str]:
    body = api.call("GET", f"/api/chat/rooms/{room_id}/messages?limit=200", token=token,
                    expect=200)
    seqs = [m["seq"] for m in body["messages"]]
    assert seqs == list(range(1, len(seqs) + 1))
    return [m["content"] for m in body["messages"]]


def shown_seqs(page: Page) -> list[int]:
    return [int(s) for s in page.eval_on_selector_all(
        "#thread li.msg", "els => els.map(e => e.dataset.seq).filter(Boolean)")]


def shown_equals_stored(page: Page, api: Api, token: str, room_id: int) -> list[str]:
    """Wait until the page shows every stored message of the room once, in seq order (bot
    replies may still be arriving); returns the stored contents."""
    deadline = time.monotonic() + 15
    while True:
        contents = stored_contents(api, token, room_id)
        seqs = shown_seqs(page)
        if seqs == list(range(1, len(contents) + 1)) or time.monotonic() > deadline:
            break
        page.wait_for_timeout(250)
    assert seqs == list(range(1, len(contents) + 1)), (seqs, contents)
    return contents


def customer_room(page: Page) -> tuple[int, str]:
    """The widget's room id and the customer's access token, from its client."""
    return page.evaluate(
        "() => [[...window.chatClient.rooms.keys()][0], window.chatClient.accessToken]")


def test_a_conversation_from_the_widget_to_the_dashboard_and_back(new_page):
    staff = new_page()
    open_dashboard(staff)
    customer = new_page(width=360, height=640)
    name = f"Robin {uuid.uuid4().hex[:4]}"
    open_widget(customer, name)

    write(customer, "My grandmother wants to knit a purple scarf for her cat")
    own = customer.locator("#thread li.msg.own", has_text="purple scarf")
    expect(own.locator(".tick")).to_have_text("✓")

    # The conversation shows up on the dashboard, unread and waiting for staff.
    item = room_item(staff, name)
    expect(item.locator(".badge.unread")).to_have_text(re.compile(r"[1-9]"))
    expect(item).to_have_attribute("data-status", "waiting_for_staff")
    staff.click("[data-filter=waiting]")
    expect(room_item(staff, name)).to_be_visible()
    expect(staff.locator("#count-waiting")).to_have_text(re.compile(r"[1-9]"))
    staff.click("[data-filter=all]")

    room_item(staff, name).locator("button").click()
    expect(staff.locator("#thread")).to_contain_text("purple scarf")
    write(staff, "Yes, there is a car park behind the building.")

    # The customer sees the reply live, and the read tick on their own message.
    expect(customer.locator("#thread li.msg.other", has_text="car park")).to_be_visible()
    expect(own.locator(".tick")).to_have_text("✓✓")
    expect(own.locator(".tick")).to_have_class(re.compile("read"))
    # The staff member's reply gets its read tick too, once the customer has seen it.
    reply = staff.locator("#thread li.msg.own", has_text="car park")
    expect(reply.locator(".tick")).to_have_text("✓✓")
    # And the room is no longer waiting.
    expect(room_item(staff, name)).to_have_attribute("data-status", "open")


def test_an_faq_question_gets_the_bots_answer_in_the_widget(new_page):
    staff = new_page()
    open_dashboard(staff)  # staff online: no out-of-hours reply in between
    customer = new_page(width=360, height=640)
    open_widget(customer, "Faq Asker")
    write(customer, "How do I book an appointment?")
    answer = customer.locator("#thread li.msg.bot", has_text="book online")
    expect(answer).to_be_visible()
    expect(answer.locator(".sender")).to_have_text("Bot answer")
    # "No" to "Did this help?" hands the conversation to a person.
    answer.get_by_role("button", name="No, ask a person").click()
    expect(answer.locator(".feedback")).to_have_text("Thanks for telling us.")
    expect(room_item(staff, "Faq Asker").first).to_have_attribute("data-status",
                                                                  "waiting_for_staff")


def test_staff_see_the_customer_typing(new_page):
    staff = new_page()
    open_dashboard(staff)
    customer = new_page(width=360, height=640)
    name = f"Typist {uuid.uuid4().hex[:4]}"
    open_widget(customer, name)
    write(customer, "Hello there")
    room_item(staff, name).locator("button").click()
    expect(staff.locator("#thread")).to_contain_text("Hello there")

    customer.type("#message", "I would like to")
    expect(staff.locator("#typing")).to_have_text(f"{name} is typing…")
    # Typing stops by itself a few seconds after the last keystroke.
    expect(staff.locator("#typing")).to_have_text("", timeout=15000)

    # And the other way: the customer sees the staff member typing.
    staff.type("#message", "Let me check")
    expect(customer.locator("#typing")).to_have_text("Sam Staff is typing…")


def test_an_event_posted_to_the_api_shows_a_toast_as_text(new_page, api: Api):
    staff = new_page()
    open_dashboard(staff, OWNER)
    before = int(staff.locator("#bell-count").inner_text() or 0)
    token = login(api, STAFF)["access_token"]
    api.call("POST", "/api/events", token=token, expect=202, json={
        "type": "booking.created",
        "data": {"customer_name": f"Ann {XSS}", "service": "Colour"},
    })
    toast = staff.locator("#toasts .toast").last
    expect(toast).to_be_visible()
    expect(toast).to_contain_text("Ann <img src=x")  # the markup shown as text
    expect(staff.locator("#bell-count")).to_have_text(str(before + 1))
    assert staff.evaluate("() => window.__xss") is None

    staff.click("#bell")
    first = staff.locator("#notification-list li").first
    expect(first).to_have_class(re.compile("unread"))
    staff.click("#read-all")
    expect(staff.locator("#bell-count")).to_have_text("")
    expect(staff.locator("#notification-list li.unread")).to_have_count(0)


def test_an_oversized_upload_shows_a_clear_error(new_page, tmp_path):
    customer = new_page(width=360, height=640)
    open_widget(customer, "Big File")
    big = tmp_path / "holiday-video.mp4"
    big.write_bytes(b"\0" * (MAX_UPLOAD_MB * 1024 * 1024 + 1))
    customer.set_input_files("#file", str(big))
    expect(customer.locator("#composer-error")).to_have_text(
        re.compile(rf"holiday-video\.mp4.*too large.*{MAX_UPLOAD_MB} MB"))

    # A file within the limit uploads with progress, and an image is previewed once sent.
    small = tmp_path / "photo.png"
    small.write_bytes(png())
    customer.set_input_files("#file", str(small))
    expect(customer.locator("#upload-progress")).to_have_js_property("value", 1)
    write(customer, "Here is the photo")
    preview = customer.locator("#thread li.msg.own img.preview")
    expect(preview).to_have_attribute("src", re.compile("^blob:"))
    # The src is set before the image has decoded: wait for it to finish (or time out if it
    # is broken), then check it is the 2-pixel PNG that was sent.
    customer.wait_for_function(
        "() => { const img = document.querySelector('#thread li.msg.own img.preview');"
        " return img && img.complete; }")
    assert customer.eval_on_selector("#thread li.msg.own img.preview",
                                     "img => img.naturalWidth") == 2


def test_markup_in_messages_names_and_faq_answers_is_shown_as_text(new_page, api: Api):
    owner_token = login(api, OWNER)["access_token"]
    api.call("POST", "/api/chat/faqs", token=owner_token, expect=201, json={
        "question": "Can I bring my parrot Pickles?", "keywords": ["parrot", "pickles"],
        "answer": f"Yes! {XSS} Ask at the desk."})
    staff = new_page()
    open_dashboard(staff, OWNER)
    customer = new_page(width=360, height=640)
    name = f"Mallory {XSS}"
    open_widget(customer, name)
    long_word = "W" * 400
    write(customer, f"Can I bring my parrot Pickles? {XSS} {long_word}")

    answer = customer.locator("#thread li.msg.bot", has_text="Ask at the desk")
    expect(answer).to_contain_text("Yes! <img src=x")
    item = room_item(staff, "Mallory <img")
    expect(item).to_be_visible()
    item.locator("button").click()
    question = staff.locator("#thread li.msg", has_text="parrot Pickles").first
    expect(question).to_contain_text("<script>")
    for page in (customer, staff):
        assert page.evaluate("() => window.__xss") is None
        assert page.locator("#thread img:not(.preview)").count() == 0
    # A long word wraps instead of widening the page (360 px wide).
    bubble = customer.locator("#thread li.msg.own .bubble").last
    assert bubble.evaluate("b => b.scrollWidth <= b.clientWidth + 1")
    assert customer.evaluate("() => document.documentElement.scrollWidth") <= 360


def test_offline_and_back_loses_and_duplicates_nothing(new_page, api: Api):
    staff = new_page()
    open_dashboard(staff)
    customer = new_page(width=360, height=640)
    name = f"Offline {uuid.uuid4().hex[:4]}"
    open_widget(customer, name)
    write(customer, "First, while online")
    room_item(staff, name).locator("button").click()
    expect(staff.locator("#thread")).to_contain_text("First, while online")

    customer.context.set_offline(True)
    # Offline mode stops new connections; the open WebSocket is cut by hand, as a network would.
    customer.evaluate("() => window.chatClient.socket?.io.engine.close()")
    expect(customer.locator("#connection")).to_have_text("Reconnecting…")
    write(customer, "Written while offline")
    pending = customer.locator("#thread li.msg.pending", has_text="Written while offline")
    expect(pending).to_be_visible()
    write(staff, "Reply one, sent while you were away")
    write(staff, "Reply two, sent while you were away")
    expect(staff.locator("#thread li.msg.own", has_text="Reply two")).to_be_visible()

    customer.context.set_offline(False)
    expect(customer.locator("#connection")).to_have_attribute("data-state", "connected",
                                                              timeout=30000)
    expect(customer.locator("#thread li.msg", has_text="Reply two")).to_be_visible()
    expect(customer.locator("#thread li.msg.own:not(.pending)",
                            has_text="Written while offline")).to_be_visible()

    room_id, token = customer_room(customer)
    contents = shown_equals_stored(customer, api, token, room_id)
    assert contents.count("Written while offline") == 1
    for text in ("First, while online", "Reply one", "Reply two", "Written while offline"):
        expect(customer.locator("#thread li.msg", has_text=text)).to_have_count(1)


def test_a_server_restart_shows_reconnecting_and_catches_up_without_duplicates(
        new_page, api: Api, pages_server: Server):
    staff = new_page()
    open_dashboard(staff)
    customer = new_page(width=360, height=640)
    name = f"Restart {uuid.uuid4().hex[:4]}"
    open_widget(customer, name)
    write(customer, "Before the restart")
    expect(customer.locator("#thread li.msg.own:not(.pending)", has_text="Before the restart")
           ).to_be_visible()
    room_id, token = customer_room(customer)

    pages_server.stop()
    expect(customer.locator("#connection")).to_have_text("Reconnecting…")
    pages_server.start()
    # Sent by staff while the customer's socket is still finding its way back.
    staff_token = login(api, STAFF)["access_token"]
    api.call("POST", f"/api/chat/rooms/{room_id}/messages", token=staff_token, expect=201,
             json={"content": "Sent during the restart"})

    expect(customer.locator("#connection")).to_have_attribute("data-state", "connected",
                                                              timeout=30000)
    expect(customer.locator("#thread li.msg", has_text="Sent during the restart")).to_have_count(1)
    write(customer, "After the restart")
    expect(customer.locator("#thread li.msg.own:not(.pending)", has_text="After the restart")
           ).to_have_count(1)
    contents = shown_equals_stored(customer, api, token, room_id)
    assert contents.count("Before the restart") == 1 and contents.count("After the restart") == 1
    # The dashboard came back too.
    expect(staff.locator("#connection")).to_have_attribute("data-state", "connected",
                                                           timeout=30000)


def test_an_ended_session_asks_to_sign_in_again_and_keeps_the_draft(new_page, api: Api):
    customer = new_page(width=360, height=640)
    email = open_widget(customer, "Drafty")
    customer.fill("#message", "A long message I am still writing")
    session = customer.evaluate("() => window.chatClient.session()")
    # Signed out elsewhere: this sign-in ends, and with it the socket and the refresh token.
    api.call("POST", "/api/auth/logout", token=session["accessToken"], expect=204,
             json={"everywhere": True})
    expect(customer.locator("form.auth")).to_be_visible(timeout=30000)
    expect(customer.locator("#auth-heading")).to_contain_text("sign in again")
    customer.fill("#auth-email", email)
    customer.fill("#auth-password", PASSWORD)
    customer.click("form.auth button[type=submit]")
    expect(customer.locator("#conversation")).to_be_visible()
    expect(customer.locator("#message")).to_have_value("A long message I am still writing")


def test_a_failed_send_offers_a_retry_that_stores_the_message_once(new_page, api: Api):
    customer = new_page(width=360, height=640)
    refused = []

    def route(ws) -> None:
        # Between the page and the server: the first send is answered with a final error.
        server = ws.connect_to_server()

        def from_page(message) -> None:
            match = re.match(r'42/realtime,(\d+)\["chat:send-message"', str(message))
            if match and not refused:
                refused.append(match.group(1))
                ws.send(f'43/realtime,{match.group(1)}[{{"ok":false,"error":{{"code":'
                        '"invalid_input","message":"Refused once by the test"}}]')
                return
            server.send(message)

        ws.on_message(from_page)

    customer.route_web_socket(re.compile(r"/socket\.io/"), route)
    open_widget(customer, "Retrier")
    write(customer, "Please try me again")
    failed = customer.locator("#thread li.msg.failed", has_text="Please try me again")
    expect(failed).to_contain_text("Refused once by the test")
    failed.get_by_role("button", name="Retry").click()
    sent = customer.locator("#thread li.msg.own", has_text="Please try me again")
    expect(sent).to_have_count(1)
    expect(sent).not_to_have_class(re.compile("pending"))
    room_id, token = customer_room(customer)
    assert stored_contents(api, token, room_id).count("Please try me again") == 1
    assert len(refused) == 1


def test_history_pages_upward(new_page, api: Api):
    me = api.register("Long Story")
    room = api.call("POST", "/api/chat/rooms/create", token=me["access_token"], expect=201,
                    json={"business_id": BUSINESS_ID})["room"]
    staff_token = login(api, STAFF)["access_token"]
    for i in range(1, 61):
        api.call("POST", f"/api/chat/rooms/{room['id']}/messages", token=staff_token,
                 expect=201, json={"content": f"Note {i}"})
    customer = new_page(width=360, height=640)
    customer.goto(f"/widget/{BUSINESS_ID}#token={me['access_token']}")
    expect(customer.locator("#thread li.msg")).to_have_count(50)
    assert shown_seqs(customer) == list(range(11, 61))
    customer.click("#load-older")
    expect(customer.locator("#thread li.msg")).to_have_count(60)
    assert shown_seqs(customer) == list(range(1, 61))
    expect(customer.locator("#load-older")).to_be_hidden()


def test_the_widget_and_dashboard_take_a_token_in_the_fragment_and_drop_it(new_page, api: Api):
    token = login(api, STAFF)["access_token"]
    staff = new_page()
    staff.goto(f"/dashboard#token={token}")
    expect(staff.locator("#app")).to_be_visible()
    assert "token" not in staff.url
    customer_token = api.register("Handed Over")["access_token"]
    customer = new_page(width=360, height=640)
    customer.goto(f"/widget/{BUSINESS_ID}#token={customer_token}")
    expect(customer.locator("#conversation")).to_be_visible()
    assert "token" not in customer.url


def test_the_embed_script_opens_the_widget_and_counts_unread_while_closed(
        new_page, api: Api, pages_server: Server):
    customer_token = api.register("Embedded")["access_token"]
    host = new_page()
    # A business's own site: a page on another origin (another port of this machine).
    page_html = (f'<html><body><h1>My salon</h1><script src="{pages_server.url}/widget.js" '
                 f'data-business="{BUSINESS_ID}" data-token="{customer_token}"></script>'
                 "</body></html>")
    site = serve_page(page_html)
    host.goto(site)
    launcher = host.locator("[data-bookingchat] button")
    expect(launcher).to_have_attribute("aria-label", "Open chat")
    frame = host.frame_locator("[data-bookingchat] iframe")
    expect(frame.locator("#conversation")).to_be_attached()
    room = api.call("POST", "/api/chat/rooms/create", token=customer_token,
                    json={"business_id": BUSINESS_ID}, expect=(200, 201))["room"]
    expect(frame.locator("#connection")).to_have_attribute("data-state", "connected")
    staff_token = login(api, STAFF)["access_token"]
    api.call("POST", f"/api/chat/rooms/{room['id']}/messages", token=staff_token, expect=201,
             json={"content": "Hello from the salon"})
    badge = host.locator("[data-bookingchat] button span")
    expect(badge).to_have_text("1")
    launcher.click()
    expect(frame.locator("#thread")).to_contain_text("Hello from the salon")
    expect(badge).to_be_hidden()


def serve_page(html: str) -> str:
    """Serve ``html`` at / of a server of its own on 127.0.0.1; returns its URL."""
    body = html.encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/"


def png(width: int = 2, height: int = 2) -> bytes:
    """A small valid PNG (red pixels)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    rows = b"".join(b"\0" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def test_the_demo_banner_and_the_landing_page_lead_to_both_pages(pages_server: Server, api: Api):
    banner = pages_server.process.output()
    assert f"Chat widget   http://localhost:{pages_server.port}/widget/{BUSINESS_ID}" in banner
    assert f"Dashboard     http://localhost:{pages_server.port}/dashboard" in banner
    landing = api.http.get(pages_server.url + "/", timeout=10).text
    assert f'href="/widget/{BUSINESS_ID}"' in landing and 'href="/dashboard"' in landing
    embed = api.http.get(pages_server.url + "/widget.js", timeout=10)
    assert embed.headers["Content-Type"].startswith("text/javascript")


def test_owner_settings_activity_and_a_staff_room_with_a_colleague(new_page, api: Api):
    staff = new_page()
    open_dashboard(staff)
    owner = new_page()
    open_dashboard(owner, OWNER)

    # Settings: "test a question" shows the bot's answer with its confidence, and candidates.
    owner.click("[data-view=settings]")
    owner.fill("#match-text", "How do I book an appointment?")
    owner.click("form:has(#match-text) button[type=submit]")
    result = owner.locator("#match-result")
    expect(result).to_contain_text(re.compile(r"The bot answers \(confidence 0\.\d\d\)"))
    expect(result.locator("table tr")).not_to_have_count(1)
    expect(owner.locator("#hours-mon")).to_have_value(re.compile(r"\d\d:\d\d-\d\d:\d\d"))

    # Activity: conversations, events per type and the bot's share as a chart.
    owner.click("[data-view=activity]")
    expect(owner.locator("#view-activity")).to_contain_text("waiting for staff")
    expect(owner.locator("#view-activity .chart")).to_be_visible()

    # A staff room with a colleague: the colleague is listed online, and sees the room live.
    owner.click("[data-view=conversations]")
    owner.click("#new-staff-room")
    colleague = owner.locator("#colleagues div", has_text="Sam Staff")
    expect(colleague.locator(".dot")).to_have_class(re.compile("online"))
    colleague.locator("input").check()
    room_name = f"Rota {uuid.uuid4().hex[:4]}"
    owner.fill("#staff-room-name", room_name)
    owner.click("#staff-room-form button[type=submit]")
    expect(owner.locator("#room-title")).to_have_text(room_name)
    write(owner, "Can you cover Saturday?")
    staff.click("[data-filter=staff]")
    item = room_item(staff, room_name)
    expect(item.locator(".badge.unread")).to_have_text("1")
    item.locator("button").click()
    expect(staff.locator("#thread")).to_contain_text("Can you cover Saturday?")


def test_a_closed_business_shows_when_it_opens(new_page, api: Api):
    today = time.gmtime().tm_wday
    day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[(today + 2) % 7]
    business, _token = api.business("Closed Today", business_hours={day: [["09:00", "17:00"]]})
    customer = new_page(width=360, height=640)
    customer.goto(f"/widget/{business['id']}")
    expect(customer.locator("#business-name")).to_have_text("Closed Today")
    expect(customer.locator("#business-status")).to_have_text(re.compile(r"^Closed · opens \w+"))


def test_a_widget_for_no_business_says_so(new_page):
    page = new_page(width=360, height=640)
    page.goto("/widget/999999")
    expect(page.locator("#business-status")).to_have_text("This business does not exist.")
    expect(page.locator("form.auth")).to_have_count(0)
