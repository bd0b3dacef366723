"""Multi-node mode: the knowledge base on a real ``chroma run`` server over loopback."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from knowledge_base.embeddings import create_embedder
from knowledge_base.ingest import IngestOptions, ingest
from knowledge_base.retrieval import HybridRetriever
from knowledge_base.store import StoreError, TenantStore, open_chroma_client

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    chroma = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
    port = _free_port()
    data = tmp_path_factory.mktemp("chroma-server")
    process = subprocess.Popen(
        [chroma, "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                pytest.fail("chroma server did not start")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_ingest_and_search_through_a_chroma_server(chroma_url: str, tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "faq.md").write_text(
        "## Comment payer ma facture ?\nPar l'application ou en agence.\n\n"
        "## Quels sont vos horaires ?\nDu lundi au samedi, de 9 h à 18 h.\n",
        encoding="utf-8",
    )
    embedder = create_embedder("use-multilingual")
    store = TenantStore(open_chroma_client(None, chroma_url), "remote", embedder)

    first = ingest(store, [kb], IngestOptions())
    again = ingest(store, [kb], IngestOptions())
    hits = HybridRetriever(store).search("à quelle heure ouvrez-vous le samedi ?", 1)

    assert first.chunks_added == 2
    assert again.files_unchanged == 1
    assert hits[0].title == "Quels sont vos horaires ?"
    # A second client (another node) sees the same chunks.
    other = TenantStore(open_chroma_client(None, chroma_url), "remote", embedder)
    assert other.count() == 2


def test_a_malformed_chroma_url_is_a_clear_error() -> None:
    with pytest.raises(StoreError, match="http"):
        open_chroma_client(None, "chroma.internal:8000")
