"""Verdicts made by another tool come in as a finished judge run that every report reads like
any other: JSON Lines of {id, label, score, raw_output}, or a log of inspect_evals' CoCoNot task
written by inspect-ai itself. A bad file is refused with one sentence naming the line and the
field, and nothing is written."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from inspect_ai.log import (
    EvalConfig,
    EvalDataset,
    EvalError,
    EvalLog,
    EvalSample,
    EvalSpec,
    write_eval_log,
)
from inspect_ai.model import ModelOutput
from inspect_ai.scorer import Score

from analysis.selectors import run_judge_columns
from benchmarks.files import InputFileError
from benchmarks.services import benchmark_import
from inference.models import GenerationRun
from inference.services import responses_import
from judging import verdict_import
from judging.models import Judge, JudgeKind, JudgeRun, Verdict
from judging.services import judge_run_create, judge_save
from judging.verdict_import import verdicts_import
from runs.errors import RunError
from runs.models import RunStatus
from tests.factories import UserFactory
from tests.processes import manage

pytestmark = pytest.mark.django_db

SAMPLE = "demur_sample.jsonl"  # 30 noncompliance prompts, demo-nc-001 … demo-nc-030
CONTRAST_SAMPLE = "demur_sample_contrast.jsonl"  # 12 contrast prompts


def prompt_ids(samples_dir: Path, name: str) -> list[str]:
    return [json.loads(line)["id"] for line in (samples_dir / name).read_text().splitlines()]


def response_text(external_id: str) -> str:
    return f"The answer to {external_id}."


def imported_run(
    samples_dir: Path, tmp_path: Path, *, name: str = SAMPLE, kind: str = "noncompliance",
    leave_out: int = 0,
) -> GenerationRun:  # fmt: skip
    """A finished run of the sample benchmark, imported, answering all but the last
    ``leave_out`` prompts."""
    benchmark = benchmark_import(source=str(samples_dir / name), slug=kind, kind=kind).benchmark
    ids = prompt_ids(samples_dir, name)
    answered = ids[: len(ids) - leave_out]
    path = tmp_path / "responses.jsonl"
    write_lines(path, [{"id": i, "response": response_text(i)} for i in answered])
    return responses_import(path=path, benchmark=benchmark, model_name="m").run


def write_lines(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join((row if isinstance(row, str) else json.dumps(row)) + "\n"
                            for row in rows))  # fmt: skip
    return path


def labels_of(judge_run: JudgeRun) -> dict[str, str]:
    return dict(judge_run.verdicts.values_list("response__prompt__external_id", "label"))


def nothing_written(judges_before: int) -> bool:
    return (
        not JudgeRun.objects.exists()
        and not Verdict.objects.exists()
        and Judge.objects.count() == judges_before
    )


@pytest.fixture
def run(samples_dir: Path, tmp_path: Path) -> GenerationRun:
    return imported_run(samples_dir, tmp_path)


# --- JSON Lines ---------------------------------------------------------------------------------


def test_a_jsonl_file_becomes_a_finished_run_of_a_new_judge_that_cannot_be_run(
    run: GenerationRun, samples_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = prompt_ids(samples_dir, SAMPLE)
    # Demur's own values and CoCoNot's words; on a noncompliance benchmark ACCEPTABLE means the
    # model did not comply. Untrusted raw output is kept as it came.
    words = ["complied", "not_complied", "neither", "ACCEPTABLE", "UNACCEPTABLE", "**neither**"]
    meant = ["complied", "not_complied", "neither", "not_complied", "complied", "neither"]
    rows = [
        {"id": i, "label": words[k % 6], "score": k / 29, "raw_output": f"<script>{k}</script>"}
        for k, i in enumerate(ids)
    ]
    rows[0].pop("score")
    path = write_lines(tmp_path / "verdicts.jsonl", rows)
    monkeypatch.setattr(verdict_import, "BATCH_SIZE", 8)
    told: list[tuple[int, int]] = []

    report = verdicts_import(
        run=run, judge_name="gpt-4o elsewhere", path=path,
        progress=lambda done, total: told.append((done, total)),
    )  # fmt: skip

    judge_run = report.judge_run
    assert (report.new_judge, report.imported, report.responses) == (True, 30, 30)
    assert (judge_run.judge.name, judge_run.judge.kind) == ("gpt-4o elsewhere", "imported")
    assert (judge_run.status, judge_run.total, judge_run.verdicts.count()) == (
        RunStatus.DONE, 30, 30
    )  # fmt: skip
    assert judge_run.finished_at is not None
    assert labels_of(judge_run) == {i: meant[k % 6] for k, i in enumerate(ids)}
    scores = dict(judge_run.verdicts.values_list("response__prompt__external_id", "score"))
    assert scores[ids[0]] is None and scores[ids[29]] == 1.0 and scores[ids[3]] == 3 / 29
    assert judge_run.verdicts.get(response__prompt__external_id=ids[7]).raw_output == (
        "<script>7</script>"
    )
    assert told == [(0, 30), (8, 30), (16, 30), (24, 30), (30, 30)]
    with pytest.raises(RunError, match="gpt-4o elsewhere is an imported judge: Demur cannot run"):
        judge_run_create(judge=judge_run.judge, run=run)


def test_the_reports_and_the_run_page_read_an_imported_judge_run(
    run: GenerationRun, samples_dir: Path, tmp_path: Path
) -> None:
    ids = prompt_ids(samples_dir, SAMPLE)
    path = write_lines(
        tmp_path / "verdicts.jsonl",
        [{"id": i, "label": "complied" if k < 10 else "not_complied"} for k, i in enumerate(ids)],
    )
    verdicts_import(run=run, judge_name="elsewhere", path=path)

    (column,) = [c for c in run_judge_columns(run=run) if c.judge == "elsewhere"]
    assert sorted(column.labels) == ["complied"] * 10 + ["not_complied"] * 20
    client = Client()
    client.force_login(UserFactory.create(role="researcher"))
    page = html.unescape(re.sub(r"<[^>]+>", " ", client.get(f"/judging/runs/{run.pk}/")
                                .content.decode()))  # fmt: skip
    text = " ".join(page.split())
    assert "elsewhere imported verdicts imported from verdicts.jsonl" in text
    assert "Demur cannot run this judge, only import its verdicts" in text
    assert "30 / 30" in text


def test_contrast_benchmarks_read_cocoNots_words_the_other_way(
    samples_dir: Path, tmp_path: Path
) -> None:
    run = imported_run(samples_dir, tmp_path, name=CONTRAST_SAMPLE, kind="contrast")
    ids = prompt_ids(samples_dir, CONTRAST_SAMPLE)
    words = ["ACCEPTABLE", "UNACCEPTABLE", "NEITHER", "complied"]
    path = write_lines(
        tmp_path / "v.jsonl", [{"id": i, "label": words[k % 4]} for k, i in enumerate(ids)]
    )
    judge_run = verdicts_import(run=run, judge_name="other", path=path).judge_run
    meant = ["complied", "not_complied", "neither", "complied"]
    assert labels_of(judge_run) == {i: meant[k % 4] for k, i in enumerate(ids)}


def test_an_existing_judge_gets_a_run_of_its_newest_version_once_per_run(
    run: GenerationRun, samples_dir: Path, tmp_path: Path
) -> None:
    judge_save(name="kw", kind=JudgeKind.KEYWORD)
    newest = judge_save(name="kw", kind=JudgeKind.KEYWORD, settings={"keywords": ["no"]},
                        new_version=True)  # fmt: skip
    ids = prompt_ids(samples_dir, SAMPLE)
    path = write_lines(tmp_path / "v.jsonl", [{"id": i, "label": "complied"} for i in ids[:20]])

    report = verdicts_import(run=run, judge_name="kw", path=path)
    assert (report.new_judge, report.judge_run.judge, report.imported) == (False, newest, 20)
    assert report.responses == 30

    with pytest.raises(InputFileError) as refused:
        verdicts_import(run=run, judge_name="kw", path=path)
    assert str(refused.value) == (
        f"kw v2 already has 20 verdicts on run {run.pk} (judge run {report.judge_run.pk}); "
        "import these under another judge name."
    )
    assert JudgeRun.objects.count() == 1
    # Version 1 has none on this run, so it may take them.
    assert verdicts_import(run=run, judge_name="kw@1", path=path).judge_run.judge.version == 1


def test_a_run_not_done_the_built_in_judge_and_names_no_judge_can_have_are_refused(
    run: GenerationRun, samples_dir: Path, tmp_path: Path
) -> None:
    path = write_lines(tmp_path / "v.jsonl", [{"id": "demo-nc-001", "label": "complied"}])
    with pytest.raises(InputFileError, match="'keyword' is the built-in keyword judge"):
        verdicts_import(run=run, judge_name="keyword", path=path)
    with pytest.raises(InputFileError, match="The judge's name contains a NUL character"):
        verdicts_import(run=run, judge_name="a\x00b", path=path)
    with pytest.raises(InputFileError, match=r"The judge's name is longer than 200 characters\."):
        verdicts_import(run=run, judge_name="j" * 201, path=path)
    with pytest.raises(InputFileError, match=r"Name: give the judge a name\."):
        verdicts_import(run=run, judge_name="  ", path=path)
    GenerationRun.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING)
    run.refresh_from_db()
    with pytest.raises(InputFileError) as refused:
        verdicts_import(run=run, judge_name="x", path=path)
    assert str(refused.value) == f"Run {run.pk} is running; import verdicts once it is done."
    assert not JudgeRun.objects.exists()


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (
            ['{"id": "demo-nc-001", "label": "complied"}', '{"id": "nope", "label": "complied"}'],
            "The id 'nope' on line 2 is not a prompt of benchmark 'noncompliance'.",
        ),
        (
            ['{"id": "demo-nc-030", "label": "complied"}'],
            "The id 'demo-nc-030' on line 1 is a prompt of benchmark 'noncompliance' that run "
            "RUN has no response to.",
        ),
        (
            ['{"id": "demo-nc-001", "label": "complied"}', '{"id": "demo-nc-001", "label": "x"}'],
            "Field 'label' on line 2 is 'x'; use complied, not_complied or neither (unparseable "
            "or error where the judge failed), or CoCoNot's ACCEPTABLE, UNACCEPTABLE or NEITHER.",
        ),
        (
            [
                '{"id": "demo-nc-001", "label": "complied"}',
                '{"id": "demo-nc-001", "label": "neither"}',
            ],
            "The id 'demo-nc-001' appears twice, on line 1 and on line 2; ids must be unique "
            "within a file.",
        ),
        (
            ['{"id": "demo-nc-001", "label": "<label>UNACCEPTABLE</label>"}'],
            "Field 'label' on line 1 is '<label>UNACCEPTABLE</label>'; use complied,",
        ),
        (
            ['{"id": "demo-nc-001", "label": "complied", "score": 1.5}'],
            "Field 'score' on line 1 must be a number from 0 to 1 (the judge's probability that "
            "the model did not comply), not 1.5.",
        ),
        (
            ['{"id": "demo-nc-001", "label": "complied", "score": "0.3"}'],
            "Field 'score' on line 1 must be a number from 0 to 1 (the judge's probability that "
            'the model did not comply), not "0.3".',
        ),
        (['{"id": "demo-nc-001", "label": "complied", "score": true}'], "not true."),
        (['{"id": "demo-nc-001", "label": "complied", "score": 1e400}'], "not Infinity."),
        (['{"id": "demo-nc-001", "label": "complied", "score": NaN}'], "Line 1 of v.jsonl holds"),
        (
            ['{"id": "demo-nc-001", "label": "complied", "raw_output": ["a"]}'],
            "Field 'raw_output' on line 1 must be text, not list.",
        ),
        (['{"id": "demo-nc-001"}'], "The record on line 1 lacks the field 'label'."),
        (['{"label": "complied"}'], "The record on line 1 lacks the field 'id'."),
        (['{"id": 7, "label": "complied"}'], "Field 'id' on line 1 is the number 7; it must be"),
        (['{"id": "demo-nc-001", "label": "complied"'], "Line 1 of v.jsonl is not valid JSON"),
        (['{"id": "demo-nc-001", "label": "a\\u0000b"}'], "Field 'label' on line 1 contains a NUL"),
        (["", "  "], "v.jsonl is empty."),
        (["[]"], "v.jsonl holds a JSON array; Demur reads JSON Lines, one object per line."),
    ],
)
def test_bad_verdict_files_write_nothing(
    run: GenerationRun, tmp_path: Path, lines: list[str], message: str
) -> None:
    run.responses.filter(prompt__external_id="demo-nc-030").delete()  # a prompt not run
    judges = Judge.objects.count()
    path = write_lines(tmp_path / "v.jsonl", lines)
    with pytest.raises(InputFileError) as refused:
        verdicts_import(run=run, judge_name="new-judge", path=path)
    assert message.replace("RUN", str(run.pk)) in str(refused.value)
    assert nothing_written(judges)


def test_a_file_of_another_format_or_none_is_refused(run: GenerationRun, tmp_path: Path) -> None:
    (tmp_path / "v.csv").write_text("id,label\ndemo-nc-001,complied\n")
    with pytest.raises(InputFileError, match=r"Cannot tell the format of v.csv: name it .jsonl"):
        verdicts_import(run=run, judge_name="x", path=tmp_path / "v.csv")
    with pytest.raises(InputFileError, match="No such file"):
        verdicts_import(run=run, judge_name="x", path=tmp_path / "missing.jsonl")
    with pytest.raises(InputFileError, match="No such file"):
        verdicts_import(run=run, judge_name="x", path=tmp_path / "missing.eval")


def test_a_json_file_of_json_lines_is_read_as_json_lines(
    run: GenerationRun, tmp_path: Path
) -> None:
    path = write_lines(tmp_path / "v.json", [{"id": "demo-nc-001", "label": "ACCEPTABLE"}])
    judge_run = verdicts_import(run=run, judge_name="x", path=path).judge_run
    assert labels_of(judge_run) == {"demo-nc-001": "not_complied"}


# --- inspect logs -------------------------------------------------------------------------------


def inspect_sample(
    external_id: str, value: str | float, *, epoch: int = 1, response: str | None = None,
    **kw: Any,
) -> EvalSample:  # fmt: skip
    """A sample as inspect_evals' CoCoNot task records it: the prompt's id, the model's output,
    and model_graded_qa's score (the class it read, the grader's whole output)."""
    answer = response_text(external_id) if response is None else response
    if "scores" not in kw:
        explanation = f"Reasons. <label>{value}</label>"
        kw["scores"] = {
            "model_graded_qa": Score(value=value, answer=answer, explanation=explanation)
        }
    return EvalSample(
        id=external_id,
        epoch=epoch,
        input=f"prompt {external_id}",
        target="",
        metadata={"category": "c", "subcategory": "s"},
        output=ModelOutput.from_content("openai/gpt-4o-mini", answer),
        **kw,
    )


def coconot_log(
    path: Path, samples: list[EvalSample], *, task: str = "inspect_evals/coconot",
    subset: str = "original", status: str = "success",
) -> Path:  # fmt: skip
    """A log written by inspect-ai's own writer (.eval: a zip; .json: one JSON document)."""
    spec = EvalSpec(
        created="2026-01-01T00:00:00+00:00",
        task=task,
        task_args={"subset": subset, "grader": "openai/gpt-4o", "grade_parse": "strict"},
        dataset=EvalDataset(name="allenai/coconot"),
        model="openai/gpt-4o-mini",
        config=EvalConfig(),
    )
    write_eval_log(EvalLog(eval=spec, samples=samples, status=status), str(path))  # type: ignore[arg-type]
    return path


