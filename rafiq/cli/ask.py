"""``rafiq ask``: one customer turn, in process, as the widget would send it."""

from __future__ import annotations

from typing import Annotated

import typer

from agent.result import RelayedMessage
from rafiq.cli.output import JsonOption, TenantOption, container, print_json


def ask(
    tenant: TenantOption,
    text: Annotated[str, typer.Argument(help="The customer's message, in any language.")],
    conversation: Annotated[
        str | None,
        typer.Option("--conversation", "-c", help="Continue this conversation (c_...)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Send one customer message and print the agent's turn (the TurnResult)."""
    if not text.strip():
        raise typer.BadParameter("the message is empty", param_hint="TEXT")
    result = container().agent.turn(tenant, text, conversation)
    if as_json:
        print_json(result)
        return
    if isinstance(result, RelayedMessage):
        typer.echo(f"[{result.conversation_status}] message passed to the adviser, no bot reply.")
    else:
        typer.echo(result.text)
        for citation in result.citations:
            typer.echo(f"  ↳ {citation.source} — {citation.title or ''} [{citation.chunk_id}]")
        if result.escalation:
            e = result.escalation
            typer.echo(f"  ⚑ escalated: {e.category} ({e.priority}) {e.handoff_id} — {e.reason}")
        typer.echo(
            f"  ({result.action}, {result.language.detected}→{result.language.reply}, "
            f"{result.mode}, {result.timings_ms.total:.0f} ms)"
        )
    typer.echo(f"conversation: {result.conversation_id}", err=True)
