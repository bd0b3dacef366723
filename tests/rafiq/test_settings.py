from __future__ import annotations

from pathlib import Path

import pytest

from rafiq.settings import InsecureSettingsError, Settings


def test_dev_mode_accepts_the_default_secret(rafiq_env: Path) -> None:
    Settings().check_production()


@pytest.mark.parametrize("secret", [None, "changeme", "short-but-not-default"])
def test_production_refuses_default_or_weak_secrets(
    rafiq_env: Path, monkeypatch: pytest.MonkeyPatch, secret: str | None
) -> None:
    monkeypatch.setenv("RAFIQ_ENV", "production")
    if secret is not None:
        monkeypatch.setenv("RAFIQ_SECRET_KEY", secret)
    with pytest.raises(InsecureSettingsError):
        Settings().check_production()


def test_production_accepts_a_real_secret(rafiq_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAFIQ_ENV", "production")
    monkeypatch.setenv("RAFIQ_SECRET_KEY", "k" * 48)
    Settings().check_production()


def test_database_defaults_to_sqlite_in_the_data_dir(rafiq_env: Path) -> None:
    assert Settings().resolved_database_url == f"sqlite:///{(rafiq_env / 'rafiq.db').resolve()}"


def test_llm_key_falls_back_to_openai_api_key(
    rafiq_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    key = Settings().llm_api_key
    assert key is not None and key.get_secret_value() == "sk-test"


def test_overlap_must_be_smaller_than_chunks(
    rafiq_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAFIQ_CHUNK_TOKENS", "100")
    monkeypatch.setenv("RAFIQ_CHUNK_OVERLAP_TOKENS", "100")
    with pytest.raises(ValueError, match="OVERLAP"):
        Settings()


def test_a_dotenv_file_in_the_working_directory_is_read(rafiq_env: Path) -> None:
    Path(".env").write_text("RAFIQ_CHUNK_TOKENS=123\nRAFIQ_EMBEDDINGS=e5-small\n", encoding="utf-8")
    settings = Settings()
    assert (settings.chunk_tokens, settings.embeddings) == (123, "e5-small")