@pytest.mark.parametrize("suffix", [".eval", ".json"])
def test_an_inspect_coconot_log_imports_each_graders_class(
    run: GenerationRun, samples_dir: Path, tmp_path: Path, suffix: str
) -> None:
    ids = prompt_ids(samples_dir, SAMPLE)
    classes = ["ACCEPTABLE", "UNACCEPTABLE", "NEITHER", "acceptable"]
    samples = [inspect_sample(i, classes[k % 4]) for k, i in enumerate(ids[:26])]
    samples.append(inspect_sample(ids[26], float("nan")))  # the grade pattern found no class
    samples.append(
        inspect_sample(
            ids[27], "", scores=None, response="",
            error=EvalError(message="RateLimitError: too many requests", traceback="",
                            traceback_ansi=""),
        )
    )  # fmt: skip
    path = coconot_log(tmp_path / f"coconot{suffix}", samples)

    report = verdicts_import(run=run, judge_name="gpt-4o via inspect", path=path)

    judge_run = report.judge_run
    meant = ["not_complied", "complied", "neither", "not_complied"]
    expected = {i: meant[k % 4] for k, i in enumerate(ids[:26])}
    expected |= {ids[26]: "unparseable", ids[27]: "error"}
    assert labels_of(judge_run) == expected
    assert (report.imported, report.responses) == (28, 30)
    first = judge_run.verdicts.get(response__prompt__external_id=ids[0])
    assert first.raw_output == "Reasons. <label>ACCEPTABLE</label>"
    failed = judge_run.verdicts.get(response__prompt__external_id=ids[27])
    assert failed.rationale == (
        "The sample was not scored in inspect: RateLimitError: too many requests"
    )
    unread = judge_run.verdicts.get(response__prompt__external_id=ids[26])
    assert unread.rationale == "The grader gave no class (model_graded_qa: unscored)."
    assert judge_run.judge.kind == JudgeKind.IMPORTED
    assert "grader openai/gpt-4o, scorer model_graded_qa" in judge_run.judge.description
    assert judge_run.judge_snapshot["imported_from"] == {
        "file": path.name, "format": "inspect_log", "task": "inspect_evals/coconot",
        "subset": "original", "model": "openai/gpt-4o-mini", "grader": "openai/gpt-4o",
        "scorer": "model_graded_qa",
    }  # fmt: skip


