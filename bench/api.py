"""HTTP API load benchmark: ``make bench`` → ``bench/results/api.json``.

200 customers talk at once to a real ``rafiq serve`` process over loopback, in
generative mode, against a stub OpenAI-compatible LLM that answers at a realistic pace;
once on SQLite and once on PostgreSQL. Every turn is timed from the client: to the
response headers (TTFB), to the first ``delta`` event, and to the ``turn`` event. The
stub's own share of a turn follows from its pacing, so the rest is Rafiq's overhead.

The load generator, the stub and the server run in three processes so that none of
them waits for another's GIL; on a 2-core machine they (and PostgreSQL) still share the
CPU, which the results say.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Literal

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from bench.report import percentiles, write_results
from eval.routing import load_cases
from rafiq.demo import load_sample_tenant, sample_tenant_dirs
from rafiq.settings import Settings
from rafiq.wiring import Container
from tests.postgres import PostgresCluster, find_bin_dir

SAMPLES = Path("samples")
STUB_MODEL = "bench-stub"
TARGET_P95_OVERHEAD_MS = 100.0
# High enough that no bucket ever empties: the benchmark measures turns, not the flood guard.
RATE_PER_MINUTE = 1_000_000
RATE_BURST = 1_000
SERVER_START_TIMEOUT_S = 120.0
CLIENT_TIMEOUT_S = 120.0
KEEPALIVE_EXPIRY_S = 2.0
SERVER_LOG = "server.log"
# A bot that hands over (two unanswered questions in a row) rightly stops answering:
# the customer's next message goes to the adviser queue, and that is no error.
RELAYED = "relayed"
Backend = Literal["sqlite", "postgresql"]
CallKind = Literal["triage", "rewrite", "answer"]

TRIAGE_REPLY = json.dumps(
    {
        "category": "none",
        "priority": "low",
        "reason": "Question d'information, aucun conseiller n'est nécessaire.",
        "needs_human": False,
    },
    ensure_ascii=False,
)
# What the stub "writes", per reply language: about as long as a real grounded answer.
ANSWER_WORDS = {
    "fr": "Vous pouvez régler votre facture en ligne depuis votre espace client, par virement "
    "ou en agence ; le paiement est pris en compte sous quarante-huit heures ouvrées et un "
    "reçu vous est envoyé par courriel.".split(),
    "ar": "يمكنكم أداء فاتورتكم عبر الإنترنت من فضائكم الخاص أو بالتحويل البنكي أو في الوكالة، "
    "ويتم احتساب الأداء خلال ثمان وأربعين ساعة عمل ويصلكم وصل عبر البريد الإلكتروني.".split(),
    "en": "You can pay your bill online from your customer area, by bank transfer or in a "
    "branch; the payment is recorded within two working days and a receipt is sent to you "
    "by email.".split(),
}
_REPLY_LANGUAGE = re.compile(r"^Reply language: (\w+)", re.MULTILINE)
_FIRST_PASSAGE = re.compile(r"<passages>\s*\[([^\]\n]+)\]")
_MESSAGE = re.compile(r"<message>\n(.*?)\n</message>", re.DOTALL)


@dataclass(frozen=True)
class Pacing:
    """How long the stub LLM takes for each call the agent makes in a turn."""

    triage_ms: float = 250.0
    rewrite_ms: float = 150.0
    first_token_ms: float = 150.0
    token_ms: float = 20.0
    tokens: int = 30

    def call_ms(self, kind: CallKind) -> float:
        if kind == "triage":
            return self.triage_ms
        if kind == "rewrite":
            return self.rewrite_ms
        return self.first_token_ms + (self.tokens - 1) * self.token_ms

    def first_token_at_ms(self, follow_up: bool) -> float:
        """When the stub sends the first word of an answer, counted from the turn's start."""
        before = self.call_ms("triage") + (self.call_ms("rewrite") if follow_up else 0.0)
        return before + self.first_token_ms

    def turn_ms(self, *, follow_up: bool, answered: bool) -> float:
        """The stub's share of a generative turn: triage always, a query rewrite once the
        conversation has history, and the streamed answer unless retrieval found nothing
        to write from (the agent then clarifies without asking the model)."""
        return (
            self.call_ms("triage")
            + (self.call_ms("rewrite") if follow_up else 0.0)
            + (self.call_ms("answer") if answered else 0.0)
        )


