"""The adviser console in a real browser, against a real server.

Customers are played from Python over HTTP (the widget is not needed to escalate); the
adviser works in Chromium. Every test makes its own conversations, because the server and
its queue are shared by the whole session.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserContext, Locator, Page, Route, expect

from tests.e2e.conftest import E2EServer

Json = dict[str, Any]
Shoot = Callable[..., Path]

TIMEOUT_MS = 20_000
FRAUD_FR = "Quelqu'un a utilisé ma carte sans mon autorisation"
HUMAN_FR = "Je veux parler à un conseiller"
BILL_AR = "كيف يمكنني دفع فاتورتي؟"
HUMAN_AR = "أريد التحدث مع مستشار من فضلك"


@pytest.fixture
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    # A laptop screen, the narrowest width the console is designed for in full.
    return {**browser_context_args, "viewport": {"width": 1280, "height": 800}, "locale": "fr-FR"}


@pytest.fixture
def http(e2e_server: E2EServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=e2e_server.base_url, timeout=60) as client:
        yield client


@dataclass
class Customer:
    http: httpx.Client
    id: str
    token: str

    @classmethod
    def open(cls, http: httpx.Client, server: E2EServer, tenant: str, locale: str) -> Customer:
        response = http.post(
            "/v1/conversations",
            headers={"X-Rafiq-Key": server.tenants[tenant].publishable_key},
            json={"locale": locale},
        )
        assert response.status_code == 201, response.text
        body = response.json()
        return cls(http, body["id"], body["token"])

    def say(self, text: str) -> httpx.Response:
        return self.http.post(
            f"/v1/conversations/{self.id}/messages",
            headers={"Authorization": f"Bearer {self.token}"},
            json={"text": text},
        )

    def escalate(self, text: str) -> str:
        """Says ``text``, which must reach an adviser; the handoff's id."""
        response = self.say(text)
        assert response.status_code == 200, response.text
        turn = response.json()
        assert turn["action"] == "escalate", turn
        handoff_id: str = turn["escalation"]["handoff_id"]
        return handoff_id

    def messages(self) -> list[Json]:
        response = self.http.get(
            f"/v1/conversations/{self.id}/messages",
            headers={"Authorization": f"Bearer {self.token}"},
        )
        assert response.status_code == 200, response.text
        messages: list[Json] = response.json()["messages"]
        return messages


def staff(http: httpx.Client, token: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
    return http.request(method, path, headers={"Authorization": f"Bearer {token}"}, **kwargs)


def sign_in(page: Page, server: E2EServer, token: str) -> None:
    page.goto(f"{server.base_url}/console/")
    page.get_by_test_id("console-token").fill(token)
    page.get_by_test_id("console-signin").click()
    expect(page.get_by_test_id("console-signout")).to_be_visible(timeout=TIMEOUT_MS)


def queue_item(page: Page, handoff_id: str) -> Locator:
    return page.locator(f'[data-testid=queue-item][data-handoff-id="{handoff_id}"]')


def queue_ids(page: Page) -> list[str]:
    ids: list[str] = page.eval_on_selector_all(
        "[data-testid=queue-item]", "items => items.map(i => i.dataset.handoffId)"
    )
    return ids


def collect_page_errors(page: Page) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def test_a_wrong_token_is_refused_and_the_advisers_token_opens_the_queue(
    page: Page, e2e_server: E2EServer, shoot: Shoot
) -> None:
    errors = collect_page_errors(page)
    page.goto(f"{e2e_server.base_url}/console/")
    expect(page.get_by_test_id("console-queue")).to_be_hidden()

    page.get_by_test_id("console-token").fill("st_this-token-was-never-issued")
    page.get_by_test_id("console-signin").click()
    error = page.get_by_test_id("console-error")
    expect(error).to_be_visible(timeout=TIMEOUT_MS)
    expect(error).to_contain_text("Jeton inconnu ou révoqué")
    shoot(page, "wrong-token")

    page.get_by_test_id("console-token").fill(e2e_server.tenants["atlastel"].adviser_token)
    page.get_by_test_id("console-signin").click()
    expect(page.get_by_test_id("console-queue")).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.get_by_test_id("console-error")).to_be_hidden()
    expect(page.get_by_test_id("queue-tab-waiting")).to_have_attribute("aria-selected", "true")
    assert page.evaluate("window.location.hash") == "#/queue"

    # The tabs follow the arrow keys, as a tab list should.
    page.get_by_test_id("queue-tab-waiting").focus()
    page.keyboard.press("ArrowRight")
    expect(page.get_by_test_id("queue-tab-active")).to_have_attribute("aria-selected", "true")
    expect(page.get_by_test_id("queue-tab-active")).to_be_focused()
    page.keyboard.press("ArrowLeft")

    # The token lives in this tab's session only, and survives a reload.
    page.reload()
    expect(page.get_by_test_id("console-queue")).to_be_visible(timeout=TIMEOUT_MS)
    page.get_by_test_id("console-signout").click()
    expect(page.get_by_test_id("console-token")).to_be_visible()
    assert page.evaluate("window.sessionStorage.getItem('rafiq.console.session')") is None
    assert not errors