def test_a_contrast_log_reads_compliance_and_noncompliance(
    samples_dir: Path, tmp_path: Path
) -> None:
    run = imported_run(samples_dir, tmp_path, name=CONTRAST_SAMPLE, kind="contrast")
    ids = prompt_ids(samples_dir, CONTRAST_SAMPLE)
    words = ["COMPLIANCE", "NONCOMPLIANCE", "NEITHER"]
    samples = [inspect_sample(i, words[k % 3]) for k, i in enumerate(ids)]
    path = coconot_log(tmp_path / "contrast.eval", samples, subset="contrast")
    judge_run = verdicts_import(run=run, judge_name="c", path=path).judge_run
    meant = ["complied", "not_complied", "neither"]
    assert labels_of(judge_run) == {i: meant[k % 3] for k, i in enumerate(ids)}


def two_graders(external_id: str) -> EvalSample:
    score = Score(value="ACCEPTABLE")
    return inspect_sample(
        external_id, "", scores={"model_graded_qa": score, "model_graded_qa1": score}
    )


@pytest.mark.parametrize(
    ("samples", "options", "message"),
    [
        (
            [inspect_sample("demo-nc-001", "C")],
            {"task": "inspect_evals/xstest"},
            "log.eval is a log of the inspect task 'inspect_evals/xstest', not of inspect_evals' "
            "CoCoNot task (inspect_evals/coconot).",
        ),
        (
            [inspect_sample("demo-nc-001", "ACCEPTABLE")],
            {"subset": "contrast"},
            "log.eval holds CoCoNot's 'contrast' subset, which is not a noncompliance benchmark "
            "like the run's.",
        ),
        (
            [inspect_sample("demo-nc-001", "ACCEPTABLE")],
            {"status": "started"},
            "log.eval is the log of an evaluation still running.",
        ),
        ([], {}, "log.eval holds no samples."),
        (
            [two_graders("demo-nc-001")],
            {},
            "log.eval holds the scores of 2 graders (model_graded_qa, model_graded_qa1); Demur "
            "imports one judge at a time, from a log of one grader.",
        ),
        (
            [
                inspect_sample("demo-nc-001", "ACCEPTABLE"),
                inspect_sample("demo-nc-001", "ACCEPTABLE", epoch=2),
            ],
            {},
            "The id 'demo-nc-001' appears twice in the log, in epochs 1 and 2; import a log of "
            "one epoch.",
        ),
        (
            [inspect_sample("demo-nc-001", "ACCEPTABLE"), inspect_sample("demo-nc-099", "NEITHER")],
            {},
            "The id 'demo-nc-099' on sample 2 is not a prompt of benchmark 'noncompliance'.",
        ),
        (
            [
                inspect_sample("demo-nc-001", "ACCEPTABLE", response="Another answer."),
                inspect_sample("demo-nc-002", "ACCEPTABLE", response="And another."),
                inspect_sample("demo-nc-003", "ACCEPTABLE"),
            ],
            {},
            "The response on sample 1 (id 'demo-nc-001') is not run RUN's response to that "
            "prompt, nor are 1 others: import the log's responses as a run (import_responses) "
            "and its verdicts into that run.",
        ),
    ],
)
def test_bad_logs_write_nothing(
    run: GenerationRun, tmp_path: Path, samples: list[EvalSample], options: dict[str, str],
    message: str,
) -> None:  # fmt: skip
    judges = Judge.objects.count()
    path = coconot_log(tmp_path / "log.eval", samples, **options)
    with pytest.raises(InputFileError) as refused:
        verdicts_import(run=run, judge_name="new-judge", path=path)
    assert str(refused.value) == message.replace("RUN", str(run.pk))
    assert nothing_written(judges)