def _answer_pieces(prompt: str, tokens: int) -> list[str]:
    """``tokens`` words in the requested reply language, citing the first passage."""
    language = _REPLY_LANGUAGE.search(prompt)
    words = ANSWER_WORDS.get(language.group(1) if language else "fr", ANSWER_WORDS["fr"])
    passage = _FIRST_PASSAGE.search(prompt)
    chosen = [words[i % len(words)] for i in range(tokens - 1 if passage else tokens)]
    if passage:
        chosen.append(f"[{passage.group(1)}]")
    return [f"{word} " for word in chosen[:-1]] + chosen[-1:]


def _completion_chunk(model: str, delta: dict[str, Any], finish: str | None = None) -> bytes:
    chunk = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
    }
    return f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode()


def _completion(model: str, content: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": None},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": {"prompt_tokens": 1000, "completion_tokens": 30, "total_tokens": 1030},
    }


async def _sleep_until(deadline: float) -> None:
    # Sleeping to absolute deadlines keeps the small lateness of each sleep from adding up
    # over the 30 pauses of a streamed answer.
    await asyncio.sleep(max(0.0, deadline - asyncio.get_running_loop().time()))


def stub_app(pacing: Pacing) -> Starlette:
    """``POST /v1/chat/completions`` as the agent uses it, paced by ``pacing``:
    triage (``response_format``) gets a no-escalation JSON object, a query rewrite gets
    the latest message back, and a streamed answer cites the first passage.
    ``GET /stats`` gives the durations it really took, per kind; ``POST /reset`` clears them.

    Not tests/stubs/openai_server.py: it answers from one scripted queue shared by every
    request, which cannot tell hundreds of concurrent triage, rewrite and answer calls apart.
    """
    durations: dict[CallKind, list[float]] = {"triage": [], "rewrite": [], "answer": []}

    async def answer(model: str, prompt: str, started: float) -> AsyncIterator[bytes]:
        loop = asyncio.get_running_loop()
        first = started + pacing.first_token_ms / 1000
        for i, piece in enumerate(_answer_pieces(prompt, pacing.tokens)):
            await _sleep_until(first + i * pacing.token_ms / 1000)
            delta = {"role": "assistant", "content": piece} if i == 0 else {"content": piece}
            yield _completion_chunk(model, delta)
        yield _completion_chunk(model, {}, "stop")
        yield b"data: [DONE]\n\n"
        durations["answer"].append((loop.time() - started) * 1000)

    async def chat(request: Request) -> Response:
        body = await request.json()
        # From here on: a request body that arrives late is the caller's delay, not ours.
        loop = asyncio.get_running_loop()
        started = loop.time()
        model = str(body.get("model", STUB_MODEL))
        prompt = "\n".join(str(m.get("content") or "") for m in body["messages"])
        if body.get("stream"):
            return StreamingResponse(answer(model, prompt, started), media_type="text/event-stream")
        kind: CallKind = "triage" if body.get("response_format") else "rewrite"
        messages = _MESSAGE.findall(prompt)
        content = TRIAGE_REPLY if kind == "triage" else (messages[-1] if messages else "")
        await _sleep_until(started + pacing.call_ms(kind) / 1000)
        durations[kind].append((loop.time() - started) * 1000)
        return JSONResponse(_completion(model, content))

    async def stats(_: Request) -> Response:
        return JSONResponse(durations)

    async def reset(_: Request) -> Response:
        for samples in durations.values():
            samples.clear()
        return Response(status_code=204)

    return Starlette(
        routes=[
            Route("/v1/chat/completions", chat, methods=["POST"]),
            Route("/stats", stats, methods=["GET"]),
            Route("/reset", reset, methods=["POST"]),
        ]
    )


