"""Hostile files and arguments for the importers, run as a shell user runs them: one sentence
naming the line and field, exit status 1, nothing written; never a traceback."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest
from django.test import Client

from benchmarks.files import InputFileError
from benchmarks.models import Benchmark
from benchmarks.services import benchmark_import
from tests.factories import UserFactory
from tests.processes import manage

pytestmark = pytest.mark.slow

GOOD = {"id": "a1", "category": "c", "subcategory": "s", "prompt": "Tell me."}


@pytest.fixture(scope="module")
def sqlite_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env["DEMUR_DATA_DIR"] = str(tmp_path_factory.mktemp("data"))
    assert manage("migrate", "-v", "0", env=env).returncode == 0
    return env


def rows_in(env: dict[str, str], table: str) -> int:
    with sqlite3.connect(Path(env["DEMUR_DATA_DIR"]) / "db.sqlite3") as connection:
        (count,) = connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()
    return int(count)


def jsonl_with_second_line(tmp_path: Path, second_line: str) -> Path:
    path = tmp_path / "hostile.jsonl"
    path.write_text(json.dumps(GOOD) + "\n" + second_line + "\n", encoding="utf-8")
    return path


def import_benchmark(path: Path, env: dict[str, str], slug: str = "hostile"):
    return manage("import_benchmark", str(path), "--slug", slug, "--kind", "noncompliance", env=env)


HOSTILE_LINES = [
    (
        '{"id": "a2", "category": "c", "subcategory": "s", "prompt": "nul \\u0000 here"}',
        "Field 'prompt' on line 2 contains a NUL character (\\u0000), which cannot be stored.",
    ),
    (
        '{"id": "a2", "category": "c\\ud800", "subcategory": "s", "prompt": "p"}',
        "Field 'category' on line 2 contains a lone surrogate (such as \\ud800), which is not "
        "valid Unicode.",
    ),
    (
        '{"id": "a2", "category": "c", "subcategory": "s", "prompt": "p", "extra": '
        + "[" * 50_000
        + "]" * 50_000
        + "}",
        "Line 2 of hostile.jsonl is JSON nested deeper than 32 levels.",
    ),
    (
        '{"id": "a2", "category": "c", "subcategory": "s", "prompt": 42}',
        "Field 'prompt' on line 2 is the number 42; it must be text (in JSON, put it in quotes).",
    ),
    (
        '{"id": 7, "category": "c", "subcategory": "s", "prompt": "p"}',
        "Field 'id' on line 2 is the number 7; it must be text (in JSON, put it in quotes).",
    ),
    (
        '{"id": "a2", "category": "c", "subcategory": "s", "prompt": "p", '
        '"meta": {"note": "x\\u0000"}}',
        "Field 'meta.note' on line 2 contains a NUL character (\\u0000), which cannot be stored.",
    ),
    (
        '{"id": "a2", "category": "c", "subcategory": "s", "prompt": "p", "score": NaN}',
        "Line 2 of hostile.jsonl holds NaN, which is not a JSON value.",
    ),
]


@pytest.mark.parametrize(("line", "sentence"), HOSTILE_LINES)
def test_import_benchmark_refuses_a_hostile_line_with_one_sentence(
    sqlite_env: dict[str, str], tmp_path: Path, line: str, sentence: str
) -> None:
    result = import_benchmark(jsonl_with_second_line(tmp_path, line), sqlite_env)
    assert result.returncode == 1, result.stdout
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [f"CommandError: {sentence} Nothing was imported."]
    assert rows_in(sqlite_env, "benchmarks_prompt") == 0
    assert rows_in(sqlite_env, "benchmarks_benchmark") == 0


def test_import_responses_refuses_the_same_hostile_lines(
    sqlite_env: dict[str, str], tmp_path: Path, samples_dir: Path
) -> None:
    loaded = manage(
        "import_benchmark", str(samples_dir / "demur_sample.jsonl"), "--slug", "sample",
        "--kind", "noncompliance", env=sqlite_env,
    )  # fmt: skip
    assert loaded.returncode == 0, loaded.stderr
    first_id = json.loads((samples_dir / "demur_sample.jsonl").open().readline())["id"]
    good = json.dumps({"id": first_id, "response": "Sure."})
    cases = [
        ('{"id": "x", "response": "a\\u0000b"}', "Field 'response' on line 2 contains a NUL"),
        ('{"id": "x", "response": "\\udfff"}', "Field 'response' on line 2 contains a lone"),
        ('{"id": 5, "response": "r"}', "Field 'id' on line 2 is the number 5"),
        ('{"id": "x", "response": ' + "[" * 50_000 + "]" * 50_000 + "}", "nested deeper"),
    ]
    for line, start in cases:
        path = tmp_path / "responses.jsonl"
        path.write_text(good + "\n" + line + "\n", encoding="utf-8")
        result = manage(
            "import_responses", str(path), "--benchmark", "sample", "--model", "m", env=sqlite_env
        )
        assert result.returncode == 1, (line[:60], result.stdout)
        assert "Traceback" not in result.stderr
        (only_line,) = result.stderr.strip().splitlines()
        assert start in only_line and only_line.endswith("Nothing was imported.")
    assert rows_in(sqlite_env, "inference_generationrun") == 0


def test_a_rubric_nested_too_deep_or_holding_nul_is_refused(
    sqlite_env: dict[str, str], tmp_path: Path, samples_dir: Path
) -> None:
    for text, sentence in [
        ('{"s": ' + "[" * 50_000 + "]" * 50_000 + "}", "is JSON nested deeper than 32 levels"),
        ('{"s": {"refusal": "r\\u0000", "compliance": "c"}}', "Field 's.refusal' on the rubric"),
    ]:
        rubric = tmp_path / "rubric.json"
        rubric.write_text(text, encoding="utf-8")
        result = manage(
            "import_benchmark", str(samples_dir / "demur_sample.jsonl"), "--slug", "rubricked",
            "--kind", "noncompliance", "--rubric", str(rubric), env=sqlite_env,
        )  # fmt: skip
        assert result.returncode == 1
        assert "Traceback" not in result.stderr
        assert sentence in result.stderr
    assert rows_in(sqlite_env, "benchmarks_benchmark WHERE slug = 'rubricked'") == 0


@pytest.mark.parametrize("slug", ["BAD SLUG!", "café", "x" * 101])
def test_a_slug_that_urls_cannot_hold_is_refused(
    sqlite_env: dict[str, str], samples_dir: Path, slug: str
) -> None:
    before = rows_in(sqlite_env, "benchmarks_benchmark")
    result = import_benchmark(samples_dir / "demur_sample.jsonl", sqlite_env, slug=slug)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"CommandError: The slug {slug!r} must be 1 to 100 letters, digits, hyphens or "
        "underscores (such as coconot-contrast). Nothing was imported."
    ]
    assert rows_in(sqlite_env, "benchmarks_benchmark") == before


@pytest.mark.django_db
def test_after_a_refused_slug_the_benchmark_list_still_opens(samples_dir: Path) -> None:
    with pytest.raises(InputFileError, match="The slug 'BAD SLUG!' must be"):
        benchmark_import(
            source=str(samples_dir / "demur_sample.jsonl"), slug="BAD SLUG!", kind="noncompliance"
        )
    assert not Benchmark.objects.exists()
    client = Client()
    client.force_login(UserFactory.create(role="researcher"))
    assert client.get("/benchmarks/").status_code == 200


def test_generate_refuses_a_limit_its_column_cannot_hold(sqlite_env: dict[str, str]) -> None:
    # Checked before the benchmark or model is looked up: argparse's usage error, exit 2.
    result = manage(
        "generate", "--benchmark", "b", "--model", "m", "--limit", str(2**31), env=sqlite_env
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert (
        "argument --limit: '2147483648' is not a whole number from 1 to 2147483647" in result.stderr
    )
