"""``rafiq eval``: run evaluation suites, read the report, compare runs, gate a release.

Exit codes of ``rafiq eval run``: 0 the run finished and every gate passed; 1 a gate
failed (each failing metric is printed) or the run could not finish; 2 the command was
wrong (a suite file, a tenant, a threshold, an unknown run to compare with).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Final, NoReturn

import typer
from pydantic import BaseModel
from rich.console import Console

from api.tenants import TenantError
from eval.compare import LAST, Comparison, compare, failure_summary, previous_run
from eval.gate import GateError, Threshold, check, parse_thresholds, read_gate_file
from eval.metrics import METRIC_INFO, Metrics, compute, rates
from eval.remote import RemoteError, RemoteEvaluations
from eval.report import delta_text, format_metric, render
from eval.runner import DEFAULT_WORKERS, TenantMismatchError
from eval.store import RunNotFoundError, RunRecord, RunStatus, RunSummary, SuiteInfo
from eval.suite import SuiteError, load_suite, suite_document, suite_files
from rafiq.cli.output import JsonOption, TenantOption, container, print_json, progress_bar
from rafiq.demo import load_sample_tenant, sample_tenant_dirs

app = typer.Typer(
    help="Evaluation suites (eval/SUITES.md): run, report, compare, gate.", no_args_is_help=True
)
_err = Console(stderr=True)

EXIT_GATE: Final = 1
EXIT_USAGE: Final = 2
FAILED_SHOWN: Final = 15
REMOTE_TIMEOUT_S: Final = 1800.0


class FailedCase(BaseModel):
    key: str
    language: str
    tags: list[str]
    summary: str


class GateResult(BaseModel):
    passed: bool
    thresholds: list[str]
    failures: list[str]


class EvalRunOutput(BaseModel):
    """``rafiq eval run --json``: the run's figures, not every passage it read (the stored
    run and the HTML report have those)."""

    run: RunSummary
    suites: list[SuiteInfo]
    settings: dict[str, object]
    warnings: list[str]
    error: str | None
    details: Metrics
    failed_cases: list[FailedCase]
    comparison: Comparison | None
    gate: GateResult
    report: str | None


class RunList(BaseModel):
    runs: list[RunSummary]


class SamplesLoaded(BaseModel):
    tenants: list[str]


def _fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _thresholds(specs: Sequence[str], gate_file: Path | None) -> list[Threshold]:
    try:
        return parse_thresholds([*(read_gate_file(gate_file) if gate_file else []), *specs])
    except GateError as exc:
        _fail(str(exc))


@contextmanager
def _progress(enabled: bool) -> Iterator[Callable[[int, int], None]]:
    with progress_bar("eval", _err, enabled) as bar:
        task = bar.add_task("cases", total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield advance


def _previous(
    wanted: str | None,
    record: RunRecord,
    get: Callable[[str], RunRecord],
    runs: Callable[[], list[RunSummary]],
) -> RunRecord | None:
    """The run to compare with: an id, or ``last``."""
    run_id = previous_run(record, runs()) if wanted == LAST else wanted
    return get(run_id) if run_id else None


def _finish(
    record: RunRecord,
    previous: RunRecord | None,
    thresholds: Sequence[Threshold],
    report: Path | None,
    as_json: bool,
) -> None:
    """Report, output and gate: the same for in-process and remote runs."""
    if record.status != "done":
        _fail(f"run {record.id} did not finish: {record.error or record.status}", EXIT_GATE)
    comparison = compare(record, previous) if previous else None
    failures = check(record.metrics, thresholds)
    if report is not None:
        try:
            report.parent.mkdir(parents=True, exist_ok=True)
            report.write_text(render(record, comparison, thresholds, failures), encoding="utf-8")
        except OSError as exc:
            _fail(f"cannot write the report {report}: {exc.strerror or exc}", EXIT_GATE)
    metrics = compute(record.outcomes)
    failed = [c for c in record.outcomes if not c.passed]
    if as_json:
        print_json(
            EvalRunOutput(
                run=record.summary(),
                suites=record.suites,
                settings=record.settings,
                warnings=record.warnings,
                error=record.error,
                details=metrics,
                failed_cases=[
                    FailedCase(
                        key=c.key, language=c.language, tags=c.tags, summary=failure_summary(c)
                    )
                    for c in failed
                ],
                comparison=comparison,
                gate=GateResult(
                    passed=not failures,
                    thresholds=[str(t) for t in thresholds],
                    failures=[str(f) for f in failures],
                ),
                report=str(report) if report else None,
            )
        )
    else:
        _print_summary(record, metrics, comparison, report)
    if failures:
        typer.echo(f"gate failed ({len(failures)} of {len(thresholds)} thresholds):", err=True)
        for failure in failures:
            typer.echo(f"  {failure}", err=True)
        raise typer.Exit(EXIT_GATE)
    if thresholds and not as_json:
        typer.echo(f"gate passed ({len(thresholds)} thresholds)")


def _print_summary(
    record: RunRecord, metrics: Metrics, comparison: Comparison | None, report: Path | None
) -> None:
    seconds = (
        (record.finished_at - record.created_at).total_seconds() if record.finished_at else 0.0
    )
    typer.echo(
        f"run {record.id}: {record.suite} on {record.tenant} "
        f"({record.settings.get('mode', '?')}, {metrics.cases.total} cases, "
        f"{metrics.turns} turns, {seconds:.1f} s)"
    )
    deltas = {d.metric: d for d in comparison.metrics} if comparison else {}
    counts = rates(metrics)
    width = max(len(info.label) for info in METRIC_INFO.values())
    for name, value in record.metrics.items():
        rate = counts.get(name)
        count = f"{rate.passed}/{rate.total}" if rate else ""
        delta = deltas.get(name)
        change = delta_text(delta) if delta is not None else ""
        typer.echo(
            f"  {METRIC_INFO[name].label:<{width}}  {format_metric(name, value):>9}"
            f"  {count:>9}  {change}".rstrip()
        )
    for warning in record.warnings:
        typer.echo(f"warning: {warning}", err=True)
    if comparison is not None:
        typer.echo(f"compared with {comparison.previous_id}:")
        for note in comparison.notes:
            typer.echo(f"  note: {note}")
        for changed in comparison.changed:
            detail = f" — {changed.detail}" if changed.detail else ""
            typer.echo(f"  {changed.key}: {changed.before} → {changed.after}{detail}")
        if not comparison.changed:
            typer.echo("  no case changed outcome")
    failed = [c for c in record.outcomes if not c.passed]
    if failed:
        typer.echo(f"failed cases ({len(failed)}):")
        for case in failed[:FAILED_SHOWN]:
            typer.echo(f"  {case.key}: {failure_summary(case)}")
        if len(failed) > FAILED_SHOWN:
            more = "in the report" if report else "with --report FILE.html"
            typer.echo(f"  … and {len(failed) - FAILED_SHOWN} more ({more})")
    if report is not None:
        typer.echo(f"report: {report}")


def _run_in_process(
    paths: Sequence[Path],
    tenant: str,
    workers: int,
    compare_with: str | None,
    show_progress: bool,
) -> tuple[RunRecord, RunRecord | None]:
    c = container()
    try:
        c.tenants.get(tenant)
    except TenantError as exc:
        _fail(str(exc))
    evaluator = c.evaluations
    evaluator.workers = workers
    target = evaluator.target(tenant)
    suites = evaluator.load(target, paths)
    if compare_with not in (None, LAST):
        evaluator.store.get(compare_with)  # an unknown id is an error before, not after
    record = evaluator.start(target, suites)
    typer.echo(f"run {record.id} started ({record.suite} on {tenant})", err=True)
    with _progress(show_progress) as advance:
        record = evaluator.execute(record, target, suites, advance)
    previous = _previous(
        compare_with, record, evaluator.store.get, lambda: evaluator.store.list(tenant)
    )
    return record, previous


def _run_remote(
    paths: Sequence[Path],
    tenant: str,
    api: str,
    token: str | None,
    compare_with: str | None,
    timeout_s: float,
    show_progress: bool,
) -> tuple[RunRecord, RunRecord | None]:
    if not token:
        _fail("--api needs --token st_... (a qa or admin staff token), or RAFIQ_TOKEN")
    # The deployment validates the suites again, with the tenant's own categories.
    documents = [suite_document(load_suite(f)) for p in paths for f in suite_files(p)]
    remote = RemoteEvaluations(api, token)
    try:
        owner = remote.tenant()
        if owner != tenant:
            _fail(f"the token belongs to tenant {owner!r}, not {tenant!r}")
        if compare_with not in (None, LAST):
            remote.get(compare_with)
        run_id = remote.submit(documents)
        typer.echo(f"run {run_id} started on {api} ({tenant})", err=True)
        with _err.status(f"run {run_id}: queued…") as status:
            if not show_progress:
                status.stop()

            def shown(state: RunStatus) -> None:
                status.update(f"run {run_id}: {state}…")

            record = remote.wait(run_id, timeout_s, shown)
        previous = _previous(compare_with, record, remote.get, remote.list)
    finally:
        remote.close()
    return record, previous


@app.command("run")
def run(
    suites: Annotated[
        list[Path], typer.Argument(help="Suite files (.yaml, .yml, .jsonl) or folders of them.")
    ],
    tenant: TenantOption,
    api: Annotated[
        str | None,
        typer.Option("--api", help="Run on this deployment (https://host) instead of here."),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option("--token", envvar="RAFIQ_TOKEN", help="qa or admin staff token for --api."),
    ] = None,
    report: Annotated[
        Path | None, typer.Option("--report", help="Write the HTML report to this file.")
    ] = None,
    compare_with: Annotated[
        str | None,
        typer.Option(
            "--compare",
            help="Compare with this run id, or `last`: the previous run of the same suites.",
        ),
    ] = None,
    fail_under: Annotated[
        list[str] | None,
        typer.Option(
            "--fail-under",
            help="metric=value, repeatable: exit 1 below it (above it for false_escalation_rate "
            "and latency_*).",
        ),
    ] = None,
    gates: Annotated[
        Path | None, typer.Option("--gates", help="A file of metric=value lines, # comments.")
    ] = None,
    workers: Annotated[
        int, typer.Option("--workers", min=1, max=32, help="Conversations at a time.")
    ] = DEFAULT_WORKERS,
    timeout_s: Annotated[
        float, typer.Option("--timeout", min=1, help="With --api: seconds to wait for the run.")
    ] = REMOTE_TIMEOUT_S,
    as_json: JsonOption = False,
) -> None:
    """Run suites against a tenant, store the run and print its figures.

    Every case is a fresh conversation kept apart from real ones: no handoff reaches the
    advisers, no webhook fires. Exit 1 when a gate fails, 2 on a bad suite or option.
    """
    thresholds = _thresholds(fail_under or [], gates)
    show_progress = not as_json and _err.is_terminal
    try:
        if api:
            record, previous = _run_remote(
                suites, tenant, api, token, compare_with, timeout_s, show_progress
            )
        else:
            record, previous = _run_in_process(suites, tenant, workers, compare_with, show_progress)
    except SuiteError as exc:
        _fail(f"invalid suite ({len(exc.problems)} problems):\n" + "\n".join(exc.problems))
    except TenantMismatchError as exc:
        _fail(str(exc))
    except RunNotFoundError as exc:
        _fail(f"--compare: {exc}")
    except RemoteError as exc:
        _fail(str(exc), EXIT_USAGE if exc.is_client_error else EXIT_GATE)
    if compare_with == LAST and previous is None:
        typer.echo("note: no earlier run of these suites to compare with", err=True)
    _finish(record, previous, thresholds, report, as_json)


@app.command("runs")
def runs(
    tenant: Annotated[
        str | None, typer.Option("--tenant", "-t", help="Only this tenant's runs.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 20,
    as_json: JsonOption = False,
) -> None:
    """List stored evaluation runs, newest first, with their id for ``--compare``."""
    found = container().evaluations.store.list(tenant, limit)
    if as_json:
        print_json(RunList(runs=found))
        return
    if not found:
        typer.echo("No evaluation run yet: rafiq eval run SUITE --tenant NAME")
    for r in found:
        key = ", ".join(
            f"{METRIC_INFO[m].label} {format_metric(m, r.metrics[m])}"
            for m in ("case_pass_rate", "routing_accuracy")
            if m in r.metrics
        )
        typer.echo(
            f"{r.id}  {r.created_at:%Y-%m-%d %H:%M}  {r.tenant:<12} {r.status:<8} {r.suite}"
            + (f"  ({key})" if key else "")
        )


@app.command("load-samples")
def load_samples(as_json: JsonOption = False) -> None:
    """Load the sample tenants (samples/*/tenant.yaml) as ``rafiq demo`` does, without
    starting a server: what ``make eval`` runs the sample suites against."""
    c = container()
    loaded = [
        load_sample_tenant(c, folder) for folder in sample_tenant_dirs(c.settings.samples_dir)
    ]
    if not loaded:
        _fail(f"no sample tenant in {c.settings.samples_dir} (RAFIQ_SAMPLES_DIR)")
    if as_json:
        print_json(SamplesLoaded(tenants=[t.name for t in loaded]))
        return
    for tenant in loaded:
        typer.echo(f"{tenant.name}: {tenant.report.files_seen} files ingested")


@app.command("report")
def report_command(
    run_id: Annotated[str, typer.Argument(help="A stored run's id (rafiq eval runs).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The HTML file to write.")],
    compare_with: Annotated[
        str | None,
        typer.Option("--compare", help="A run id, or `last`: the previous run of the same suites."),
    ] = None,
) -> None:
    """Write the HTML report of a stored run, e.g. one started from the console or the API."""
    store = container().evaluations.store
    try:
        record = store.get(run_id)
        previous = _previous(compare_with, record, store.get, lambda: store.list(record.tenant))
    except RunNotFoundError as exc:
        _fail(str(exc))
    comparison = compare(record, previous) if previous else None
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(render(record, comparison), encoding="utf-8")
    except OSError as exc:
        _fail(f"cannot write the report {output}: {exc.strerror or exc}", EXIT_GATE)
    typer.echo(f"report: {output}")