def _serve_stub(pacing: Pacing, report_port: Connection) -> None:
    """The stub process: serve until terminated, after sending the port it listens on."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    report_port.send(sock.getsockname()[1])
    # Keeps idle connections longer than the agent's client does, as hosted APIs do: a
    # connection closed by the stub as the client reuses it would fail a turn for nothing.
    config = uvicorn.Config(
        stub_app(pacing), log_level="warning", access_log=False, timeout_keep_alive=75
    )
    uvicorn.Server(config).run(sockets=[sock])


@dataclass(frozen=True)
class Running:
    """A server process of the benchmark."""

    url: str
    """Its base URL, without ``/v1``."""
    pid: int


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far (Linux ``/proc``)."""
    # The command name in parentheses may hold spaces; the fields after it do not.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def running_stub(pacing: Pacing) -> Iterator[Running]:
    """The stub in a process of its own."""
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=_serve_stub, args=(pacing, send), daemon=True)
    process.start()
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while not receive.poll(0.2):
            if not process.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the stub LLM did not start")
        port = receive.recv()
        base = f"http://127.0.0.1:{port}"
        _wait_until_up(f"{base}/stats", process.is_alive)
        assert process.pid is not None
        yield Running(base, process.pid)
    finally:
        process.terminate()
        process.join(timeout=10)


def _wait_until_up(url: str, alive: Callable[[], bool]) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline and alive():
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer")


def load_tenants(data_dir: Path, database_url: str | None) -> dict[str, str]:
    """Loads the sample tenants; their publishable keys by tenant name."""
    container = Container(Settings(data_dir=data_dir, database_url=database_url))
    loaded = [load_sample_tenant(container, folder) for folder in sample_tenant_dirs(SAMPLES)]
    container.engine.dispose()
    return {tenant.name: tenant.publishable_key for tenant in loaded}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def running_server(data_dir: Path, database_url: str | None, llm_url: str) -> Iterator[Running]:
    """``rafiq serve`` in a process of its own, generative against the stub at ``llm_url``."""
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k != "RAFIQ_DATABASE_URL"},
        "RAFIQ_DATA_DIR": str(data_dir),
        "RAFIQ_LLM_BASE_URL": f"{llm_url}/v1",
        "RAFIQ_LLM_API_KEY": "bench",
        "RAFIQ_LLM_MODEL": STUB_MODEL,
        "RAFIQ_RATE_PER_MINUTE": str(RATE_PER_MINUTE),
        "RAFIQ_RATE_BURST": str(RATE_BURST),
    }
    if database_url:
        env["RAFIQ_DATABASE_URL"] = database_url
    log_path = data_dir / SERVER_LOG
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "rafiq", "serve", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_until_up(f"{base}/readyz", lambda: process.poll() is None)
            yield Running(base, process.pid)
        except BaseException:
            tail = log_path.read_text(encoding="utf-8", errors="replace")[-3000:]
            print(f"--- server log ({log_path}) ---\n{tail}", file=sys.stderr)
            raise
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@dataclass(frozen=True)
class Script:
    """One customer: a tenant, and the questions they ask one after the other."""

    tenant: str
    language: str
    messages: list[str]


def scripts(conversations: int, messages: int, seed: int) -> list[Script]:
    """Ordinary questions (expected action ``answer``) from the sample routing sets: each
    customer keeps to one tenant and one language; tenants and languages take turns."""
    rng = random.Random(seed)
    pools: dict[tuple[str, str], list[str]] = {}
    for path in sorted(SAMPLES.glob("*/routing_eval.jsonl")):
        for case in load_cases(path):
            if case.expected_action == "answer":
                pools.setdefault((path.parent.name, case.language), []).append(case.message)
    # Language first: consecutive customers alternate between the tenants.
    keys = sorted(pools, key=lambda pool: (pool[1], pool[0]))
    chosen = []
    for i in range(conversations):
        tenant, language = keys[i % len(keys)]
        chosen.append(Script(tenant, language, rng.sample(pools[tenant, language], messages)))
    return chosen


@dataclass(frozen=True)
class TurnSample:
    follow_up: bool
    action: str
    ttfb_ms: float
    """Until the response headers arrived."""
    first_delta_ms: float
    total_ms: float
    """Until the ``turn`` event arrived."""
    stub_ms: float
    server_total_ms: float
    """The agent's own ``timings_ms.total``: from preparing the turn to its TurnResult."""
    server_llm_ms: float
    server_retrieval_ms: float

    @property
    def overhead_ms(self) -> float:
        return self.total_ms - self.stub_ms


@dataclass
class Tally:
    turns: list[TurnSample] = field(default_factory=list)
    opens_ms: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    relayed: int = 0
    """Messages stored for an adviser (202) after the bot handed the conversation over."""
    wall_s: float = 0.0


