"""No process runs on a known secret key: each entry point, started as an operator starts it,
refuses a missing key (with a database server) or a placeholder with one sentence, and the
embedded default makes a key of its own once and keeps it."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from config.checks import secret_key_check
from config.secret_key import PUBLIC_KEYS
from tests.processes import REPO

SERVER_DATABASE = "postgres://demur@127.0.0.1:5432/demur"
STRONG_KEY = "k7Qm2xZp9LwT4vRb8NcY1hJd6FgS3aEu0iOo5yKl"
PRINT_KEY = "from django.conf import settings; print(settings.SECRET_KEY)"
BIN = Path(sys.executable).parent


def environment(tmp_path: Path, **variables: str | None) -> dict[str, str]:
    """This run's environment without its key, with the variables given (None removes one)."""
    env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_SECRET_KEY", "DATABASE_URL"}}
    env.update(DEMUR_DATA_DIR=str(tmp_path / "data"), DJANGO_DEBUG="0")
    for name, value in variables.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


def assert_refused_in_one_sentence(result: subprocess.CompletedProcess[str], says: str) -> None:
    assert result.returncode != 0
    refusals = [line for line in result.stderr.splitlines() if "Demur refuses to start" in line]
    assert len(refusals) >= 1, result.stderr
    assert says in refusals[0]
    assert "Traceback" not in result.stderr + result.stdout


ENTRY_POINTS = {
    "manage.py": [sys.executable, "manage.py", "check"],
    "gunicorn": [str(BIN / "gunicorn"), "config.wsgi", "--bind", "127.0.0.1:0", "--workers", "2"],
    "celery worker": [str(BIN / "celery"), "-A", "config", "worker", "--pool", "solo"],
}


@pytest.mark.slow
@pytest.mark.parametrize("entry_point", ENTRY_POINTS)
def test_with_a_database_server_every_entry_point_refuses_to_start_without_a_key(
    entry_point: str, tmp_path: Path
) -> None:
    env = environment(tmp_path, DATABASE_URL=SERVER_DATABASE)
    result = run(ENTRY_POINTS[entry_point], env)
    assert_refused_in_one_sentence(result, "Set DJANGO_SECRET_KEY to a long random string")
    assert not (tmp_path / "data" / "secret_key").exists()


@pytest.mark.slow
@pytest.mark.parametrize("entry_point", ENTRY_POINTS)
def test_every_entry_point_refuses_the_compose_files_old_placeholder(
    entry_point: str, tmp_path: Path
) -> None:
    env = environment(tmp_path, DATABASE_URL=SERVER_DATABASE, DJANGO_SECRET_KEY="change-me")
    result = run(ENTRY_POINTS[entry_point], env)
    assert_refused_in_one_sentence(result, "DJANGO_SECRET_KEY is a published placeholder")


@pytest.mark.parametrize(
    ("key", "says"),
    [
        ("demur-insecure-development-key-do-not-use-in-production", "a published placeholder"),
        ("changeme", "a published placeholder"),
        ("secret", "a published placeholder"),
        ("django-insecure-7h#x0v!u2$c9a@k3r8m1p5w6q4z0y2b7n3d8f1g6j4l5s9t", "placeholder"),
        ("", "is empty"),
        ("Zq8vK2mX7pL", "shorter than 32 characters"),
        ("ab" * 30, "fewer than 8 different characters"),
    ],
)
def test_a_known_or_weak_key_is_refused_even_on_the_embedded_database(
    key: str, says: str, tmp_path: Path
) -> None:
    result = run(
        [sys.executable, "manage.py", "check"], environment(tmp_path, DJANGO_SECRET_KEY=key)
    )
    assert_refused_in_one_sentence(result, says)


def test_with_a_good_key_and_a_database_server_the_key_is_used(tmp_path: Path) -> None:
    env = environment(tmp_path, DATABASE_URL=SERVER_DATABASE, DJANGO_SECRET_KEY=STRONG_KEY)
    result = run([sys.executable, "manage.py", "shell", "-v", "0", "-c", PRINT_KEY], env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == STRONG_KEY


def test_embedded_it_makes_a_private_key_once_and_keeps_it(tmp_path: Path) -> None:
    env = environment(tmp_path)  # no DATABASE_URL: SQLite under DEMUR_DATA_DIR
    first = run([sys.executable, "manage.py", "shell", "-v", "0", "-c", PRINT_KEY], env)
    second = run([sys.executable, "manage.py", "shell", "-v", "0", "-c", PRINT_KEY], env)
    assert first.returncode == 0, first.stderr
    key_file = tmp_path / "data" / "secret_key"
    key = key_file.read_text().strip()
    assert first.stdout.strip() == second.stdout.strip() == key
    assert len(key) >= 50
    assert key not in PUBLIC_KEYS
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    other = run(
        [sys.executable, "manage.py", "shell", "-v", "0", "-c", PRINT_KEY],
        environment(tmp_path / "b"),
    )
    assert other.stdout.strip() != key  # each installation its own


def test_check_deploy_flags_a_key_file_others_can_read(tmp_path: Path) -> None:
    env = environment(tmp_path)
    assert run([sys.executable, "manage.py", "check"], env).returncode == 0
    (tmp_path / "data" / "secret_key").chmod(0o644)
    result = run([sys.executable, "manage.py", "check", "--deploy"], env)
    assert "demur.W002" in result.stdout + result.stderr
    assert "can be read by other users" in result.stdout + result.stderr


def test_check_deploy_flags_a_published_key_that_reached_the_settings(settings: Any) -> None:
    settings.SECRET_KEY = "demur-insecure-development-key-do-not-use-in-production"
    assert [problem.id for problem in secret_key_check()] == ["demur.E001"]
    settings.SECRET_KEY = STRONG_KEY
    assert [problem.id for problem in secret_key_check()] == []


def test_compose_has_no_default_key_and_runs_behind_a_tls_proxy() -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    for name in ("web", "worker", "gpu-worker", "migrate"):
        environment_ = compose["services"][name]["environment"]
        key = environment_["DJANGO_SECRET_KEY"]
        # ${VAR:?message}: compose stops with the message when the variable is unset or empty.
        assert key.startswith("${DJANGO_SECRET_KEY:?"), key
        assert ":-" not in key
    web = compose["services"]["web"]
    assert web["environment"]["DEMUR_BEHIND_TLS_PROXY"] == "${DEMUR_BEHIND_TLS_PROXY:-1}"
    assert web["environment"]["DEMUR_NUM_PROXIES"] == "${DEMUR_NUM_PROXIES:-1}"
    # Trusting the proxy's headers is safe only if nothing else reaches the server.
    assert web["ports"] == ["127.0.0.1:8000:8000"]