def test_new_handoffs_arrive_live_in_priority_order(
    page: Page, e2e_server: E2EServer, http: httpx.Client, shoot: Shoot
) -> None:
    token = e2e_server.tenants["atlastel"].adviser_token
    streams: list[tuple[str, str | None]] = []

    def first_stream_fails(route: Route) -> None:
        # The first connection drops: the console must come back on its own.
        streams.append((route.request.url, route.request.headers.get("authorization")))
        if len(streams) == 1:
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/v1/handoffs/events*", first_stream_fails)
    sign_in(page, e2e_server, token)
    expect(page.locator("#live")).to_have_attribute("data-state", "live", timeout=TIMEOUT_MS)
    assert len(streams) >= 2
    # The token travels in a header, never in a URL that access logs would keep.
    assert all(auth == f"Bearer {token}" and token not in url for url, auth in streams)
    page.evaluate("window.__notReloaded = true")

    plain = Customer.open(http, e2e_server, "atlastel", "fr").escalate(HUMAN_FR)
    fraud = Customer.open(http, e2e_server, "atlastel", "fr").escalate(FRAUD_FR)

    expect(queue_item(page, plain)).to_be_visible(timeout=TIMEOUT_MS)
    expect(queue_item(page, fraud)).to_be_visible(timeout=TIMEOUT_MS)
    assert page.evaluate("window.__notReloaded") is True

    urgent = queue_item(page, fraud)
    expect(urgent).to_have_attribute("data-priority", "urgent")
    expect(urgent).to_have_attribute("data-category", "fraud")
    expect(urgent).to_have_attribute("data-language", "fr")
    expect(urgent).to_contain_text("Fraude")
    expect(urgent).to_contain_text("Urgente")
    expect(urgent).to_contain_text("français")
    expect(urgent).to_contain_text(re.compile(r"à l'instant|il y a \d+ min"))
    expect(queue_item(page, plain)).to_have_attribute("data-priority", "normal")
    expect(queue_item(page, plain)).to_contain_text("Demande de conseiller")
    # The urgent fraud comes first although it arrived last.
    ids = queue_ids(page)
    assert ids.index(fraud) < ids.index(plain)
    count = page.get_by_test_id("queue-tab-waiting").locator(".tab__count")
    assert int(count.inner_text()) == len(ids)
    shoot(page, "queue")


