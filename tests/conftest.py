from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "benchmarks" / "samples"
COCONOT = REPO.parent / "shared" / "coconot"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Server-backed tests say why they skip when the servers are not configured."""
    database_url = os.environ.get("DATABASE_URL", "")
    for item in items:
        if "postgres" in item.keywords and not database_url.startswith("postgres"):
            item.add_marker(pytest.mark.skip(reason="needs DATABASE_URL=postgres://… (CI sets it)"))
        if "redis" in item.keywords and not os.environ.get("REDIS_URL"):
            item.add_marker(pytest.mark.skip(reason="needs REDIS_URL=redis://… (CI sets it)"))


@pytest.fixture(autouse=True)
def plain_static_files(settings: Any) -> None:
    """Pages render without `collectstatic`: the hashed manifest is a deployment step."""
    settings.STORAGES = settings.STORAGES | {
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    }


@pytest.fixture(autouse=True)
def upload_root(settings: Any, tmp_path: Path) -> Path:
    """Uploaded files go to the test's own folder (a worker given DEMUR_DATA_DIR=tmp_path, as
    tests/workers.py gives it, reads the same one), never to the repository's .demur/."""
    root = tmp_path / "uploads"
    settings.DEMUR_UPLOAD_ROOT = root
    settings.FILE_UPLOAD_TEMP_DIR = str(root / "incoming")
    return root


@pytest.fixture
def coconot_dir() -> Path:
    if not (COCONOT / "coconot_eval.jsonl").exists():
        pytest.skip(f"CoCoNot data not found at {COCONOT} (it lives in ../shared/coconot)")
    return COCONOT


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random two-layer Llama with its own tokenizer (tests/inference/tiny_model.py)."""
    pytest.importorskip("torch", reason="needs the inference extra (requirements/inference.txt)")
    from tests.inference.tiny_model import build_tiny_llama

    return build_tiny_llama(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture
def samples_dir() -> Path:
    return SAMPLES


@pytest.fixture
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def role_groups(transactional_db: None) -> None:
    """Transactional tests empty every table afterwards, the migration-made role groups too."""
    from django.contrib.auth.models import Group

    from accounts.roles import ROLE_GROUPS

    for name in ROLE_GROUPS:
        Group.objects.get_or_create(name=name)


@pytest.fixture
def shell_env(tmp_path: Path, role_groups: None) -> dict[str, str]:
    """A user's shell environment, pointed at this (transactional) test's PostgreSQL database,
    for commands run as a user runs them (``tests.processes.manage``)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        # A command in another process cannot reach the test's SQLite database in memory.
        pytest.skip("needs DATABASE_URL=postgres://… (CI sets it)")
    settings = connection.settings_dict
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env["DATABASE_URL"] = (
        f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/{settings['NAME']}"
    )
    env["DEMUR_DATA_DIR"] = str(tmp_path)
    return env
