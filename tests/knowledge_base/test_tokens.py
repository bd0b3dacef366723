from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import tiktoken
import tiktoken.load
from tiktoken_ext import openai_public

from knowledge_base import tokens
from knowledge_base.tokens import (
    TokenizerDataError,
    count_tokens,
    encoding,
    seed_tiktoken_cache,
)

CONSTRUCTORS: dict[str, Callable[[], dict[str, Any]]] = {
    "cl100k_base": openai_public.cl100k_base,
    "o200k_base": openai_public.o200k_base,
}


def tiktoken_sources(monkeypatch: pytest.MonkeyPatch) -> dict[str, tuple[str, str]]:
    """encoding -> (download URL, expected sha256), as tiktoken itself declares them."""
    sources: dict[str, tuple[str, str]] = {}
    with monkeypatch.context() as patch:
        for name, constructor in CONSTRUCTORS.items():

            def capture(
                url: str, expected_hash: str | None = None, name: str = name
            ) -> dict[Any, Any]:
                assert expected_hash is not None
                sources[name] = (url, expected_hash)
                return {}

            patch.setattr(openai_public, "load_tiktoken_bpe", capture)
            constructor()
    return sources


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def cache_name(url: str) -> str:
    return hashlib.sha1(url.encode()).hexdigest()


@pytest.fixture
def isolated(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Restore TIKTOKEN_CACHE_DIR and the module's configured directory after the test."""
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", os.environ.get("TIKTOKEN_CACHE_DIR", ""))
    monkeypatch.setattr(tokens, "_configured_dir", tokens._configured_dir)
    yield


@pytest.fixture
def no_download(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(blobpath: str) -> bytes:
        raise AssertionError(f"tiktoken tried to download {blobpath}")

    monkeypatch.setattr(tiktoken.load, "read_file", refuse)


@pytest.mark.usefixtures("isolated")
def test_seed_writes_files_under_tiktoken_cache_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "nested" / "tiktoken"
    assert seed_tiktoken_cache(cache) == cache
    sources = tiktoken_sources(monkeypatch)
    assert set(sources) == {"cl100k_base", "o200k_base"}
    for url, sha256 in sources.values():
        target = cache / cache_name(url)
        assert target.is_file(), url
        assert sha256_of(target) == sha256
    # Only the two files: no temporary file left behind.
    assert sorted(p.name for p in cache.iterdir()) == sorted(
        cache_name(url) for url, _ in sources.values()
    )


@pytest.mark.usefixtures("isolated")
def test_seed_points_tiktoken_at_the_directory(tmp_path: Path) -> None:
    seed_tiktoken_cache(tmp_path)
    assert os.environ["TIKTOKEN_CACHE_DIR"] == str(tmp_path)


@pytest.mark.usefixtures("isolated")
@pytest.mark.parametrize("corruption", [b"not a bpe file", b""])
def test_corrupted_cache_file_is_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, corruption: bytes
) -> None:
    url, sha256 = tiktoken_sources(monkeypatch)["cl100k_base"]
    target = tmp_path / cache_name(url)
    target.write_bytes(corruption)
    seed_tiktoken_cache(tmp_path)
    assert sha256_of(target) == sha256


@pytest.mark.usefixtures("isolated")
def test_truncated_cache_file_is_replaced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seed_tiktoken_cache(tmp_path)
    url, sha256 = tiktoken_sources(monkeypatch)["o200k_base"]
    target = tmp_path / cache_name(url)
    target.write_bytes(target.read_bytes()[:-100])
    seed_tiktoken_cache(tmp_path)
    assert sha256_of(target) == sha256


@pytest.mark.usefixtures("isolated")
def test_valid_cache_file_is_left_alone(tmp_path: Path) -> None:
    seed_tiktoken_cache(tmp_path)
    before = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in tmp_path.iterdir()}
    seed_tiktoken_cache(tmp_path)
    after = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in tmp_path.iterdir()}
    assert after == before


@pytest.mark.usefixtures("isolated")
def test_bundled_data_with_the_wrong_hash_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        tokens, "_BPE_FILES", {"cl100k_base": ("0" * 40, hashlib.sha256(b"other").hexdigest())}
    )
    with pytest.raises(TokenizerDataError, match="cl100k_base"):
        seed_tiktoken_cache(tmp_path)
    assert not (tmp_path / ("0" * 40)).exists()


@pytest.mark.usefixtures("isolated", "no_download")
@pytest.mark.parametrize("name", sorted(CONSTRUCTORS))
def test_tiktoken_loads_from_the_seeded_directory(tmp_path: Path, name: str) -> None:
    seed_tiktoken_cache(tmp_path)
    # Build the encoding from scratch (tiktoken.get_encoding would reuse its memory cache).
    fresh = tiktoken.Encoding(**CONSTRUCTORS[name]())
    text = "Bonjour, كيف يمكنني دفع الفاتورة؟"
    assert fresh.decode(fresh.encode(text)) == text
    assert fresh.n_vocab > 100_000


@pytest.mark.usefixtures("isolated", "no_download")
def test_encoding_seeds_a_default_cache_when_none_is_configured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tokens, "_configured_dir", None)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    enc = encoding()
    assert enc.name == "cl100k_base"
    default = tmp_path / f"rafiq-tiktoken-{os.getuid()}"
    assert os.environ["TIKTOKEN_CACHE_DIR"] == str(default)
    assert len(list(default.iterdir())) == 2
    assert tokens._configured_dir == default


@pytest.mark.usefixtures("no_download")
def test_count_tokens_uses_cl100k() -> None:
    assert encoding().name == "cl100k_base"
    assert encoding().encode("hello world") == [15339, 1917]
    assert count_tokens("hello world") == 2
    assert count_tokens("") == 0


@pytest.mark.usefixtures("no_download")
def test_count_tokens_accepts_special_token_text() -> None:
    # Documents may contain the literal text of a special token; it is counted as text.
    assert count_tokens("<|endoftext|>") > 1