async def _sse_events(lines: AsyncIterator[str]) -> AsyncIterator[tuple[str, str]]:
    """(event, data) per frame; comments and ids are skipped."""
    name = "message"
    data: list[str] = []
    async for line in lines:
        if not line:
            if data:
                yield name, "\n".join(data)
            name, data = "message", []
        elif line.startswith("event:"):
            name = line.removeprefix("event:").strip()
        elif line.startswith("data:"):
            data.append(line.removeprefix("data:").removeprefix(" "))
    if data:
        yield name, "\n".join(data)


async def _turn(
    client: httpx.AsyncClient,
    conversation: dict[str, Any],
    text: str,
    message_id: str,
    follow_up: bool,
    pacing: Pacing,
) -> TurnSample | str:
    """One timed turn, or the kind of error it ended with."""
    headers = {"Authorization": f"Bearer {conversation['token']}", "Accept": "text/event-stream"}
    body = {"text": text, "client_message_id": message_id}
    url = f"/v1/conversations/{conversation['id']}/messages"
    started = time.perf_counter()
    first_delta: float | None = None
    turn: dict[str, Any] | None = None
    async with client.stream("POST", url, json=body, headers=headers) as response:
        headers_at = time.perf_counter()
        if response.status_code == 202:
            return RELAYED
        if response.status_code != 200:
            return f"http_{response.status_code}"
        if not response.headers.get("content-type", "").startswith("text/event-stream"):
            return "not_event_stream"
        async for event, data in _sse_events(response.aiter_lines()):
            if event == "delta":
                first_delta = first_delta or time.perf_counter()
                if not isinstance(json.loads(data).get("text"), str):
                    return "malformed_delta"
            elif event == "turn":
                turn = json.loads(data)
                break
            else:
                return f"unexpected_event_{event}"
    ended = time.perf_counter()
    if turn is None:
        return "no_turn_event"
    if first_delta is None:
        return "no_delta_event"
    if turn.get("mode") != "generative":
        return "not_generative"
    timings = turn["timings_ms"]
    answered = turn["action"] == "answer"
    return TurnSample(
        follow_up=follow_up,
        action=turn["action"],
        ttfb_ms=(headers_at - started) * 1000,
        first_delta_ms=(first_delta - started) * 1000,
        total_ms=(ended - started) * 1000,
        stub_ms=pacing.turn_ms(follow_up=follow_up, answered=answered),
        server_total_ms=timings["total"],
        server_llm_ms=timings["llm"],
        server_retrieval_ms=timings["retrieval"],
    )


async def _customer(
    client: httpx.AsyncClient,
    script: Script,
    key: str,
    number: int,
    pacing: Pacing,
    tally: Tally,
    think_s: tuple[float, float] = (0.0, 0.0),
    arrival_s: float = 0.0,
) -> None:
    rng = random.Random(number)
    await asyncio.sleep(rng.uniform(0, arrival_s))
    started = time.perf_counter()
    try:
        opened = await client.post("/v1/conversations", headers={"X-Rafiq-Key": key}, json={})
    except httpx.HTTPError as error:
        tally.errors[f"open_{type(error).__name__}"] += 1
        return
    if opened.status_code != 201:
        tally.errors[f"open_http_{opened.status_code}"] += 1
        return
    tally.opens_ms.append((time.perf_counter() - started) * 1000)
    conversation = opened.json()
    for index, text in enumerate(script.messages):
        if index:
            await asyncio.sleep(rng.uniform(*think_s))
        try:
            outcome = await _turn(
                client, conversation, text, f"bench-{number}-{index}", index > 0, pacing
            )
        except httpx.HTTPError as error:
            outcome = f"transport_{type(error).__name__}"
        except (ValueError, KeyError):
            outcome = "malformed_sse"
        if outcome == RELAYED:
            tally.relayed += 1
        elif isinstance(outcome, str):
            tally.errors[outcome] += 1
        else:
            tally.turns.append(outcome)


def _client(base: str, connections: int) -> httpx.AsyncClient:
    # Idle connections are dropped before uvicorn's 5 s keep-alive closes them: reusing one
    # as the server closes it fails the request, a race of the client, not of Rafiq.
    limits = httpx.Limits(
        max_connections=connections,
        max_keepalive_connections=connections,
        keepalive_expiry=KEEPALIVE_EXPIRY_S,
    )
    return httpx.AsyncClient(base_url=base, limits=limits, timeout=CLIENT_TIMEOUT_S)


