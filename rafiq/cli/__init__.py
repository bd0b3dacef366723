"""The ``rafiq`` command line: human output by default, ``--json`` for machines.

Errors are one line on stderr and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import sys

import typer
from pydantic import ValidationError

from agent.conversation import ConversationNotFoundError
from agent.policy import PolicyError
from api.tenants import TenantError
from knowledge_base.embeddings import EmbeddingError
from knowledge_base.store import StoreError
from rafiq.cli import ask, evaluation, knowledge, server, tenants, users
from rafiq.settings import InsecureSettingsError

app = typer.Typer(
    name="rafiq",
    help="Rafiq: a customer-service agent for French- and Arabic-speaking contact centres.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(tenants.app, name="tenants")
app.add_typer(users.app, name="users")
app.add_typer(knowledge.kb_app, name="kb")
app.command("ingest")(knowledge.ingest_command)
app.command("ask")(ask.ask)
app.command("serve")(server.serve)
app.command("demo")(server.demo)
app.add_typer(evaluation.app, name="eval")

EXIT_USAGE = 2
EXIT_FAILURE = 1


def main() -> None:
    try:
        app()
    except (TenantError, InsecureSettingsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(EXIT_USAGE)
    except ValidationError as exc:
        problems = "; ".join(
            f"RAFIQ_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors()
        )
        print(f"error: invalid settings: {problems}", file=sys.stderr)
        sys.exit(EXIT_USAGE)
    except ConversationNotFoundError as exc:
        print(f"error: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        sys.exit(EXIT_USAGE)
    except PolicyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(EXIT_USAGE)
    except (StoreError, EmbeddingError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(EXIT_FAILURE)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