def test_an_adviser_takes_an_arabic_conversation_through_to_the_bot(
    page: Page, e2e_server: E2EServer, http: httpx.Client, shoot: Shoot
) -> None:
    atlastel = e2e_server.tenants["atlastel"]
    customer = Customer.open(http, e2e_server, "atlastel", "ar")
    answered = customer.say(BILL_AR)
    assert answered.status_code == 200 and answered.json()["citations"], answered.text
    handoff = customer.escalate(HUMAN_AR)

    errors = collect_page_errors(page)
    sign_in(page, e2e_server, atlastel.adviser_token)
    queue_item(page, handoff).click()
    view = page.get_by_test_id("handoff-view")
    expect(view).to_have_attribute("data-status", "waiting", timeout=TIMEOUT_MS)
    # Nothing can be sent before the handoff is taken.
    expect(page.get_by_test_id("reply-send")).to_be_disabled()
    expect(page.get_by_test_id("reply-text")).to_be_disabled()
    expect(page.get_by_test_id("resolve-send")).to_be_disabled()

    page.get_by_test_id("handoff-claim").click()
    expect(view).to_have_attribute("data-status", "active", timeout=TIMEOUT_MS)
    expect(page.get_by_test_id("handoff-claim")).to_be_hidden()
    expect(page.get_by_test_id("handoff-release")).to_be_enabled()
    expect(queue_item(page, handoff)).to_have_attribute("data-status", "active")

    expect(page.get_by_test_id("handoff-reason")).to_contain_text("conseiller")
    expect(page.get_by_test_id("handoff-summary")).not_to_be_empty()
    expect(page.get_by_test_id("handoff-category")).to_have_text("Demande de conseiller")
    expect(page.get_by_test_id("handoff-priority")).to_have_text("Normale")
    expect(page.get_by_test_id("handoff-language")).to_have_text("arabe")
    expect(page.get_by_test_id("handoff-citations")).to_contain_text(
        answered.json()["citations"][0]["source"]
    )

    transcript = page.get_by_test_id("transcript")
    question = transcript.locator("[data-testid=transcript-message][data-role=customer]").filter(
        has_text=BILL_AR
    )
    expect(question).to_have_attribute("dir", "rtl")
    assert question.evaluate("el => getComputedStyle(el).direction") == "rtl"
    assert transcript.locator("[data-role=bot]").count() >= 2
    assert transcript.locator("[data-role=system]").count() >= 1

    # The suggested reply is in the box, ready to edit; the model's draft may replace the
    # first suggestion a little later, and the untouched box follows it.
    reply = page.get_by_test_id("reply-text")
    expect(reply).to_be_enabled()
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while True:
        detail = staff(http, atlastel.adviser_token, "GET", f"/v1/handoffs/{handoff}").json()
        if detail["suggested_reply"] and reply.input_value() == detail["suggested_reply"]:
            break
        assert time.monotonic() < deadline, (reply.input_value(), detail["suggested_reply"])
        page.wait_for_timeout(250)

    # The customer writes while the adviser watches: the message appears without reload.
    follow_up = "رقم الفاتورة هو 2024-118"
    assert customer.say(follow_up).status_code == 202
    live = transcript.locator("[data-testid=transcript-message][data-role=customer]").filter(
        has_text=follow_up
    )
    expect(live).to_be_visible(timeout=TIMEOUT_MS)
    expect(live).to_have_attribute("dir", "rtl")
    page.wait_for_timeout(500)  # the arrival animation
    shoot(page, "arabic-transcript")

    answer = "Bonjour, votre facture est réglée : vous n'avez rien à payer ce mois-ci."
    reply.fill(answer)
    page.get_by_test_id("reply-send").click()
    sent = transcript.locator("[data-testid=transcript-message][data-role=adviser]").filter(
        has_text=answer
    )
    expect(sent).to_have_attribute("dir", "ltr", timeout=TIMEOUT_MS)
    expect(reply).to_have_value("")
    assert any(m["role"] == "adviser" and m["text"] == answer for m in customer.messages()), (
        customer.messages()
    )

    page.get_by_test_id("note-text").fill("Client rappelé : facture 2024-118 vérifiée.")
    page.get_by_test_id("note-send").click()
    expect(page.locator(".note")).to_contain_text("facture 2024-118 vérifiée", timeout=TIMEOUT_MS)
    notes = staff(http, atlastel.adviser_token, "GET", f"/v1/handoffs/{handoff}").json()["notes"]
    assert [n["text"] for n in notes] == ["Client rappelé : facture 2024-118 vérifiée."]

    page.get_by_test_id("resolve-text").fill("Facture vérifiée avec le client.")
    page.get_by_test_id("resolve-return-to-bot").check()
    page.get_by_test_id("resolve-send").click()
    expect(view).to_have_attribute("data-status", "resolved", timeout=TIMEOUT_MS)
    expect(
        page.get_by_test_id("console-toast").filter(has_text="rendue à l'assistant")
    ).to_be_visible()
    expect(page.get_by_test_id("reply-send")).to_be_disabled()
    expect(page.get_by_test_id("handoff-release")).to_be_hidden()
    shoot(page, "resolved")

    # Back with the bot: the customer's next question gets an answer, not a relay.
    again = customer.say(BILL_AR)
    assert again.status_code == 200, again.text
    assert again.json()["action"] in {"answer", "clarify"} and again.json()["text"]
    assert not errors


