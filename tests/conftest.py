"""Shared fixtures: a fresh case per test, and the real reference data in ../shared/data."""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = (ROOT / ".." / "shared" / "data").resolve()


@pytest.fixture(scope="session", autouse=True)
def session_config(tmp_path_factory) -> Iterator[Path]:
    """Session-wide fixtures (template cases) sign with keys in a temporary config folder too."""
    path = tmp_path_factory.mktemp("xdg-session")
    old = os.environ.get("XDG_CONFIG_HOME")
    os.environ["XDG_CONFIG_HOME"] = str(path)
    yield path
    if old is None:
        os.environ.pop("XDG_CONFIG_HOME", None)
    else:
        os.environ["XDG_CONFIG_HOME"] = old


@pytest.fixture(autouse=True)
def examiner_config(session_config, tmp_path_factory, monkeypatch) -> Path:
    """Examiner keys, witness files and the remembered examiner go to a temporary config
    folder (inherited by subprocesses), never the real home."""
    path = tmp_path_factory.mktemp("xdg-config")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(path))
    return path


@pytest.fixture
def shared_data() -> Path:
    if not (SHARED_DATA / "faces").is_dir():
        pytest.skip(f"reference data not found at {SHARED_DATA} (it lives in ../shared/data beside the checkout)")
    return SHARED_DATA


@pytest.fixture
def new_case(tmp_path):
    from forensics.case import Case

    case = Case.create(tmp_path / "case", name="Test case", number="T-1", examiner="Tester",
                       authority="Warrant 2026/123 (test)")
    yield case
    case.close()
