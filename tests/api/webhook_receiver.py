"""A customer's webhook endpoint on loopback: records what arrives and checks signatures."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from api.webhooks import verify


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    """Names in lower case."""
    body: bytes
    signature_ok: bool


@dataclass
class Receiver:
    url: str
    secrets: dict[str, str] = field(default_factory=dict)
    """Signing secret per path, set once each webhook exists (it is derived from its id)."""
    statuses: list[int] = field(default_factory=list)
    """Answers to give in turn; 200 once they run out."""
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, path: str, headers: dict[str, str], body: bytes) -> int:
        ok = verify(self.secrets.get(path, ""), headers.get("rafiq-signature", ""), body)
        with self.lock:
            self.requests.append(Received(path, headers, body, ok))
            return self.statuses.pop(0) if self.statuses else 200

    def deliveries(self) -> list[str]:
        with self.lock:
            return [r.headers["rafiq-delivery"] for r in self.requests]


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    receiver: Receiver

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            headers = {k.lower(): v for k, v in self.headers.items()}
            status = receiver.answer(self.path, headers, body)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            """Keep the test output quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver = Receiver(url=f"http://127.0.0.1:{server.server_address[1]}")
    # A short poll: shutdown() waits for the loop to notice, once per receiver per test.
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