async def _all_at_once(
    base: str,
    keys: dict[str, str],
    customers: list[Script],
    pacing: Pacing,
    think_s: tuple[float, float],
    arrival_s: float,
) -> Tally:
    tally = Tally()
    async with _client(base, len(customers) + 10) as client:
        started = time.perf_counter()
        await asyncio.gather(
            *(
                _customer(
                    client,
                    script,
                    keys[script.tenant],
                    number,
                    pacing,
                    tally,
                    think_s,
                    arrival_s,
                )
                for number, script in enumerate(customers)
            )
        )
        tally.wall_s = time.perf_counter() - started
    return tally


async def _one_by_one(
    base: str, keys: dict[str, str], customers: list[Script], pacing: Pacing
) -> Tally:
    tally = Tally()
    async with _client(base, 4) as client:
        started = time.perf_counter()
        for number, script in enumerate(customers):
            await _customer(client, script, keys[script.tenant], number, pacing, tally)
        tally.wall_s = time.perf_counter() - started
    return tally


def _summary(samples_ms: list[float]) -> dict[str, float]:
    if not samples_ms:
        return {}
    return {**percentiles(samples_ms), "max_ms": round(max(samples_ms), 3)}


def _figures(tally: Tally, pacing: Pacing) -> dict[str, Any]:
    turns = tally.turns
    answered = [t for t in turns if t.action == "answer"]
    overhead = _summary([t.overhead_ms for t in turns])
    errors = sum(tally.errors.values())
    return {
        "turns_ok": len(turns),
        "errors": errors,
        "errors_by_kind": dict(tally.errors),
        "actions": dict(Counter(t.action for t in turns)),
        "relayed_to_an_adviser": tally.relayed,
        "wall_s": round(tally.wall_s, 2),
        "throughput_turns_per_s": round(len(turns) / tally.wall_s, 2),
        "overhead": overhead,
        "ttfb": _summary([t.ttfb_ms for t in turns]),
        "first_delta": _summary([t.first_delta_ms for t in turns]),
        "first_delta_beyond_stub": _summary(
            [t.first_delta_ms - pacing.first_token_at_ms(t.follow_up) for t in answered]
        ),
        "turn_total": _summary([t.total_ms for t in turns]),
        "stub_share": _summary([t.stub_ms for t in turns]),
        "open_conversation": _summary(tally.opens_ms),
        "where_the_overhead_goes": {
            "outside_the_agent_turn": _summary([t.total_ms - t.server_total_ms for t in turns]),
            "agent_before_and_after_the_model": _summary(
                [t.server_total_ms - t.server_llm_ms for t in turns]
            ),
            "retrieval": _summary([t.server_retrieval_ms for t in turns]),
            "model_calls_beyond_stub": _summary(
                [t.server_llm_ms - t.server_retrieval_ms - t.stub_ms for t in turns]
            ),
        },
        "target_met": errors == 0
        and bool(overhead)
        and overhead["p95_ms"] <= TARGET_P95_OVERHEAD_MS,
    }


def _stub_lateness(stub_url: str, pacing: Pacing) -> dict[str, dict[str, float]]:
    """How much later than its pacing the stub answered: a loaded stub would otherwise
    pass its own slowness off as Rafiq's overhead."""
    measured: dict[CallKind, list[float]] = httpx.get(f"{stub_url}/stats", timeout=10).json()
    return {
        kind: _summary([ms - pacing.call_ms(kind) for ms in samples])
        for kind, samples in measured.items()
    }


def server_problems(log_path: Path) -> dict[str, int]:
    """The server's warnings and errors during the run, counted by message and exception."""
    problems: Counter[str] = Counter()
    for line in log_path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("level") in ("WARNING", "ERROR", "CRITICAL"):
            cause = str(entry.get("exc") or "").strip().splitlines()[-1:]
            problems[" | ".join([f"{entry['level']} {entry.get('msg')}", *cause])[:300]] += 1
    return dict(problems.most_common())


