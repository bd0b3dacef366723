"""The customer chat widget in a real browser, on the sample tenants' demo pages.

Every test opens its own page (a fresh browser context, so a fresh conversation); the
server and the paced stub LLM are shared (tests/e2e/conftest.py).
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Locator, Page, expect
from playwright.sync_api import Route as BrowserRoute
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from api.models import FeedbackRow
from tests.e2e.conftest import E2EServer
from tests.live_server import live_server

Shoot = Callable[..., Path]

FRENCH_QUESTION = "Quels sont les moyens de paiement acceptés pour ma facture ?"
ARABIC_QUESTION = "كيف أشحن رصيد خطي المسبق الدفع؟"
ANSWER_TIMEOUT_MS = 30_000

SHADOW = "document.getElementById('rafiq-widget').shadowRoot"
STREAMING_TEXT = """() => {
  const root = document.getElementById('rafiq-widget')?.shadowRoot;
  const bots = root ? root.querySelectorAll(
    '[data-testid=rafiq-message][data-role=bot][data-state=streaming]') : [];
  const bubble = bots[bots.length - 1];
  const text = bubble ? bubble.querySelector('[data-testid=rafiq-text]').textContent.trim() : '';
  return text.split(/\\s+/).length >= 3 ? text : null;
}"""
FOCUSED = (
    f"() => document.activeElement?.id === 'rafiq-widget' && {SHADOW}.activeElement?.dataset.testid"
)
BUBBLES = f"""() => [...{SHADOW}.querySelectorAll('[data-testid=rafiq-message]')].map(m => ({{
  role: m.dataset.role, id: m.dataset.messageId || null,
  text: m.querySelector('[data-testid=rafiq-text]').textContent.trim(),
}}))"""


def demo(server: E2EServer, tenant: str = "atlastel", query: str = "") -> str:
    return f"{server.base_url}/demo/{tenant}{query}"


def host_page(server: E2EServer, lang: str, dir_: str = "ltr", attrs: str = "") -> str:
    """A bare client page on the server's origin, with the one-tag embed."""
    key = server.tenants["atlastel"].publishable_key
    return (
        f'<!doctype html><html lang="{lang}" dir="{dir_}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>Client</title></head><body><h1>Client</h1><p>Page du client.</p>"
        f'<script src="/widget.js" data-key="{key}" {attrs} async></script></body></html>'
    )


def serve(page: Page, server: E2EServer, html: str, path: str = "/client/page.html") -> str:
    url = f"{server.base_url}{path}"
    page.route(url, lambda route: route.fulfill(status=200, content_type="text/html", body=html))
    return url


def widget(page: Page, testid: str) -> Locator:
    return page.locator(f"[data-testid={testid}]")


def open_chat(page: Page) -> None:
    widget(page, "rafiq-launcher").click()
    expect(widget(page, "rafiq-panel")).to_be_visible()
    expect(widget(page, "rafiq-disclosure")).to_be_visible()


def ask(page: Page, text: str) -> None:
    expect(widget(page, "rafiq-send")).to_be_disabled()  # nothing typed yet
    widget(page, "rafiq-input").fill(text)
    widget(page, "rafiq-input").press("Enter")


def bots(page: Page) -> Locator:
    return page.locator("[data-testid=rafiq-message][data-role=bot]")


def answered(page: Page, count: int) -> Locator:
    """The bot's answer number ``count`` (greeting excluded), once it is done."""
    answer = bots(page).nth(count)  # bots(page).nth(0) is the greeting
    expect(answer).to_have_attribute("data-state", "done", timeout=ANSWER_TIMEOUT_MS)
    return answer


def streamed_answer(page: Page, question: str, shoot: Shoot | None = None) -> tuple[str, Locator]:
    """Asks ``question``; returns the partial text seen while streaming and the answer."""
    ask(page, question)
    partial = str(page.wait_for_function(STREAMING_TEXT, polling=20, timeout=20_000).json_value())
    if shoot is not None:
        shoot(page, "streaming")
    count = bots(page).count()
    return partial, answered(page, count - 1)


def direction(locator: Locator) -> str:
    return str(locator.evaluate("el => getComputedStyle(el).direction"))


def bubbles(page: Page) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = page.evaluate(BUBBLES)
    return found


