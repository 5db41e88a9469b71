from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from benchmarks.services import benchmark_import
from inference.models import GenerationRun, Response
from runs.models import RunStatus

pytestmark = pytest.mark.django_db


def import_responses(
    path: Path, model: str = "gpt-4 (imported)", benchmark: str = "coconot"
) -> str:
    out = io.StringIO()
    call_command("import_responses", str(path), "--benchmark", benchmark, "--model", model,
                 stdout=out)  # fmt: skip
    return out.getvalue()


def test_coconots_old_snapshot_imports_as_a_finished_run(coconot_dir: Path) -> None:
    benchmark_import(
        source=str(coconot_dir / "coconot_eval.jsonl"), slug="coconot", kind="noncompliance"
    )
    output = import_responses(coconot_dir / "history_3206be6" / "coconot_evaluation.jsonl")
    run = GenerationRun.objects.get()
    assert (run.status, run.imported, run.total, run.model_name) == (
        RunStatus.DONE, True, 1001, "gpt-4 (imported)"
    )  # fmt: skip
    assert run.responses.count() == 1001
    # The file has one null response: kept, marked as missing, never an empty "refusal".
    assert run.responses.exclude(error="").count() == 1
    assert "1 had no response (null)" in output
    first = json.loads(
        (coconot_dir / "history_3206be6" / "coconot_evaluation.jsonl").open().readline()
    )
    stored = Response.objects.get(run=run, prompt__external_id=first["id"])
    assert stored.text == first["response"]


@pytest.fixture
def sample(samples_dir: Path) -> Path:
    benchmark_import(
        source=str(samples_dir / "demur_sample.jsonl"), slug="coconot", kind="noncompliance"
    )
    return samples_dir


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (
            ['{"id": "demo-nc-001", "response": "ok"}', '{"id": "nope", "response": "x"}'],
            r"The id 'nope' on line 2 is not a prompt of benchmark 'coconot'",
        ),
        (['{"id": "demo-nc-001"}'], r"The record on line 1 lacks the field 'response'"),
        (
            ['{"id": "demo-nc-001", "response": 3}'],
            r"Field 'response' on line 1 must be text or null, not int",
        ),
        (
            ['{"id": "demo-nc-001", "response": "a"}', '{"id": "demo-nc-001", "response": "b"}'],
            r"The id 'demo-nc-001' appears twice, on line 1 and on line 2",
        ),
        (['{"id": "demo-nc-001", "response": "a"', ""], r"Line 1 of r.jsonl is not valid JSON"),
    ],
)
def test_bad_response_files_write_nothing(
    sample: Path, tmp_path: Path, lines: list[str], message: str
) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(CommandError, match=message):
        import_responses(path)
    assert not GenerationRun.objects.exists()
    assert not Response.objects.exists()


def test_an_unknown_benchmark_is_named(tmp_path: Path) -> None:
    (tmp_path / "r.jsonl").write_text('{"id": "a", "response": "b"}\n')
    with pytest.raises(CommandError, match="No benchmark 'missing'"):
        import_responses(tmp_path / "r.jsonl", benchmark="missing")