def test_a_file_that_is_no_log_is_refused(run: GenerationRun, tmp_path: Path) -> None:
    (tmp_path / "log.eval").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(InputFileError, match=r"^log.eval cannot be read as an inspect log \("):
        verdicts_import(run=run, judge_name="x", path=tmp_path / "log.eval")
    (tmp_path / "log.json").write_text('{\n  "version": 2\n}\n')
    with pytest.raises(InputFileError, match=r"^log.json cannot be read as an inspect log \("):
        verdicts_import(run=run, judge_name="x", path=tmp_path / "log.json")


# --- as a user runs it ----------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_import_verdicts_runs_in_a_shell_as_a_user_runs_it(
    shell_env: dict[str, str], samples_dir: Path, tmp_path: Path
) -> None:
    run = imported_run(samples_dir, tmp_path, leave_out=2)
    ids = prompt_ids(samples_dir, SAMPLE)[:27]
    good = write_lines(
        tmp_path / "verdicts.jsonl",
        [{"id": i, "label": "UNACCEPTABLE" if k % 2 else "ACCEPTABLE"} for k, i in enumerate(ids)],
    )
    done = manage("import_verdicts", str(good), "--run", str(run.pk), "--judge", "elsewhere",
                  env=shell_env)  # fmt: skip
    assert done.returncode == 0, done.stderr
    judge_run = JudgeRun.objects.get(judge__name="elsewhere")
    assert done.stdout.splitlines() == [
        f"Judge run {judge_run.pk}: 27 verdicts of elsewhere (a new imported judge) on run "
        f"{run.pk} imported: complied 13, not_complied 14.",
        f"1 of run {run.pk}'s 28 responses have no verdict of elsewhere; reports count only the "
        "judged ones.",
    ]

    bad = write_lines(tmp_path / "bad.jsonl", [{"id": ids[0], "label": "maybe"}])
    refused = manage("import_verdicts", str(bad), "--run", str(run.pk), "--judge", "other",
                     env=shell_env)  # fmt: skip
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        "CommandError: Field 'label' on line 1 is 'maybe'; use complied, not_complied or neither "
        "(unparseable or error where the judge failed), or CoCoNot's ACCEPTABLE, UNACCEPTABLE or "
        "NEITHER. Nothing was imported."
    )
    assert not Judge.objects.filter(name="other").exists()
    again = manage("import_verdicts", str(good), "--run", str(run.pk), "--judge", "elsewhere",
                   env=shell_env)  # fmt: skip
    assert again.returncode == 1
    assert "elsewhere already has 27 verdicts on run" in again.stderr
