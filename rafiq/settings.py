"""Rafiq's configuration: ``RAFIQ_*`` environment variables or a ``.env`` file, nothing else."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET_KEY = "dev-only-not-a-secret"


class InsecureSettingsError(ValueError):
    """Production mode was asked for with a default or demo secret."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="RAFIQ_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    env: Literal["dev", "production"] = Field(
        default="dev", description="`production` refuses defaults."
    )
    data_dir: Path = Field(
        default=Path("var"), description="Where the database, vectors and caches live."
    )
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; SQLite in the data dir."
    )
    chroma_url: str | None = Field(
        default=None, description="Chroma server URL; embedded when unset."
    )
    secret_key: SecretStr = Field(default=SecretStr(DEV_SECRET_KEY), description="Signs tokens.")

    llm_base_url: str | None = None
    llm_api_key: SecretStr | None = None
    llm_model: str = "gpt-4o-mini"
    llm_timeout_s: float = Field(default=20.0, gt=0, description="Past this, extractive fallback.")
    llm_context_window: int = Field(default=16000, ge=1000)

    eval_judge_base_url: str | None = Field(
        default=None,
        description="OpenAI-compatible endpoint that grades answers in evaluation runs "
        "(faithfulness, answer relevancy, context precision); unset: non-LLM scores only.",
    )
    eval_judge_model: str | None = Field(default=None, description="The judge's model name.")
    eval_judge_api_key: SecretStr | None = None

    embeddings: str = Field(
        "use-multilingual",
        description="use-multilingual | e5-small | ensemble | openai:<model>",
    )
    embeddings_base_url: str | None = None
    embeddings_api_key: SecretStr | None = None
    embedding_batch_size: int = Field(default=64, ge=1, le=2048)

    chunk_tokens: int = Field(default=300, ge=32, le=4000)
    chunk_overlap_tokens: int = Field(default=40, ge=0, le=1000)
    max_file_bytes: int = Field(default=20_000_000, ge=1)

    max_message_chars: int = Field(default=4000, ge=100, le=100_000)
    max_body_bytes: int = Field(default=64_000, ge=1000)
    max_upload_bytes: int = Field(
        default=20_000_000, ge=1000, description="Largest knowledge-base upload request."
    )
    rate_per_minute: int = Field(
        default=30, ge=1, description="Customer messages per conversation per minute."
    )
    rate_burst: int = Field(default=10, ge=1)
    sse_heartbeat_s: float = Field(default=15.0, gt=0)
    threads: int = Field(
        default=16, ge=1, le=256, description="Threads for blocking work (database, retrieval)."
    )
    presence_window_s: float = Field(default=120.0, gt=0)

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    samples_dir: Path = Path("samples")

    @model_validator(mode="after")
    def _fill_defaults(self) -> Settings:
        if self.llm_api_key is None and os.environ.get("OPENAI_API_KEY"):
            self.llm_api_key = SecretStr(os.environ["OPENAI_API_KEY"])
        if self.eval_judge_base_url and not self.eval_judge_model:
            raise ValueError(
                "RAFIQ_EVAL_JUDGE_MODEL is required with RAFIQ_EVAL_JUDGE_BASE_URL "
                "(the judge is never guessed)"
            )
        if self.chunk_overlap_tokens >= self.chunk_tokens:
            raise ValueError("RAFIQ_CHUNK_OVERLAP_TOKENS must be smaller than RAFIQ_CHUNK_TOKENS")
        return self

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'rafiq.db').resolve()}"

    @property
    def chroma_dir(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def cache_dir(self) -> Path:
        return self.data_dir / "cache"

    def check_production(self) -> None:
        """Refuse to serve in production with a secret anyone can read in this repository."""
        if self.env != "production":
            return
        if self.secret_key.get_secret_value() in {DEV_SECRET_KEY, "", "changeme", "secret"}:
            raise InsecureSettingsError(
                "RAFIQ_ENV=production needs a real RAFIQ_SECRET_KEY (the default is public)"
            )
        if len(self.secret_key.get_secret_value()) < 32:
            raise InsecureSettingsError("RAFIQ_SECRET_KEY must be at least 32 characters")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
