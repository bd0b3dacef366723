"""Shared helpers for commands: the container, JSON printing."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from functools import cache
from typing import Annotated

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from rafiq.settings import Settings
from rafiq.wiring import Container

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for machines.")]
TenantOption = Annotated[str, typer.Option("--tenant", "-t", help="Tenant name.")]


@cache
def container() -> Container:
    return Container(Settings())


def print_json(value: BaseModel | Sequence[BaseModel]) -> None:
    data = (
        value.model_dump(mode="json")
        if isinstance(value, BaseModel)
        else [item.model_dump(mode="json") for item in value]
    )
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def progress_bar(label: str, console: Console, enabled: bool) -> Progress:
    """The CLI's progress bar: label, bar, done/total, the task's description, time. It
    disappears when done, so that only the summary stays on the terminal."""
    return Progress(
        TextColumn(f"[bold]{label}[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        disable=not enabled,
        transient=True,
    )