def test_the_adviser_who_loses_a_claim_is_told_a_colleague_took_it(
    page: Page, e2e_server: E2EServer, http: httpx.Client, shoot: Shoot
) -> None:
    colleague = e2e_server.container.tenants.create_user("atlastel", "adviser", "Samira").token
    handoff = Customer.open(http, e2e_server, "atlastel", "fr").escalate(HUMAN_FR)
    sign_in(page, e2e_server, e2e_server.tenants["atlastel"].adviser_token)
    page.goto(f"{e2e_server.base_url}/console/#/handoff/{handoff}")
    view = page.get_by_test_id("handoff-view")
    expect(view).to_have_attribute("data-status", "waiting", timeout=TIMEOUT_MS)

    def colleague_first(route: Route) -> None:
        # Samira's claim lands between this adviser's click and the server.
        won = staff(http, colleague, "POST", f"/v1/handoffs/{handoff}/claim")
        assert won.status_code == 200, won.text
        route.continue_()

    page.route(f"**/v1/handoffs/{handoff}/claim", colleague_first)
    page.get_by_test_id("handoff-claim").click()
    toast = page.get_by_test_id("console-toast").filter(has_text="collègue")
    expect(toast).to_be_visible(timeout=TIMEOUT_MS)
    expect(toast).to_contain_text("Un collègue vient de prendre cette demande en charge")
    expect(view).to_have_attribute("data-status", "active")
    expect(page.get_by_test_id("handoff-claim")).to_be_hidden()
    expect(page.get_by_test_id("reply-send")).to_be_disabled()
    expect(page.get_by_test_id("resolve-send")).to_be_disabled()
    expect(page.locator(".banner")).to_contain_text("Un collègue suit cette demande")
    page.wait_for_timeout(400)  # the toast's arrival
    shoot(page, "claim-lost")


def test_a_colleagues_claim_shows_up_live_in_the_open_handoff(
    page: Page, e2e_server: E2EServer, http: httpx.Client
) -> None:
    colleague = e2e_server.container.tenants.create_user("atlastel", "adviser", "Youssef").token
    handoff = Customer.open(http, e2e_server, "atlastel", "fr").escalate(HUMAN_FR)
    sign_in(page, e2e_server, e2e_server.tenants["atlastel"].adviser_token)
    page.goto(f"{e2e_server.base_url}/console/#/handoff/{handoff}")
    view = page.get_by_test_id("handoff-view")
    expect(view).to_have_attribute("data-status", "waiting", timeout=TIMEOUT_MS)
    expect(page.locator("#live")).to_have_attribute("data-state", "live", timeout=TIMEOUT_MS)

    assert staff(http, colleague, "POST", f"/v1/handoffs/{handoff}/claim").status_code == 200
    expect(view).to_have_attribute("data-status", "active", timeout=TIMEOUT_MS)
    expect(page.get_by_test_id("handoff-claim")).to_be_hidden()
    expect(page.get_by_test_id("reply-text")).to_be_disabled()
    expect(page.locator(".banner")).to_contain_text("Un collègue suit cette demande")
    expect(page.get_by_test_id("transcript")).to_contain_text("Youssef")


def test_a_revoked_token_ends_the_session_with_an_explanation(
    page: Page, e2e_server: E2EServer
) -> None:
    tenants = e2e_server.container.tenants
    token = tenants.create_user("atlastel", "adviser", "Karim-revoked").token
    sign_in(page, e2e_server, token)
    expect(page.get_by_test_id("console-queue")).to_be_visible()
    tenants.revoke_users_named("atlastel", "Karim-revoked")
    # Any next request finds out: a queue event, or the adviser refreshing.
    page.evaluate("document.getElementById('queue-refresh').click()")
    expect(page.get_by_test_id("console-error")).to_contain_text(
        "jeton a été révoqué", timeout=TIMEOUT_MS
    )
    expect(page.get_by_test_id("console-token")).to_be_visible()


def test_an_adviser_sees_only_their_own_tenants_handoffs(
    page: Page, e2e_server: E2EServer, http: httpx.Client
) -> None:
    theirs = Customer.open(http, e2e_server, "atlastel", "fr").escalate(FRAUD_FR)
    ours = Customer.open(http, e2e_server, "yusr", "fr").escalate(HUMAN_FR)
    sign_in(page, e2e_server, e2e_server.tenants["yusr"].adviser_token)
    expect(queue_item(page, ours)).to_be_visible(timeout=TIMEOUT_MS)
    for tab in ("waiting", "active", "resolved"):
        page.get_by_test_id(f"queue-tab-{tab}").click()
        expect(queue_item(page, theirs)).to_have_count(0)

    page.goto(f"{e2e_server.base_url}/console/#/handoff/{theirs}")
    expect(page.get_by_text("Demande introuvable")).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.get_by_test_id("handoff-view")).to_have_count(0)
    response = staff(
        http, e2e_server.tenants["yusr"].adviser_token, "POST", f"/v1/handoffs/{theirs}/claim"
    )
    assert response.status_code == 404


