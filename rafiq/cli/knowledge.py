"""``rafiq ingest`` and ``rafiq kb``: filling and searching a tenant's knowledge base."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from pydantic import BaseModel
from rich.console import Console

from api.schemas import SearchHit
from knowledge_base.ingest import IngestReport, ingest
from rafiq.cli.output import JsonOption, TenantOption, container, print_json, progress_bar

kb_app = typer.Typer(help="Search and inspect a tenant's knowledge base.", no_args_is_help=True)
_err = Console(stderr=True)


class SkippedFileOut(BaseModel):
    path: str
    reason: str


class IngestSummary(BaseModel):
    tenant: str
    files_seen: int
    files_added: int
    files_updated: int
    files_unchanged: int
    files_removed: int
    files_skipped: int
    chunks_added: int
    chunks_updated: int
    chunks_removed: int
    chunks_total: int
    seconds: float
    skipped: list[SkippedFileOut]
    warnings: list[str]


def _summary(tenant: str, report: IngestReport, total: int) -> IngestSummary:
    return IngestSummary(
        tenant=tenant,
        files_seen=report.files_seen,
        files_added=report.files_added,
        files_updated=report.files_updated,
        files_unchanged=report.files_unchanged,
        files_removed=report.files_removed,
        files_skipped=len(report.skipped),
        chunks_added=report.chunks_added,
        chunks_updated=report.chunks_updated,
        chunks_removed=report.chunks_removed,
        chunks_total=total,
        seconds=round(report.seconds, 3),
        skipped=[SkippedFileOut(path=s.path, reason=s.reason) for s in report.skipped],
        warnings=report.warnings,
    )


def ingest_command(
    tenant: TenantOption,
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to ingest.")],
    prune: Annotated[
        bool, typer.Option("--prune", help="Remove documents that are not under PATHS any more.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Ingest documents (Markdown, CSV/JSON FAQ, HTML, PDF, DOCX, text) into a tenant's KB.

    Re-running on unchanged files adds nothing; a changed file replaces its chunks.
    Files that cannot be read are reported and skipped. Exit code 1 if any was skipped.
    """
    c = container()
    c.tenants.get(tenant)
    store = c.store(tenant)
    show_progress = not as_json and _err.is_terminal
    with progress_bar("ingest", _err, show_progress) as bar:
        task = bar.add_task("", total=None)

        def advance(done: int, total: int, source: str) -> None:
            bar.update(task, completed=done, total=total, description=source)

        report = ingest(store, paths, c.ingest_options(prune), progress=advance)
    summary = _summary(tenant, report, store.count())
    if as_json:
        print_json(summary)
    else:
        typer.echo(
            f"{tenant}: {summary.files_seen} files — {summary.files_added} added, "
            f"{summary.files_updated} updated, {summary.files_unchanged} unchanged, "
            f"{summary.files_removed} removed, {summary.files_skipped} skipped"
        )
        typer.echo(
            f"chunks: +{summary.chunks_added} added, {summary.chunks_updated} updated, "
            f"-{summary.chunks_removed} removed, {summary.chunks_total} in total "
            f"({summary.seconds:.1f} s)"
        )
        for skipped in summary.skipped:
            typer.echo(f"  skipped {skipped.path}: {skipped.reason}", err=True)
        for warning in summary.warnings:
            typer.echo(f"  warning {warning}", err=True)
    if summary.skipped:
        raise typer.Exit(1)


@kb_app.command("search")
def search(
    tenant: TenantOption,
    text: Annotated[str, typer.Argument(help="The query, in any supported language.")],
    k: Annotated[int, typer.Option("--k", min=1, max=50, help="How many chunks.")] = 5,
    language: Annotated[
        str | None, typer.Option("--language", help="Only chunks in this language (fr, ar, en).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Search a tenant's knowledge base (hybrid dense + BM25)."""
    if not text.strip():
        raise typer.BadParameter("the query is empty", param_hint="TEXT")
    c = container()
    c.tenants.get(tenant)
    hits = [SearchHit.from_chunk(r) for r in c.retriever(tenant).search(text, k, language=language)]
    if as_json:
        print_json(hits)
        return
    if not hits:
        typer.echo("No result: is the knowledge base empty? `rafiq ingest --tenant ...`")
    for rank, hit in enumerate(hits, 1):
        where = hit.source + (f" p.{hit.page}" if hit.page else "")
        typer.echo(
            f"{rank}. [{hit.language}] {hit.title or '(untitled)'} — {where}  ({hit.score:.4f})"
        )
        snippet = " ".join(hit.text.split())
        typer.echo(f"   {snippet[:200]}{'…' if len(snippet) > 200 else ''}")