def staff(server: E2EServer, tenant: str = "atlastel") -> httpx.Client:
    token = server.tenants[tenant].adviser_token
    return httpx.Client(
        base_url=server.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def conversation_id(page: Page) -> str:
    stored: str = page.evaluate(
        "() => JSON.parse(Object.entries(localStorage).find(([k]) => k.startsWith('rafiq:'))[1]).id"
    )
    return stored


def waiting_handoff(client: httpx.Client, conversation: str) -> str:
    handoffs = client.get("/v1/handoffs", params={"status": "waiting"}).json()["handoffs"]
    return str(next(h["id"] for h in handoffs if h["conversation_id"] == conversation))


def test_a_french_customer_sees_the_answer_stream_in_then_its_source(
    page: Page, e2e_server: E2EServer, shoot: Shoot
) -> None:
    page.goto(demo(e2e_server))
    expect(widget(page, "rafiq-launcher")).to_be_visible()
    assert page.evaluate("() => localStorage.length") == 0, "no conversation before the panel opens"
    shoot(page, "atlastel-home", full_page=True)
    open_chat(page)
    panel = widget(page, "rafiq-panel")
    expect(panel).to_have_attribute("dir", "ltr")
    expect(panel).to_have_attribute("lang", "fr")
    expect(widget(page, "rafiq-disclosure")).to_contain_text("intelligence artificielle")
    expect(widget(page, "rafiq-launcher")).to_have_css("background-color", "rgb(11, 92, 173)")

    partial, answer = streamed_answer(page, FRENCH_QUESTION, shoot)
    final = answer.locator("[data-testid=rafiq-text]").inner_text()
    assert len(final) > len(partial)
    assert final.split()[:3] == partial.split()[:3], (partial, final)
    assert "[" not in final, "the final text carries no citation markers"
    expect(answer).to_have_attribute("data-message-id", re.compile(r"^m_\w+"))
    expect(answer).to_have_attribute("dir", "ltr")
    assert direction(answer) == "ltr"
    citations = answer.locator("[data-testid=rafiq-citation]")
    expect(citations.first).to_be_visible()
    citations.first.click()
    expect(citations.first).to_have_attribute("aria-expanded", "true")
    expect(answer.locator("[data-testid=rafiq-citations]")).to_contain_text("faq_fr.md")
    expect(answer.locator("[data-testid=rafiq-citations]")).not_to_contain_text("null")
    customer = page.locator("[data-testid=rafiq-message][data-role=customer]")
    expect(customer).to_have_count(1)
    expect(customer).to_have_attribute("dir", "ltr")
    expect(widget(page, "rafiq-status")).to_have_attribute("data-status", "bot")
    shoot(page, "french-answer")


def test_an_arabic_customer_gets_a_right_to_left_answer_in_a_mirrored_panel(
    page: Page, e2e_server: E2EServer, shoot: Shoot
) -> None:
    page.goto(serve(page, e2e_server, host_page(e2e_server, "ar", "rtl")))
    open_chat(page)
    panel = widget(page, "rafiq-panel")
    expect(panel).to_have_attribute("dir", "rtl")
    expect(panel).to_have_attribute("lang", "ar")
    assert direction(panel) == "rtl"
    viewport = page.viewport_size
    assert viewport is not None
    launcher = widget(page, "rafiq-launcher").bounding_box()
    box = panel.bounding_box()
    assert launcher is not None and box is not None
    assert launcher["x"] < viewport["width"] / 2, "the launcher sits bottom-left in Arabic"
    assert box["x"] < viewport["width"] / 2
    expect(widget(page, "rafiq-disclosure")).to_contain_text("الذكاء الاصطناعي")

    partial, answer = streamed_answer(page, ARABIC_QUESTION)
    assert any("\u0600" <= ch <= "\u06ff" for ch in partial)
    expect(answer).to_have_attribute("dir", "rtl")
    assert direction(answer) == "rtl"
    assert direction(answer.locator("[data-testid=rafiq-text] p").first) == "rtl"
    expect(answer.locator("[data-testid=rafiq-citation]").first).to_be_visible()
    customer = page.locator("[data-testid=rafiq-message][data-role=customer]")
    assert direction(customer) == "rtl"
    send = widget(page, "rafiq-send").bounding_box()
    field = widget(page, "rafiq-input").bounding_box()
    assert send is not None and field is not None
    assert send["x"] < field["x"], "the send button is on the left of the field in Arabic"
    shoot(page, "arabic-answer")
    page.set_viewport_size({"width": 390, "height": 760})
    shoot(page, "arabic-mobile")


def test_each_bubble_takes_the_direction_of_its_own_text(page: Page, e2e_server: E2EServer) -> None:
    page.goto(demo(e2e_server, query="?chat=en"))
    open_chat(page)
    expect(widget(page, "rafiq-panel")).to_have_attribute("lang", "en")
    ask(page, "salam, bghit nchouf la facture dyali")  # Arabizi: left to right
    answered(page, 1)
    ask(page, "Atlas&Moi: كيف أعرف رصيدي وما تبقى من استهلاكي؟")  # Arabic after a Latin name
    answered(page, 2)
    customers = page.locator("[data-testid=rafiq-message][data-role=customer]")
    expect(customers.nth(0)).to_have_attribute("dir", "ltr")
    expect(customers.nth(1)).to_have_attribute("dir", "rtl")
    style = customers.nth(1).locator("p").first.evaluate("p => getComputedStyle(p).unicodeBidi")
    assert style == "plaintext"


def test_a_reload_keeps_the_conversation_without_duplicates(
    page: Page, e2e_server: E2EServer, shoot: Shoot
) -> None:
    page.goto(demo(e2e_server))
    open_chat(page)
    ask(page, FRENCH_QUESTION)
    answered(page, 1)
    page.wait_for_function(
        f"() => {SHADOW}.querySelectorAll('[data-role=customer][data-message-id]').length === 1"
    )
    before = bubbles(page)

    page.reload()
    expect(widget(page, "rafiq-panel")).to_be_visible()  # it was open: it opens again
    expect(bots(page).nth(1)).to_have_attribute("data-state", "done")
    page.wait_for_timeout(1500)  # the live stream is connected and has had time to replay
    after = bubbles(page)
    assert after == before
    ids = [b["id"] for b in after]
    assert None not in ids and len(set(ids)) == len(ids)
    expect(widget(page, "rafiq-disclosure")).to_have_count(1)
    expect(bots(page).nth(1).locator("[data-testid=rafiq-citation]").first).to_be_visible()

    ask(page, "Et par prélèvement automatique ?")
    answered(page, 2)
    ids = [b["id"] for b in bubbles(page)]
    assert len(ids) == len(before) + 2 and len(set(ids)) == len(ids)
    shoot(page, "after-reload")


def test_a_message_typed_while_the_chat_opens_comes_after_the_greeting(
    page: Page, e2e_server: E2EServer
) -> None:
    def slowly(route: BrowserRoute) -> None:
        page.wait_for_timeout(800)  # the customer types faster than the chat opens
        route.continue_()

    page.route("**/v1/conversations", slowly)
    page.goto(demo(e2e_server))
    widget(page, "rafiq-launcher").click()
    widget(page, "rafiq-input").fill(FRENCH_QUESTION)
    widget(page, "rafiq-input").press("Enter")
    answered(page, 1)
    assert [b["role"] for b in bubbles(page)] == ["bot", "customer", "bot"]
    first = page.locator("[data-testid=rafiq-messages] > *").first
    expect(first).to_have_attribute("data-testid", "rafiq-disclosure")


def test_a_rejected_token_starts_a_fresh_conversation(page: Page, e2e_server: E2EServer) -> None:
    page.goto(demo(e2e_server))
    open_chat(page)
    first = conversation_id(page)
    page.evaluate(
        "() => { const k = Object.keys(localStorage).find(k => k.startsWith('rafiq:'));"
        " const v = JSON.parse(localStorage[k]); v.token = 'ct_revoked';"
        " localStorage[k] = JSON.stringify(v); }"
    )
    page.reload()
    expect(widget(page, "rafiq-disclosure")).to_be_visible()
    assert conversation_id(page) != first
    expect(widget(page, "rafiq-disclosure")).to_have_count(1)


HOSTILE_CSS = """
html { font-size: 31px !important; }
* { font-family: "Courier New", monospace !important; color: #f00 !important;
    line-height: 3 !important; letter-spacing: 4px !important; box-sizing: content-box !important;
    text-transform: uppercase !important; }
button { background: lime !important; padding: 40px !important; border: 6px dashed red !important;
    border-radius: 0 !important; width: 300px !important; }
p { font-size: 40px !important; margin: 50px !important; }
div { border: 3px solid red !important; padding: 20px !important; transform: rotate(1deg); }
textarea { background: yellow !important; font-size: 30px !important; }
svg { width: 200px !important; }
body > div:last-child { display: inline !important; position: static !important; }
"""
WIDGET_STYLES = f"""() => {{
  const root = {SHADOW};
  const pick = (sel, props) => {{
    const el = root.querySelector(sel); const cs = getComputedStyle(el);
    const box = el.getBoundingClientRect();
    return Object.fromEntries([...props.map(p => [p, cs.getPropertyValue(p)]),
      ['width', Math.round(box.width)], ['height', Math.round(box.height)]]);
  }};
  const text = ['font-family', 'font-size', 'color', 'line-height', 'letter-spacing',
    'text-transform', 'margin-top', 'padding-top', 'box-sizing'];
  return {{
    launcher: pick('[data-testid=rafiq-launcher]',
      [...text, 'background-color', 'border-top-width', 'position', 'right', 'bottom']),
    panel: pick('[data-testid=rafiq-panel]', [...text, 'border-top-width', 'transform']),
    input: pick('[data-testid=rafiq-input]', [...text, 'background-color']),
    send: pick('[data-testid=rafiq-send]', [...text, 'background-color']),
    bubble: pick('[data-testid=rafiq-message][data-role=bot] [data-testid=rafiq-text] p', text),
    disclosure: pick('[data-testid=rafiq-disclosure]', text),
  }};
}}"""
HOST_STYLES = """() => {
  const pick = (el) => { const cs = getComputedStyle(el);
    return ['font-family', 'font-size', 'color', 'background-color', 'line-height', 'margin-top',
            'padding-top', 'direction', 'overflow'].map(p => cs.getPropertyValue(p)); };
  return {
    elements: ['html', 'body', 'h1', 'p', 'a', 'button', 'header', '.btn', 'footer']
      .map(s => document.querySelector(s)).filter(Boolean).map(pick),
    sheets: document.styleSheets.length,
    head: document.head.children.length,
    htmlAttrs: [...document.documentElement.attributes].map(a => a.name + '=' + a.value),
    bodyAttrs: [...document.body.attributes].map(a => a.name + '=' + a.value),
    bodyChildren: document.body.children.length,
  };
}"""


def test_host_page_css_and_the_widget_leave_each_other_alone(
    page: Page, e2e_server: E2EServer, shoot: Shoot
) -> None:
    page.route("**/widget.js", lambda route: route.abort())
    page.goto(demo(e2e_server))
    without_widget = page.evaluate(HOST_STYLES)
    globals_before = set(page.evaluate("() => Object.keys(window)"))
    page.unroute("**/widget.js")

    page.goto(demo(e2e_server))
    open_chat(page)
    ask(page, FRENCH_QUESTION)
    answered(page, 1)
    with_widget = page.evaluate(HOST_STYLES)
    assert with_widget["elements"] == without_widget["elements"]
    assert with_widget["sheets"] == without_widget["sheets"]
    assert with_widget["head"] == without_widget["head"]
    assert with_widget["htmlAttrs"] == without_widget["htmlAttrs"]
    assert with_widget["bodyAttrs"] == without_widget["bodyAttrs"]
    assert with_widget["bodyChildren"] == without_widget["bodyChildren"] + 1
    assert set(page.evaluate("() => Object.keys(window)")) <= globals_before

    clean = page.evaluate(WIDGET_STYLES)
    page.add_style_tag(content=HOSTILE_CSS)
    hostile = page.evaluate(WIDGET_STYLES)
    assert hostile == clean
    assert "Courier" not in clean["bubble"]["font-family"]
    box = widget(page, "rafiq-launcher").bounding_box()
    viewport = page.viewport_size
    assert box is not None and viewport is not None
    assert box["x"] + box["width"] > viewport["width"] - 40, "still fixed bottom-right"

    page.add_script_tag(url=f"{e2e_server.base_url}/widget.js")  # a second copy of the tag
    page.wait_for_timeout(300)
    assert page.locator("#rafiq-widget").count() == 1
    shoot(page, "hostile-css")


def test_feedback_toggles_and_persists(page: Page, e2e_server: E2EServer, shoot: Shoot) -> None:
    page.goto(demo(e2e_server, "yusr"))
    shoot(page, "yusr-home", full_page=True)
    open_chat(page)
    answer = streamed_answer(page, "Quels types de crédit propose Yusr Crédit ?")[1]
    message_id = answer.get_attribute("data-message-id")
    up = answer.locator("[data-testid=rafiq-feedback-up]")
    down = answer.locator("[data-testid=rafiq-feedback-down]")
    expect(up).to_have_attribute("aria-pressed", "false")
    expect(bots(page).first.locator("[data-testid=rafiq-feedback-up]")).to_have_count(0)

    def stored() -> str | None:
        with e2e_server.container.sessions() as session:
            return session.scalar(
                select(FeedbackRow.rating).where(FeedbackRow.message_id == message_id)
            )

    up.click()
    expect(up).to_have_attribute("aria-pressed", "true")
    expect(down).to_have_attribute("aria-pressed", "false")
    page.wait_for_function(f"() => {SHADOW}.querySelector('.thanks').textContent !== ''")
    assert stored() == "up"
    down.click()
    expect(down).to_have_attribute("aria-pressed", "true")
    expect(up).to_have_attribute("aria-pressed", "false")
    page.wait_for_timeout(300)
    assert stored() == "down"

    page.reload()
    expect(widget(page, "rafiq-panel")).to_be_visible()
    answer = page.locator(f"[data-testid=rafiq-message][data-message-id={message_id}]")
    expect(answer.locator("[data-testid=rafiq-feedback-down]")).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(answer.locator("[data-testid=rafiq-feedback-up]")).to_have_attribute(
        "aria-pressed", "false"
    )


def test_a_message_sent_offline_is_delivered_once_when_the_network_returns(
    page: Page, e2e_server: E2EServer
) -> None:
    page.goto(demo(e2e_server))
    open_chat(page)
    ask(page, FRENCH_QUESTION)
    answered(page, 1)
    connection = widget(page, "rafiq-connection")
    expect(connection).to_have_attribute("data-state", "online")

    page.context.set_offline(True)
    expect(connection).to_have_attribute("data-state", "offline")
    expect(connection).to_be_visible()
    ask(page, "Comment activer le roaming avant un voyage à l'étranger ?")
    customer = page.locator("[data-testid=rafiq-message][data-role=customer]").nth(1)
    expect(customer).to_have_attribute("data-delivery", "sending")
    page.wait_for_timeout(1500)
    page.context.set_offline(False)
    expect(connection).to_have_attribute("data-state", "online", timeout=10_000)
    expect(connection).to_be_hidden()
    answered(page, 2)
    page.wait_for_timeout(1000)

    roles = [b["role"] for b in bubbles(page)]
    assert roles == ["bot", "customer", "bot", "customer", "bot"], roles
    ids = [b["id"] for b in bubbles(page)]
    assert len(set(ids)) == len(ids)
    transcript = httpx.get(
        f"{e2e_server.base_url}/v1/conversations/{conversation_id(page)}/messages",
        headers={"Authorization": f"Bearer {page.evaluate(_TOKEN)}"},
    ).json()["messages"]
    assert [m["role"] for m in transcript].count("customer") == 2


def test_an_answer_lost_on_the_way_is_fetched_again_not_asked_twice(
    page: Page, e2e_server: E2EServer
) -> None:
    sent: list[str] = []

    def lose_the_first_answer(route: BrowserRoute) -> None:
        if route.request.method != "POST":
            route.continue_()
            return
        body = route.request.post_data_json
        assert isinstance(body, dict)
        sent.append(body["client_message_id"])
        if len(sent) == 1:
            route.fetch()  # the server runs the whole turn...
            route.abort("connectionreset")  # ...and the answer never reaches the browser
        else:
            route.continue_()

    page.goto(demo(e2e_server))
    open_chat(page)
    page.route("**/v1/conversations/*/messages", lose_the_first_answer)
    ask(page, FRENCH_QUESTION)
    answer = answered(page, 1)
    expect(answer.locator("[data-testid=rafiq-citation]").first).to_be_visible()
    assert len(sent) == 2 and sent[0] == sent[1], "the retry carries the same client id"
    transcript = httpx.get(
        f"{e2e_server.base_url}/v1/conversations/{conversation_id(page)}/messages",
        headers={"Authorization": f"Bearer {page.evaluate(_TOKEN)}"},
    ).json()["messages"]
    assert [m["role"] for m in transcript] == ["bot", "bot", "customer", "bot"]
    assert answer.get_attribute("data-message-id") == transcript[-1]["id"]
    page.wait_for_timeout(500)
    assert [b["role"] for b in bubbles(page)] == ["bot", "customer", "bot"]


def test_an_answer_cut_off_midway_is_asked_again_and_shown_once(
    page: Page, e2e_server: E2EServer
) -> None:
    """The server finishes a turn whose stream was cut: the widget's retry under the same
    client id gets that answer, and the conversation holds the question once."""
    sent: list[str] = []

    def cut_the_first_answer(route: BrowserRoute) -> None:
        if route.request.method != "POST":
            route.continue_()
            return
        body = route.request.post_data_json
        assert isinstance(body, dict)
        sent.append(body["client_message_id"])
        if len(sent) == 1:
            with contextlib.suppress(PlaywrightError):
                route.fetch(timeout=700)  # the connection drops while the answer streams
            route.abort("connectionreset")
        else:
            route.continue_()

    page.goto(demo(e2e_server))
    open_chat(page)
    page.route("**/v1/conversations/*/messages", cut_the_first_answer)
    ask(page, FRENCH_QUESTION)
    answer = bots(page).nth(1)
    expect(answer).to_have_attribute("data-state", "done", timeout=60_000)
    assert len(sent) >= 2 and len(set(sent)) == 1, sent
    page.wait_for_timeout(500)
    assert [b["role"] for b in bubbles(page)] == ["bot", "customer", "bot"]
    ids = [b["id"] for b in bubbles(page)]
    assert None not in ids and len(set(ids)) == 3
    transcript = httpx.get(
        f"{e2e_server.base_url}/v1/conversations/{conversation_id(page)}/messages",
        headers={"Authorization": f"Bearer {page.evaluate(_TOKEN)}"},
    ).json()["messages"]
    assert [m["role"] for m in transcript] == ["bot", "bot", "customer", "bot"]


_TOKEN = (
    "() => JSON.parse(Object.entries(localStorage).find(([k]) => k.startsWith('rafiq:'))[1]).token"
)


def test_an_adviser_takes_over_and_messages_sent_while_offline_arrive_once(
    page: Page, e2e_server: E2EServer, shoot: Shoot
) -> None:
    with staff(e2e_server) as adviser:
        adviser.get("/v1/handoffs", params={"status": "waiting"})  # an adviser is present
        page.goto(demo(e2e_server))
        open_chat(page)
        widget(page, "rafiq-handoff").click()
        status = widget(page, "rafiq-status")
        expect(status).to_have_attribute("data-status", "waiting_human")
        expect(widget(page, "rafiq-handoff-cancel")).to_be_visible()
        expect(widget(page, "rafiq-handoff")).to_be_hidden()
        expect(status).to_contain_text("Position dans la file")
        shoot(page, "waiting")

        handoff = waiting_handoff(adviser, conversation_id(page))
        assert adviser.post(f"/v1/handoffs/{handoff}/claim").status_code == 200
        expect(status).to_have_attribute("data-status", "human")
        widget(page, "rafiq-close").click()
        reply = adviser.post(
            f"/v1/handoffs/{handoff}/messages",
            json={
                "text": "Bonjour, je suis Salma. Je regarde votre dossier.",
                "client_message_id": "a-1",
            },
        )
        assert reply.status_code == 201
        badge = page.locator(".badge")
        expect(badge).to_have_text("1")  # the panel is closed: the launcher shows it
        open_chat(page)
        expect(badge).to_be_hidden()
        adviser_bubbles = page.locator("[data-testid=rafiq-message][data-role=adviser]")
        expect(adviser_bubbles).to_have_count(1)

        page.context.set_offline(True)
        expect(widget(page, "rafiq-connection")).to_have_attribute("data-state", "offline")
        adviser.post(
            f"/v1/handoffs/{handoff}/messages",
            json={"text": "Votre paiement est bien enregistré.", "client_message_id": "a-2"},
        )
        page.wait_for_timeout(500)
        page.context.set_offline(False)
        expect(widget(page, "rafiq-connection")).to_have_attribute(
            "data-state", "online", timeout=10_000
        )
        expect(adviser_bubbles).to_have_count(2)
        expect(adviser_bubbles.nth(1)).to_contain_text("bien enregistré")

        bots_before = bots(page).count()
        ask(page, "Merci beaucoup !")
        customer = page.locator("[data-testid=rafiq-message][data-role=customer]").last
        expect(customer).to_have_attribute("data-message-id", re.compile(r"^m_\w+"))
        page.wait_for_timeout(800)
        assert bots(page).count() == bots_before, "no bot answer while an adviser has it"
        ids = [b["id"] for b in bubbles(page)]
        assert len(set(ids)) == len(ids)
        detail = adviser.get(f"/v1/handoffs/{handoff}").json()
        assert detail["transcript"][-1]["text"] == "Merci beaucoup !"
        shoot(page, "adviser")

        resolved = adviser.post(
            f"/v1/handoffs/{handoff}/resolve",
            json={"resolution": "Paiement confirmé", "return_to_bot": True},
        )
        assert resolved.status_code == 200
        expect(status).to_have_attribute("data-status", "bot")
        expect(status).to_be_visible()  # "back with the virtual assistant", for a moment
        expect(widget(page, "rafiq-handoff")).to_be_visible()
        shoot(page, "back-to-bot")


def test_a_conversation_the_adviser_closes_can_be_followed_by_a_new_one(
    page: Page, e2e_server: E2EServer, shoot: Shoot
) -> None:
    with staff(e2e_server, "yusr") as adviser:
        page.goto(demo(e2e_server, "yusr", "?chat=ar"))
        open_chat(page)
        ask(page, "ما هي أنواع القروض التي تقدمها يسر للقروض؟")
        answered(page, 1)
        widget(page, "rafiq-handoff").click()
        status = widget(page, "rafiq-status")
        expect(status).to_have_attribute("data-status", "waiting_human")
        first = conversation_id(page)
        handoff = waiting_handoff(adviser, first)
        assert adviser.post(f"/v1/handoffs/{handoff}/claim").status_code == 200
        adviser.post(
            f"/v1/handoffs/{handoff}/messages",
            json={
                "text": "مرحبا، معكم سلمى من خدمة الزبناء. تم تسجيل طلبكم.",
                "client_message_id": "y-1",
            },
        )
        reply = page.locator("[data-testid=rafiq-message][data-role=adviser]")
        expect(reply).to_have_attribute("dir", "rtl")
        resolved = adviser.post(
            f"/v1/handoffs/{handoff}/resolve",
            json={"resolution": "Information donnée", "return_to_bot": False},
        )
        assert resolved.status_code == 200
        expect(status).to_have_attribute("data-status", "closed")
        expect(widget(page, "rafiq-input")).to_be_disabled()
        expect(widget(page, "rafiq-handoff")).to_be_hidden()
        shoot(page, "closed")

        status.get_by_role("button").click()
        expect(status).to_have_attribute("data-status", "bot")
        expect(widget(page, "rafiq-disclosure")).to_have_count(1)
        expect(widget(page, "rafiq-input")).to_be_enabled()
        expect(page.locator("[data-testid=rafiq-message][data-role=customer]")).to_have_count(0)
        assert conversation_id(page) != first


def test_asking_for_a_human_in_a_message_escalates_and_can_be_cancelled(
    page: Page, e2e_server: E2EServer, shoot: Shoot
) -> None:
    page.goto(demo(e2e_server, "yusr"))
    open_chat(page)
    ask(page, "Je veux parler à un conseiller s'il vous plaît")
    answer = answered(page, 1)
    expect(answer).not_to_contain_text("[")
    status = widget(page, "rafiq-status")
    expect(status).to_have_attribute("data-status", "waiting_human")
    expect(status).to_be_visible()
    expect(answer.locator("[data-testid=rafiq-feedback-up]")).to_have_count(0)
    expect(page.locator("[data-testid=rafiq-message][data-role=system]").first).to_be_visible()
    shoot(page, "escalated")

    widget(page, "rafiq-handoff-cancel").click()
    expect(status).to_have_attribute("data-status", "bot")
    expect(widget(page, "rafiq-handoff")).to_be_visible()
    ask(page, "Puis-je rembourser mon crédit par anticipation ?")
    expect(answered(page, 2).locator("[data-testid=rafiq-citation]").first).to_be_visible()


def test_too_long_a_message_is_explained_in_the_customers_language(
    page: Page, e2e_server: E2EServer
) -> None:
    page.goto(demo(e2e_server))
    open_chat(page)
    expect(widget(page, "rafiq-input")).to_have_attribute("maxlength", "4000")
    widget(page, "rafiq-input").evaluate("el => { el.value = 'a'.repeat(4100); }")
    widget(page, "rafiq-input").press("Enter")
    alert = page.locator("[role=alert]")
    expect(alert).to_contain_text("trop long")
    expect(page.locator("[data-testid=rafiq-message][data-role=customer]")).to_have_count(0)
    assert len(widget(page, "rafiq-input").input_value()) == 4100, "the text is given back"


def test_on_a_phone_the_panel_fills_the_screen(
    page: Page, e2e_server: E2EServer, shoot: Shoot
) -> None:
    page.set_viewport_size({"width": 390, "height": 760})
    page.goto(demo(e2e_server, "yusr"))
    shoot(page, "mobile-closed")
    open_chat(page)
    box = widget(page, "rafiq-panel").bounding_box()
    assert box == {"x": 0, "y": 0, "width": 390, "height": 760}
    expect(widget(page, "rafiq-launcher")).to_be_hidden()
    ask(page, "Quels documents faut-il fournir pour une demande de prêt personnel ?")
    answered(page, 1)
    width = page.evaluate(f"() => {SHADOW}.querySelector('.messages').scrollWidth")
    assert width <= 390, "nothing overflows sideways"
    shoot(page, "mobile")
    widget(page, "rafiq-close").click()
    expect(widget(page, "rafiq-panel")).to_be_hidden()
    expect(widget(page, "rafiq-launcher")).to_be_visible()


def test_the_keyboard_alone_opens_uses_and_closes_the_chat(
    page: Page, e2e_server: E2EServer, shoot: Shoot
) -> None:
    page.goto(serve(page, e2e_server, host_page(e2e_server, "fr")))
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate(FOCUSED) == "rafiq-launcher":
            break
    assert page.evaluate(FOCUSED) == "rafiq-launcher"
    expect(widget(page, "rafiq-launcher")).to_have_attribute("aria-expanded", "false")
    page.keyboard.press("Enter")
    expect(widget(page, "rafiq-panel")).to_be_visible()
    expect(widget(page, "rafiq-launcher")).to_have_attribute("aria-expanded", "true")
    assert page.evaluate(FOCUSED) == "rafiq-input"
    expect(widget(page, "rafiq-messages")).to_have_attribute("role", "log")
    expect(widget(page, "rafiq-messages")).to_have_attribute("aria-live", "polite")
    expect(widget(page, "rafiq-disclosure")).to_be_visible()
    page.keyboard.type("Ma connexion Internet ne fonctionne plus")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("que faire ?")
    assert "\n" in widget(page, "rafiq-input").input_value()
    page.keyboard.press("Enter")
    answered(page, 1)
    page.keyboard.press("Shift+Tab")
    assert page.evaluate(FOCUSED) == "rafiq-handoff"
    outline = widget(page, "rafiq-handoff").evaluate("el => getComputedStyle(el).outlineStyle")
    assert outline == "solid", "a visible focus ring"
    shoot(page, "keyboard-focus")
    page.keyboard.press("Escape")
    expect(widget(page, "rafiq-panel")).to_be_hidden()
    assert page.evaluate(FOCUSED) == "rafiq-launcher"


@pytest.fixture
def client_site(e2e_server: E2EServer) -> Iterator[str]:
    """A client's own site, served from another origin than the API and listed in the
    tenant's ``allowed_origins`` for the duration of the test."""
    html = host_page(e2e_server, "fr").replace(
        'src="/widget.js"', f'src="{e2e_server.base_url}/widget.js"'
    )
    shop = Starlette(routes=[Route("/", lambda _: HTMLResponse(html))])
    admin = {"Authorization": f"Bearer {e2e_server.tenants['atlastel'].admin_token}"}
    settings = f"{e2e_server.base_url}/v1/tenant/settings"
    before = httpx.get(settings, headers=admin).json()["allowed_origins"]
    with live_server(shop) as site:
        httpx.patch(settings, headers=admin, json={"allowed_origins": [*before, site]})
        preflight = {"Origin": site, "Access-Control-Request-Method": "POST"}
        deadline = time.monotonic() + 15
        conversations = f"{e2e_server.base_url}/v1/conversations"
        while httpx.options(conversations, headers=preflight).status_code != 204:
            assert time.monotonic() < deadline, "the tenant's origins were not reloaded"
            time.sleep(0.25)
        try:
            yield f"{site}/"
        finally:
            httpx.patch(settings, headers=admin, json={"allowed_origins": before or None})


def test_the_widget_works_embedded_on_the_clients_own_site(
    page: Page, e2e_server: E2EServer, client_site: str
) -> None:
    page.goto(client_site)
    open_chat(page)
    answer = streamed_answer(page, FRENCH_QUESTION)[1]
    expect(answer.locator("[data-testid=rafiq-citation]").first).to_be_visible()
    page.wait_for_function(
        f"() => {SHADOW}.querySelectorAll('[data-role=customer][data-message-id]').length === 1"
    )  # matched through the live events stream, which runs cross-origin too
    widget(page, "rafiq-handoff").click()
    expect(widget(page, "rafiq-status")).to_have_attribute("data-status", "waiting_human")


def test_a_customer_on_the_clients_site_can_cancel_waiting(
    page: Page, e2e_server: E2EServer, client_site: str
) -> None:
    page.goto(client_site)
    open_chat(page)
    widget(page, "rafiq-handoff").click()
    status = widget(page, "rafiq-status")
    expect(status).to_have_attribute("data-status", "waiting_human")
    widget(page, "rafiq-handoff-cancel").click()
    expect(status).to_have_attribute("data-status", "bot")


def test_a_tenant_without_its_own_demo_page_gets_the_generic_one(
    page: Page, e2e_server: E2EServer, shoot: Shoot
) -> None:
    tenant, _ = e2e_server.container.tenants.create("zitouna", "Zitouna & Fils Assurances")
    page.goto(demo(e2e_server, tenant.name))
    expect(page).to_have_title("Zitouna & Fils Assurances · Assistance en ligne")
    open_chat(page)
    expect(page.locator(".title")).to_have_text("Zitouna & Fils Assurances")
    expect(bots(page).first).to_contain_text("Zitouna & Fils Assurances")
    shoot(page, "generic")
