"""The whole handoff as a customer and an adviser live it, in two browsers at once."""

from __future__ import annotations

import json
from typing import Any

from playwright.sync_api import Browser, Page, Response, expect

from tests.e2e.conftest import E2EServer

WIDGET = "[data-testid=rafiq-panel]"
BOT = "[data-testid=rafiq-message][data-role=bot]"
ADVISER = "[data-testid=rafiq-message][data-role=adviser]"
CUSTOMER = "[data-testid=rafiq-message][data-role=customer]"


def _open_widget(page: Page, server: E2EServer, opened: dict[str, Any]) -> None:
    def remember(response: Response) -> None:
        if response.request.method == "POST" and response.url.endswith("/v1/conversations"):
            opened.update(json.loads(response.body()))

    page.on("response", remember)
    page.goto(f"{server.base_url}/demo/atlastel")
    page.locator("[data-testid=rafiq-launcher]").click()
    expect(page.locator(WIDGET)).to_be_visible()


def _ask(page: Page, text: str) -> None:
    page.locator("[data-testid=rafiq-input]").fill(text)
    page.locator("[data-testid=rafiq-send]").click()


def test_customer_and_adviser_hand_the_conversation_back_and_forth(
    page: Page, browser: Browser, e2e_server: E2EServer, shoot: Any
) -> None:
    opened: dict[str, Any] = {}
    _open_widget(page, e2e_server, opened)

    # A streamed, cited answer first (the greeting is a bot bubble too).
    expect(page.locator(BOT)).to_have_count(1, timeout=10_000)
    _ask(page, "Comment payer ma facture ?")
    expect(page.locator(BOT)).to_have_count(2, timeout=10_000)
    answer = page.locator(BOT).last
    expect(answer).to_have_attribute("data-state", "done", timeout=15_000)
    expect(answer.locator("[data-testid=rafiq-citation]").first).to_be_visible()
    bots_before_handoff = page.locator(BOT).count()

    # The adviser's console is open before the customer asks for a human.
    console_context = browser.new_context(viewport={"width": 1440, "height": 900})
    console = console_context.new_page()
    try:
        console.goto(f"{e2e_server.base_url}/console/")
        console.locator("[data-testid=console-token]").fill(
            e2e_server.tenants["atlastel"].adviser_token
        )
        console.locator("[data-testid=console-signin]").click()
        expect(console.locator("[data-testid=console-queue]")).to_be_visible()

        page.locator("[data-testid=rafiq-handoff]").click()
        expect(page.locator("[data-testid=rafiq-status]")).to_have_attribute(
            "data-status", "waiting_human", timeout=10_000
        )
        shoot(page, "1-customer-waiting")

        # The handoff reaches the queue without a reload.
        handoff = e2e_server.container.desk.open_handoff_of("atlastel", opened["id"])
        assert handoff is not None
        handoff_id = handoff["id"]
        item = console.locator(f"[data-testid=queue-item][data-handoff-id='{handoff_id}']")
        expect(item).to_be_visible(timeout=10_000)
        shoot(console, "2-queue")
        item.click()
        view = console.locator("[data-testid=handoff-view]")
        expect(view).to_be_visible()
        console.locator("[data-testid=handoff-claim]").click()
        expect(view).to_have_attribute("data-status", "active", timeout=10_000)
        transcript = console.locator("[data-testid=transcript-message]")
        expect(transcript.filter(has_text="Comment payer ma facture")).to_have_count(1)

        # The adviser answers; the customer sees it live.
        reply = console.locator("[data-testid=reply-text]")
        reply.fill("Bonjour, je suis Salma, votre conseillère. Je regarde votre facture.")
        console.locator("[data-testid=reply-send]").click()
        expect(page.locator(ADVISER).last).to_contain_text("je suis Salma", timeout=10_000)
        expect(page.locator("[data-testid=rafiq-status]")).to_have_attribute("data-status", "human")
        shoot(page, "3-adviser-joined")

        # The customer writes: the adviser gets it, the bot stays silent.
        _ask(page, "Merci, le montant de mars est le double d'habitude.")
        expect(page.locator(CUSTOMER).last).to_contain_text("le double d'habitude")
        expect(transcript.filter(has_text="le double d'habitude")).to_have_count(1, timeout=10_000)
        page.wait_for_timeout(1_500)
        assert page.locator(BOT).count() == bots_before_handoff
        shoot(console, "4-adviser-view")

        # Resolved, back to the bot: the next question gets a streamed answer again.
        console.locator("[data-testid=resolve-text]").fill("Facture vérifiée, remboursement lancé.")
        back = console.locator("[data-testid=resolve-return-to-bot]")
        if not back.is_checked():
            back.check()
        console.locator("[data-testid=resolve-send]").click()
        expect(page.locator("[data-testid=rafiq-status]")).to_have_attribute(
            "data-status", "bot", timeout=10_000
        )
        _ask(page, "Quels sont les horaires des agences ?")
        expect(page.locator(BOT)).to_have_count(bots_before_handoff + 1, timeout=15_000)
        expect(page.locator(BOT).last).to_have_attribute("data-state", "done", timeout=15_000)
        shoot(page, "5-back-to-bot")
    finally:
        console_context.close()
