"""QA routes: evaluation runs of the caller's tenant (role qa; an admin may too).

``POST`` starts a run in the background and answers 202 with its id; ``GET`` lists runs,
reads one (figures and every case's outcome) and renders its HTML report. A run of
another tenant does not exist for the caller (404).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Final, Protocol, runtime_checkable

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from api.deps import QaDep, ServicesDep
from api.errors import ApiError, ErrorBody
from eval.compare import LAST, compare, previous_run
from eval.evaluation import Evaluator
from eval.report import render
from eval.runner import TenantMismatchError
from eval.store import RunNotFoundError, RunRecord, RunStatus, RunSummary, now
from eval.suite import SuiteError

router = APIRouter(prefix="/v1/eval/runs", tags=["qa"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "Missing or unknown staff token"},
    403: {"model": ErrorBody, "description": "The token's role is not qa or admin"},
    501: {"model": ErrorBody, "description": "This server does not run evaluations"},
}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "No such run in the token's tenant"}
}
STALE_AFTER: Final = timedelta(hours=6)
"""A run still queued or running after this long was cut short (a restart): it no longer
blocks new runs."""
LIST_LIMIT: Final = 200
REPORT_CSP: Final = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


@runtime_checkable
class EvaluationServices(Protocol):
    @property
    def evaluations(self) -> Evaluator: ...


def get_evaluator(services: ServicesDep) -> Evaluator:
    if not isinstance(services, EvaluationServices):
        raise ApiError(501, "not_implemented", "this server does not run evaluations")
    return services.evaluations


EvaluatorDep = Annotated[Evaluator, Depends(get_evaluator)]


class RunRequest(BaseModel):
    suite: Annotated[
        dict[str, Any] | list[dict[str, Any]] | str,
        Field(
            description="A suite as JSON (the keys of eval/SUITES.md, `cases` included), a "
            "list of suites run together, or the path of a sample suite file or folder under "
            "the server's samples folder (`atlastel/eval`, `redteam.yaml`). A suite that names "
            "a tenant must name the token's.",
            examples=["redteam.yaml"],
        ),
    ]


class RunCreated(BaseModel):
    id: str
    status: RunStatus
    tenant: str
    suite: str
    suite_version: str


class RunList(BaseModel):
    runs: list[RunSummary]


def _busy(evaluator: Evaluator, tenant: str) -> RunSummary | None:
    cutoff = now() - STALE_AFTER
    return next(
        (
            run
            for run in evaluator.store.list(tenant)
            if run.status in ("queued", "running") and run.created_at > cutoff
        ),
        None,
    )


@router.post(
    "",
    status_code=202,
    summary="Run evaluation suites against the caller's tenant, in the background",
    responses={
        **_ERRORS,
        409: {"model": ErrorBody, "description": "A run of this tenant is in progress"},
        422: {"model": ErrorBody, "description": "Invalid suite: every problem is listed"},
    },
)
def start_run(
    body: RunRequest,
    user: QaDep,
    evaluator: EvaluatorDep,
    background: BackgroundTasks,
    response: Response,
) -> RunCreated:
    running = _busy(evaluator, user.tenant)
    if running is not None:
        raise ApiError(
            409, "run_in_progress", f"run {running.id} of this tenant is {running.status}"
        )
    target = evaluator.target(user.tenant)
    try:
        if isinstance(body.suite, str):
            suites = evaluator.load(target, [evaluator.sample(body.suite)])
        else:
            documents = body.suite if isinstance(body.suite, list) else [body.suite]
            if not documents:
                raise SuiteError(["suite: an empty list (send at least one suite)"])
            suites = evaluator.parse(target, documents)
    except SuiteError as exc:
        raise ApiError(422, "invalid_suite", "\n".join(exc.problems)) from exc
    except TenantMismatchError as exc:
        raise ApiError(422, "tenant_mismatch", str(exc)) from exc
    record = evaluator.start(target, suites)
    background.add_task(evaluator.execute, record, target, suites)
    response.headers["Location"] = f"/v1/eval/runs/{record.id}"
    return RunCreated(
        id=record.id,
        status=record.status,
        tenant=record.tenant,
        suite=record.suite,
        suite_version=record.suite_version,
    )


@router.get("", summary="The tenant's evaluation runs, newest first", responses=_ERRORS)
def list_runs(
    user: QaDep,
    evaluator: EvaluatorDep,
    limit: Annotated[int, Query(ge=1, le=LIST_LIMIT, description="How many runs.")] = 50,
) -> RunList:
    return RunList(runs=evaluator.store.list(user.tenant, limit))


def _run(evaluator: Evaluator, run_id: str, tenant: str) -> RunRecord:
    try:
        return evaluator.store.get(run_id, tenant)
    except RunNotFoundError as exc:
        raise ApiError(404, "not_found", f"no evaluation run {run_id!r}") from exc


@router.get(
    "/{run_id}",
    summary="One run: suites, versions, settings, figures and every case's outcome",
    responses={**_ERRORS, **_NOT_FOUND},
)
def get_run(run_id: str, user: QaDep, evaluator: EvaluatorDep) -> RunRecord:
    return _run(evaluator, run_id, user.tenant)


@router.get(
    "/{run_id}/report",
    summary="The run's self-contained HTML report",
    response_class=HTMLResponse,
    responses={
        200: {"content": {"text/html": {}}},
        **_ERRORS,
        404: {"model": ErrorBody, "description": "No such run, or it has not finished"},
    },
)
def get_report(
    run_id: str,
    user: QaDep,
    evaluator: EvaluatorDep,
    compare_with: Annotated[
        str | None,
        Query(
            alias="compare",
            max_length=40,
            description="Compare with this run of the tenant, or `last`: the previous "
            "finished run of the same suites.",
        ),
    ] = None,
) -> HTMLResponse:
    record = _run(evaluator, run_id, user.tenant)
    if record.status not in ("done", "error"):
        raise ApiError(404, "report_not_ready", f"run {run_id} is still {record.status}")
    if compare_with == LAST:
        compare_with = previous_run(record, evaluator.store.list(user.tenant, LIST_LIMIT))
    previous = _run(evaluator, compare_with, user.tenant) if compare_with else None
    return HTMLResponse(
        render(record, compare(record, previous) if previous else None),
        headers={
            "Content-Security-Policy": REPORT_CSP,
            "X-Content-Type-Options": "nosniff",
            "Content-Disposition": f'inline; filename="rafiq-evaluation-{record.id}.html"',
        },
    )
