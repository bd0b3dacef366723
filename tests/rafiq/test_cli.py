"""The ``rafiq`` command as a user runs it: a real process, its output and exit code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rafiq.cli import app

REPO = Path(__file__).resolve().parents[2]


def rafiq(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rafiq", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
        timeout=120,
        check=False,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], code: int, words: str) -> None:
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert words in lines[0]


@pytest.mark.slow
def test_a_newcomer_creates_a_tenant_ingests_and_searches(rafiq_env: Path, small_kb: Path) -> None:
    created = rafiq("tenants", "create", "acme", "--json")
    assert created.returncode == 0, created.stderr
    keys = json.loads(created.stdout)
    assert keys["tenant"] == "acme"
    assert keys["publishable_key"].startswith("pk_")
    assert keys["admin_token"].startswith("st_")

    ingested = rafiq("ingest", "--tenant", "acme", str(small_kb), "--json")
    assert ingested.returncode == 0, ingested.stderr
    summary = json.loads(ingested.stdout)
    assert (summary["files_added"], summary["chunks_added"], summary["chunks_total"]) == (1, 2, 2)

    again = json.loads(rafiq("ingest", "--tenant", "acme", str(small_kb), "--json").stdout)
    assert (again["files_unchanged"], again["chunks_added"]) == (1, 0)

    found = rafiq(
        "kb", "search", "--tenant", "acme", "--k", "1", "--json", "واش الوكالة محلولة نهار السبت؟"
    )
    assert found.returncode == 0, found.stderr
    hits = json.loads(found.stdout)
    assert len(hits) == 1
    assert {"chunk_id", "source", "title", "text", "language", "score"} <= set(hits[0])
    assert hits[0]["title"] == "Quels sont les horaires des agences ?"

    human = rafiq("kb", "search", "--tenant", "acme", "payer la facture")
    assert "1. [fr] Comment payer ma facture ? — faq.md" in human.stdout


@pytest.mark.slow
def test_user_errors_are_one_clear_line_with_a_non_zero_exit(
    rafiq_env: Path, tmp_path: Path
) -> None:
    assert rafiq("tenants", "create", "acme").returncode == 0
    assert_one_line_error(rafiq("tenants", "create", "acme"), 2, "already exists")
    assert_one_line_error(rafiq("tenants", "create", "Bad Name!"), 2, "invalid tenant name")
    assert_one_line_error(rafiq("ingest", "--tenant", "nobody", str(tmp_path)), 2, "unknown tenant")
    assert_one_line_error(
        rafiq("users", "create", "--tenant", "acme", "--role", "boss"), 2, "invalid role"
    )
    assert_one_line_error(
        rafiq("kb", "search", "--tenant", "acme", "x", env={"RAFIQ_EMBEDDINGS": "word2vec"}),
        1,
        "unknown embeddings",
    )
    assert_one_line_error(
        rafiq("tenants", "list", env={"RAFIQ_CHUNK_TOKENS": "lots"}), 2, "RAFIQ_CHUNK_TOKENS"
    )


@pytest.mark.slow
def test_ingest_with_bad_files_reports_them_and_exits_1(rafiq_env: Path, small_kb: Path) -> None:
    rafiq("tenants", "create", "acme")
    (small_kb / "broken.pdf").write_bytes(b"%PDF-1.7 truncated")

    result = rafiq("ingest", "--tenant", "acme", str(small_kb))

    assert result.returncode == 1
    assert "1 added" in result.stdout and "1 skipped" in result.stdout
    assert "broken.pdf" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_production_refuses_the_default_secret(rafiq_env: Path) -> None:
    result = rafiq("serve", "--port", "1", env={"RAFIQ_ENV": "production"})
    assert_one_line_error(result, 2, "RAFIQ_SECRET_KEY")


@pytest.mark.slow
def test_production_refuses_to_serve_while_demo_tokens_are_valid(rafiq_env: Path) -> None:
    production = {"RAFIQ_ENV": "production", "RAFIQ_SECRET_KEY": "s" * 40}

    assert_one_line_error(rafiq("demo", "--no-serve", env=production), 2, "never in production")
    loaded = rafiq("demo", "--no-serve")
    assert loaded.returncode == 0, loaded.stderr
    assert "http://127.0.0.1:8000/console/" in loaded.stdout
    assert "http://127.0.0.1:8000/demo/atlastel" in loaded.stdout
    assert "http://127.0.0.1:8000/demo/yusr" in loaded.stdout
    refused = rafiq("serve", "--port", "1", env=production)
    assert_one_line_error(refused, 2, "demo staff token")


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["tenants"],
        ["tenants", "create"],
        ["tenants", "list"],
        ["users", "create"],
        ["ingest"],
        ["kb"],
        ["kb", "search"],
        ["serve"],
        ["demo"],
    ],
)
def test_every_command_has_help(command: list[str]) -> None:
    result = CliRunner().invoke(app, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.output
