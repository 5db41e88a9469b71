"""The README's own model_spec and judge_spec lines, run as a user runs them: in a shell, from
the repository, against the test's database. (call_command with a dict hid that their old
--settings option collided with Django's own.)"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from django.db import connection

from inference.models import ModelSpec
from judging.models import Judge
from tests.conftest import REPO
from tests.processes import manage

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

COMMANDS = re.compile(r"^ {4}(\.venv/bin/python manage\.py (?:model_spec|judge_spec) .*)$")


def readme_commands() -> list[str]:
    """Every indented README line that runs model_spec or judge_spec, continuation lines
    (ending in a backslash) joined as the shell joins them."""
    lines = (REPO / "README.md").read_text().splitlines()
    commands = []
    for index, line in enumerate(lines):
        match = COMMANDS.match(line)
        if match is None:
            continue
        command = match[1]
        following = index + 1
        while command.endswith("\\"):
            command = command[:-1] + lines[following].strip()
            following += 1
        commands.append(command)
    return commands


@pytest.fixture
def shell_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a user's shell, pointed at this test's database: pytest-django's
    PostgreSQL test database when the tests run on one, else a migrated embedded SQLite."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.setdefault("DJANGO_SECRET_KEY", "a-long-test-secret-key-" + "x" * 40)
    env["DEMUR_DATA_DIR"] = str(tmp_path)
    settings = connection.settings_dict
    if connection.vendor == "postgresql":
        env["DATABASE_URL"] = (
            f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/"
            f"{settings['NAME']}"
        )
    else:
        migrated = manage("migrate", "-v", "0", env=env)
        assert migrated.returncode == 0, migrated.stderr
    return env


def shell(command: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", command], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )


def on_database(env: dict[str, str]) -> bool:
    return "DATABASE_URL" in env


def test_the_readmes_model_spec_and_judge_spec_lines_run_as_documented(
    shell_env: dict[str, str],
) -> None:
    commands = readme_commands()
    assert any(" model_spec " in c for c in commands), "the README shows no model_spec line"
    assert sum(" judge_spec " in c and "--kind" in c for c in commands) >= 2, commands
    for command in commands:
        done = shell(command, shell_env)
        assert done.returncode == 0, f"{command}\n{done.stderr}"
        assert "Traceback" not in done.stderr
    listed = shell(next(c for c in commands if "--list" in c), shell_env).stdout
    assert "smollm2-scores@1\tsmollm2-scores\t" in listed
    assert "smollm2-scores@2\tsmollm2-scores v2\t" in listed
    if on_database(shell_env):  # what the commands wrote, read back
        spec = ModelSpec.objects.get(name="smollm2")
        assert spec.settings["max_new_tokens"] == 512
        assert Judge.objects.get(name="smollm2-scores", version=2).settings == {"threshold": 0.4}


def test_redefinitions_are_refused_on_the_command_line_with_the_reason(
    shell_env: dict[str, str],
) -> None:
    commands = readme_commands()
    make_spec = next(c for c in commands if " model_spec " in c)
    make_judge = next(c for c in commands if " judge_spec " in c and "--kind" in c)
    for command in (make_spec, make_judge):
        assert shell(command, shell_env).returncode == 0
    again = shell(make_judge, shell_env)
    assert again.returncode == 1
    assert (
        "Name: a judge named 'smollm2-scores' exists (newest: smollm2-scores); add --new-version "
        "to make smollm2-scores v2, or choose another name." in again.stderr
    )
    changed_spec = shell(make_spec.replace("512", "256"), shell_env)
    assert changed_spec.returncode == 1
    assert "model spec 'smollm2' is used by 1 judge version" in changed_spec.stderr
    assert shell(make_spec, shell_env).returncode == 0  # the same settings again: a no-op
    keyword = shell(
        ".venv/bin/python manage.py judge_spec keyword --kind keyword --new-version", shell_env
    )
    assert keyword.returncode == 1
    assert "'keyword' is the built-in keyword judge and cannot be redefined" in keyword.stderr
    pick = shell(".venv/bin/python manage.py judge --run 999 --judge smollm2-scores@1", shell_env)
    assert pick.returncode == 1 and "No generation run 999." in pick.stderr
