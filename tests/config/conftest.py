"""Fixtures for the tests that start a real web server."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.processes import manage


@pytest.fixture(scope="session")
def static_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`collectstatic` once per run: with DEBUG off pages name the hashed static files."""
    root = tmp_path_factory.mktemp("static")
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(DJANGO_STATIC_ROOT=str(root), DEMUR_DATA_DIR=str(root / "data"))
    result = manage("collectstatic", "--no-input", "-v", "0", env=env)
    assert result.returncode == 0, result.stderr
    return root