@dataclass(frozen=True)
class Plan:
    pacing: Pacing
    think_s: tuple[float, float]
    """A customer reads the answer and types the next message: uniform in this range."""
    arrival_s: float
    """Customers arrive spread over this long, as a widget's visitors do."""
    customers: list[Script]
    """All at once: the load that is measured."""
    calm: list[Script]
    """One after another, before the load: a turn's overhead when nothing else runs."""
    warm_up: list[Script]
    """First of all, not measured: loading the embedding model, the lexical indexes and
    the first connections is a cold start, not a turn's overhead."""


def bench_backend(
    backend: Backend, database_url: str | None, plan: Plan, stub: Running
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"rafiq-bench-api-{backend}-") as tmp:
        data_dir = Path(tmp)
        print(f"[{backend}] loading the sample tenants…", file=sys.stderr)
        # In a process of its own, so that this one holds no vector store the server opens.
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            keys = pool.submit(load_tenants, data_dir, database_url).result()
        with running_server(data_dir, database_url, stub.url) as server:
            warm = asyncio.run(_one_by_one(server.url, keys, plan.warm_up, plan.pacing))
            if warm.errors:
                raise RuntimeError(f"[{backend}] the warm-up turns failed: {dict(warm.errors)}")
            print(f"[{backend}] {len(plan.calm)} customers one by one…", file=sys.stderr)
            calm = asyncio.run(_one_by_one(server.url, keys, plan.calm, plan.pacing))
            httpx.post(f"{stub.url}/reset", timeout=10)
            print(f"[{backend}] {len(plan.customers)} customers at once…", file=sys.stderr)
            load_average = os.getloadavg()[0]
            before = (cpu_seconds(server.pid), cpu_seconds(stub.pid), time.process_time())
            load = asyncio.run(
                _all_at_once(
                    server.url, keys, plan.customers, plan.pacing, plan.think_s, plan.arrival_s
                )
            )
            after = (cpu_seconds(server.pid), cpu_seconds(stub.pid), time.process_time())
            problems = server_problems(data_dir / SERVER_LOG)
    server_cpu, stub_cpu, client_cpu = (
        end - start for start, end in zip(before, after, strict=True)
    )
    return {
        "turns_attempted": sum(len(c.messages) for c in plan.customers),
        **_figures(load, plan.pacing),
        "cpu_seconds_during_load": {
            "server": round(server_cpu, 1),
            "stub": round(stub_cpu, 1),
            "load_generator": round(client_cpu, 1),
        },
        "server_cpu_ms_per_turn": round(server_cpu * 1000 / max(1, len(load.turns)), 1),
        "machine_load_average_before": round(load_average, 2),
        "stub_lateness": _stub_lateness(stub.url, plan.pacing),
        "server_log_problems": problems,
        "one_customer_at_a_time": _figures(calm, plan.pacing),
    }


