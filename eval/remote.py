"""Evaluation runs on a running deployment, through its QA routes (``/v1/eval/runs``).

The deployment runs the suite against the token's tenant and stores the run; this side
sends the suites, waits for the run to finish and reads it back, so that a gate or a
report is computed from the same record as in-process.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, Final

import httpx

from eval.store import FINISHED, RunRecord, RunStatus, RunSummary

POLL_S: Final = 1.0
TIMEOUT_S: Final = 30.0


class RemoteError(RuntimeError):
    """The deployment refused the request or could not be reached."""

    def __init__(self, message: str, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code

    @property
    def is_client_error(self) -> bool:
        """The request was wrong (suite, token, run id), not the server."""
        return self.status is not None and 400 <= self.status < 500


def _error(response: httpx.Response) -> RemoteError:
    try:
        error = response.json()["error"]
        code, message = str(error["code"]), str(error["message"])
    except (ValueError, KeyError, TypeError):
        code, message = "http_error", response.text[:200] or response.reason_phrase
    if response.status_code == 413:
        message += (
            " — the suite is larger than this server accepts (RAFIQ_MAX_BODY_BYTES): "
            "raise the limit on the server, or run the suite files one at a time"
        )
    return RemoteError(f"{response.status_code} {code}: {message}", response.status_code, code)


class RemoteEvaluations:
    def __init__(
        self, base_url: str, token: str, transport: httpx.BaseTransport | None = None
    ) -> None:
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=TIMEOUT_S,
            transport=transport,
        )

    def close(self) -> None:
        self._client.close()

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        try:
            response = self._client.request(method, path, json=body)
        except httpx.HTTPError as exc:
            raise RemoteError(f"cannot reach {self._client.base_url}: {exc}") from exc
        if response.status_code >= 400:
            raise _error(response)
        try:
            return response.json()
        except ValueError as exc:
            raise RemoteError(f"{path}: the server did not answer JSON") from exc

    def tenant(self) -> str:
        """The tenant the token belongs to: the one the deployment runs suites against."""
        return str(self._call("GET", "/v1/me")["tenant"])

    def submit(self, documents: Sequence[dict[str, Any]]) -> str:
        """Sends the suites (``eval.suite.suite_document``); returns the queued run's id."""
        created = self._call("POST", "/v1/eval/runs", {"suite": list(documents)})
        return str(created["id"])

    def get(self, run_id: str) -> RunRecord:
        return RunRecord.model_validate(self._call("GET", f"/v1/eval/runs/{run_id}"))

    def list(self) -> list[RunSummary]:
        body = self._call("GET", "/v1/eval/runs")
        return [RunSummary.model_validate(run) for run in body["runs"]]

    def wait(
        self,
        run_id: str,
        timeout_s: float,
        on_status: Callable[[RunStatus], None] | None = None,
        poll_s: float = POLL_S,
    ) -> RunRecord:
        deadline = time.monotonic() + timeout_s
        while True:
            record = self.get(run_id)
            if on_status is not None:
                on_status(record.status)
            if record.status in FINISHED:
                return record
            if time.monotonic() > deadline:
                raise RemoteError(
                    f"run {run_id} is still {record.status} after {timeout_s:.0f} s "
                    "(it goes on on the server: see GET /v1/eval/runs/{id} or the console)"
                )
            time.sleep(poll_s)
