"""Every management command refuses a text argument that cannot be stored or printed (bytes
that are not UTF-8, a NUL) with one sentence naming the argument, exit status 1 and nothing
written, instead of a traceback (accounts.validation.StorableArgumentsCommand)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.processes import REPO

SAMPLE = REPO / "benchmarks" / "samples" / "demur_sample.jsonl"
NOT_UTF8 = b"bad\xff\xfe"  # what a shell passes for $'bad\xff\xfe'
TABLES = (
    "inference_modelspec",
    "judging_judge",
    "benchmarks_benchmark",
    "inference_generationrun",
    "judging_judgerun",
    "runs_chunk",
    "auth_user",
)


@pytest.fixture(scope="module")
def sqlite_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env["DEMUR_DATA_DIR"] = str(tmp_path_factory.mktemp("data"))
    assert run_manage([b"migrate", b"-v", b"0"], env).returncode == 0
    return env


def run_manage(args: list[bytes], env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    """manage.py as a shell runs it: the arguments are bytes, not text."""
    return subprocess.run(
        [sys.executable.encode(), b"manage.py", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        timeout=120,
    )


def row_counts(env: dict[str, str]) -> dict[str, int]:
    with sqlite3.connect(Path(env["DEMUR_DATA_DIR"]) / "db.sqlite3") as connection:
        return {
            table: connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            for table in TABLES
        }


OPENAI = b'{"base_url": "http://127.0.0.1:9/v1", "model": "m"}'

# (the command line with NOT_UTF8 in one argument, the argument's name in the sentence)
CASES = {
    "model_spec name": ([b"model_spec", NOT_UTF8, b"--backend", b"openai", b"--config", OPENAI],
                        "NAME"),
    "model_spec description": (
        [b"model_spec", b"ok", b"--backend", b"openai", b"--config", OPENAI, b"--description",
         NOT_UTF8],
        "--description",
    ),
    "judge_spec name": ([b"judge_spec", NOT_UTF8, b"--kind", b"keyword"], "NAME"),
    "judge_spec model": ([b"judge_spec", b"j", b"--kind", b"keyword", b"--model", NOT_UTF8],
                         "--model"),
    "import_benchmark name": (
        [b"import_benchmark", bytes(SAMPLE), b"--slug", b"ok", b"--kind", b"noncompliance",
         b"--name", NOT_UTF8],
        "--name",
    ),
    "import_benchmark source": (
        [b"import_benchmark", NOT_UTF8, b"--slug", b"ok", b"--kind", b"noncompliance"], "SOURCE"
    ),
    "generate benchmark": ([b"generate", b"--benchmark", NOT_UTF8, b"--model", b"m"],
                           "--benchmark"),
    "generate then-judge": (
        [b"generate", b"--benchmark", b"b", b"--model", b"m", b"--then-judge", b"keyword",
         b"--then-judge", NOT_UTF8],
        "--then-judge",
    ),
    "import_responses model": (
        [b"import_responses", bytes(SAMPLE), b"--benchmark", b"b", b"--model", NOT_UTF8],
        "--model",
    ),
    "judge judge": ([b"judge", b"--run", b"1", b"--judge", NOT_UTF8], "--judge"),
    "import_verdicts judge": (
        [b"import_verdicts", bytes(SAMPLE), b"--run", b"1", b"--judge", NOT_UTF8], "--judge"
    ),
    "export_gold format": (
        [b"export_gold", b"--campaign", b"1", b"--format", NOT_UTF8, b"-o", b"-"], "--format"
    ),
    "seed_demo url": ([b"seed_demo", b"--url", NOT_UTF8], "--url"),
}  # fmt: skip


@pytest.mark.parametrize("case", CASES)
def test_bytes_that_are_not_utf8_are_one_sentence_naming_the_argument(
    sqlite_env: dict[str, str], case: str
) -> None:
    args, name = CASES[case]
    before = row_counts(sqlite_env)
    result = run_manage(args, sqlite_env)
    assert result.returncode == 1
    assert result.stderr.decode().splitlines() == [
        f"CommandError: The argument {name} holds bytes that are not UTF-8 text; nothing was done."
    ]
    assert result.stdout == b""
    assert row_counts(sqlite_env) == before


def test_text_that_is_not_ascii_is_still_accepted(sqlite_env: dict[str, str]) -> None:
    name = "modèle-é"
    result = run_manage(
        [b"model_spec", name.encode(), b"--backend", b"openai", b"--config", OPENAI], sqlite_env
    )
    assert result.returncode == 0, result.stderr.decode()
    assert f"Model spec '{name}' (openai) saved." in result.stdout.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "name"),
    [
        (["model_spec", "a\x00b", "--backend", "openai"], "NAME"),
        (["judge_spec", "j", "--kind", "keyword", "--description", "x\x00"], "--description"),
        (["generate", "--benchmark", "b", "--model", "m\x00"], "--model"),
    ],
)
def test_a_nul_is_one_sentence_naming_the_argument(args: list[str], name: str) -> None:
    # A process's arguments cannot hold a NUL (exec takes C strings), but call_command's can:
    # the same check meets them.
    with pytest.raises(CommandError) as refused:
        call_command(*args)
    assert str(refused.value) == (
        f"The argument {name} contains a NUL character (\\u0000), which cannot be stored; "
        "nothing was done."
    )