def _table(results: dict[str, dict[str, Any]]) -> str:
    def ms(figures: dict[str, float], *keys: str) -> str:
        return " / ".join(f"{figures[k]:.0f}" for k in keys) if figures else "-"

    lines = [
        f"{'':<26} {'turns ok':>9} {'errors':>6} {'turns/s':>7} {'wall s':>6}  "
        f"{'overhead p50/p95/max ms':>23}  {'TTFB p50/p95':>12}  {'1st delta p50/p95':>17}  "
        "target"
    ]
    rows: list[tuple[str, dict[str, Any]]] = []
    for backend, r in results.items():
        if "skipped" in r:
            lines.append(f"{backend:<26} skipped: {r['skipped']}")
            continue
        rows += [
            (f"{backend}, all at once", r),
            (f"{backend}, one at a time", r["one_customer_at_a_time"]),
        ]
    for label, r in rows:
        lines.append(
            f"{label:<26} {r['turns_ok']:>9} {r['errors']:>6} "
            f"{r['throughput_turns_per_s']:>7} {r['wall_s']:>6}  "
            f"{ms(r['overhead'], 'p50_ms', 'p95_ms', 'max_ms'):>23}  "
            f"{ms(r['ttfb'], 'p50_ms', 'p95_ms'):>12}  "
            f"{ms(r['first_delta'], 'p50_ms', 'p95_ms'):>17}  "
            f"{'met' if r['target_met'] else 'missed'}"
        )
    lines.append("\nwhere the overhead goes, p50 / p95 ms:")
    for label, r in rows:
        for part, figures in r["where_the_overhead_goes"].items():
            lines.append(f"  {label:<26} {part:<34} {ms(figures, 'p50_ms', 'p95_ms'):>15}")
    for backend, r in results.items():
        if "server_cpu_ms_per_turn" in r:
            cpu = r["cpu_seconds_during_load"]
            lines.append(
                f"\n{backend}: server CPU {r['server_cpu_ms_per_turn']} ms per turn under load; "
                f"CPU s during the load: server {cpu['server']}, stub {cpu['stub']}, "
                f"load generator {cpu['load_generator']}"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--conversations", type=int, default=200)
    parser.add_argument("--messages", type=int, default=3, help="per conversation, in sequence")
    parser.add_argument("--calm", type=int, default=4, help="customers run one at a time first")
    parser.add_argument(
        "--backends", nargs="+", choices=["sqlite", "postgresql"], default=["sqlite", "postgresql"]
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--think",
        type=float,
        nargs=2,
        default=(10.0, 30.0),
        metavar=("MIN_S", "MAX_S"),
        help="a customer's pause between messages (reading, typing); 0 0 floods the server",
    )
    parser.add_argument("--arrival", type=float, default=20.0, help="customers arrive over this")
    parser.add_argument("--out", type=Path, default=Path("bench/results/api.json"))
    args = parser.parse_args(argv)
    plan = Plan(
        pacing=Pacing(),
        think_s=(args.think[0], args.think[1]),
        arrival_s=args.arrival,
        customers=scripts(args.conversations, args.messages, args.seed),
        calm=scripts(args.calm, args.messages, args.seed + 1),
        warm_up=scripts(2, 1, args.seed + 2),
    )
    results: dict[str, dict[str, Any]] = {}
    with running_stub(plan.pacing) as stub:
        for backend in args.backends:
            if backend == "sqlite":
                results[backend] = bench_backend(backend, None, plan, stub)
                continue
            bin_dir = find_bin_dir()
            if bin_dir is None:
                results[backend] = {"skipped": "PostgreSQL is not installed"}
                continue
            with PostgresCluster.start(bin_dir) as cluster:
                url = cluster.create_database("bench_api")
                results[backend] = bench_backend(backend, url, plan, stub)
    print(_table(results))
    write_results(
        args.out,
        "api",
        results,
        machine_note=f"{os.cpu_count()} cores shared by the load generator, the stub LLM, "
        "the server and PostgreSQL, on a shared machine: expect noise",
        parameters={
            "conversations": args.conversations,
            "messages_per_conversation": args.messages,
            "distinct_messages": len({m for c in plan.customers for m in c.messages}),
            "languages": sorted({c.language for c in plan.customers}),
            "one_at_a_time_customers": args.calm,
            "think_time_s": list(args.think),
            "arrival_spread_s": args.arrival,
            "stub_pacing_ms": asdict(plan.pacing),
            "rate_limits": {
                "RAFIQ_RATE_PER_MINUTE": RATE_PER_MINUTE,
                "RAFIQ_RATE_BURST": RATE_BURST,
                "why": "raised so that no request is refused: the flood guard is not measured",
            },
            "server": "one `rafiq serve` process (uvicorn, one worker), generative mode",
            "databases": {
                "sqlite": "the default: WAL, synchronous=NORMAL, in a temporary data dir",
                "postgresql": "throwaway cluster of tests/postgres.py "
                "(fsync=off, synchronous_commit=off, full_page_writes=off)",
            },
        },
        definitions={
            "overhead": "client time to the turn event minus the stub's share of the turn "
            "(its pacing for the calls the turn made)",
            "ttfb": "client time to the response headers",
            "first_delta": "client time to the first delta event",
            "first_delta_beyond_stub": "first delta minus the stub's time to its first "
            "answer token (answered turns)",
            "outside_the_agent_turn": "client total minus the agent's timings_ms.total: "
            "HTTP, authentication and bookkeeping queries, thread-pool waits, SSE delivery",
            "agent_before_and_after_the_model": "timings_ms.total minus timings_ms.llm: "
            "redaction, local triage, the turn's database reads and writes",
            "model_calls_beyond_stub": "timings_ms.llm minus retrieval minus the stub's "
            "share: the LLM client stack and waits for the event loop",
            "errors": "non-2xx, malformed SSE, no turn event, mode other than generative",
        },
        targets={"errors": 0, "p95_overhead_ms": TARGET_P95_OVERHEAD_MS},
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