def test_the_qa_page_says_there_are_no_evaluations_yet(
    page: Page, e2e_server: E2EServer, shoot: Shoot
) -> None:
    errors = collect_page_errors(page)
    sign_in(page, e2e_server, e2e_server.tenants["atlastel"].admin_token)
    page.get_by_test_id("nav-qa").click()
    runs = page.get_by_test_id("qa-runs")
    expect(runs).to_contain_text("Aucune évaluation pour l'instant", timeout=TIMEOUT_MS)
    expect(page.locator("[data-testid=console-toast][data-kind=error]")).to_have_count(0)
    assert page.evaluate("window.location.hash") == "#/qa"
    shoot(page, "qa-empty")
    assert not errors


def test_the_qa_page_lists_runs_and_opens_a_report_with_the_token(
    page: Page, context: BrowserContext, e2e_server: E2EServer, shoot: Shoot
) -> None:
    # The evaluation routes are not served yet: the browser plays them.
    admin = e2e_server.tenants["atlastel"].admin_token
    seen: list[str | None] = []
    runs = {
        "runs": [
            {
                "id": "ev_2f9c",
                "suite": "routing_eval",
                "status": "succeeded",
                "created_at": "2026-05-04T09:30:00+00:00",
                "metrics": {"accuracy": 0.934, "escalation_recall": 0.981, "cases": 120},
            }
        ]
    }

    def serve_runs(route: Route) -> None:
        route.fulfill(status=200, content_type="application/json", body=json.dumps(runs))

    def serve_report(route: Route) -> None:
        seen.append(route.request.headers.get("authorization"))
        route.fulfill(
            status=200,
            content_type="text/html; charset=utf-8",
            body=(
                "<!doctype html><html lang=fr><title>Rapport ev_2f9c</title>"
                "<style>h1 { color: rgb(29, 95, 191) }</style>"
                "<h1 style='margin-top: 7px'>Rapport ev_2f9c</h1>"
                "<script>document.title = 'the report ran a script'</script>"
            ),
        )

    page.route("**/v1/eval/runs", serve_runs)
    page.route("**/v1/eval/runs/ev_2f9c/report", serve_report)
    sign_in(page, e2e_server, admin)
    page.get_by_test_id("nav-qa").click()
    table = page.get_by_test_id("qa-runs").locator("table")
    expect(table).to_contain_text("routing_eval", timeout=TIMEOUT_MS)
    expect(table).to_contain_text("93,4 %")
    expect(table).to_contain_text("Terminée")
    shoot(page, "qa-runs")

    with context.expect_page() as opened:
        page.get_by_role("button", name="Ouvrir le rapport de l'évaluation ev_2f9c").click()
    report = opened.value
    heading = report.locator("h1")
    expect(heading).to_have_text("Rapport ev_2f9c", timeout=TIMEOUT_MS)
    # Its own styles apply although the console's CSP refuses inline styles; its scripts
    # never run.
    expect(heading).to_have_css("color", "rgb(29, 95, 191)")
    expect(heading).to_have_css("margin-top", "7px")
    expect(report).to_have_title("Rapport ev_2f9c")
    assert seen == [f"Bearer {admin}"]


def test_an_adviser_does_not_see_qa_and_a_qa_member_does_not_see_the_queue(
    page: Page, e2e_server: E2EServer, shoot: Shoot
) -> None:
    sign_in(page, e2e_server, e2e_server.tenants["atlastel"].adviser_token)
    expect(page.get_by_test_id("console-queue")).to_be_visible()
    expect(page.get_by_test_id("nav-qa")).to_be_hidden()
    page.get_by_test_id("console-signout").click()

    qa = e2e_server.container.tenants.create_user("atlastel", "qa", "Leila").token
    sign_in(page, e2e_server, qa)
    expect(page.get_by_test_id("qa-runs")).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.get_by_test_id("console-queue")).to_be_hidden()
    page.goto(f"{e2e_server.base_url}/console/#/queue")
    expect(page.get_by_text("Accès à la file refusé")).to_be_visible()
    shoot(page, "qa-member-on-the-queue")
