"""Shared helpers for commands: the container, JSON printing."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from functools import cache
from typing import Annotated

import typer
from pydantic import BaseModel

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
