from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from benchmarks import services
from benchmarks.models import Benchmark, Prompt, Rubric

pytestmark = pytest.mark.django_db


def run_import(source: Path | str, *extra: str, slug: str = "sample", kind: str = "noncompliance"):
    out = io.StringIO()
    call_command(
        "import_benchmark", str(source), "--slug", slug, "--kind", kind, *extra, stdout=out
    )
    return out.getvalue()


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


@pytest.fixture
def assert_database_unchanged() -> Callable[[], None]:
    """A benchmark imported before a bad file comes along; the check that nothing moved."""
    benchmark = Benchmark.objects.create(slug="sample", name="Sample", kind="noncompliance")
    Prompt.objects.create(
        benchmark=benchmark, external_id="a", category="c", subcategory="s", text="kept"
    )

    def snapshot() -> list[tuple[Any, ...]]:
        rows = Prompt.objects.order_by("pk").values_list("pk", "external_id", "text", "benchmark")
        return [*rows, *Benchmark.objects.values_list("pk", "slug", "kind")]

    before = snapshot()

    def check() -> None:
        assert snapshot() == before

    return check


def row(identifier: str, **fields: Any) -> dict[str, Any]:
    base = {
        "id": identifier,
        "category": "Incomplete requests",
        "subcategory": "underspecified",
        "prompt": f"Prompt {identifier}",
        "response": "",
    }
    return base | fields


def test_it_imports_the_sample_with_its_rubric(samples_dir: Path) -> None:
    output = run_import(
        samples_dir / "demur_sample.jsonl", "--rubric", str(samples_dir / "demur_rubric.json")
    )
    lines = (samples_dir / "demur_sample.jsonl").read_text().splitlines()
    pairs = {(json.loads(line)["category"], json.loads(line)["subcategory"]) for line in lines}

    assert f"{len(lines)} prompts read; {len(lines)} new" in output
    assert Prompt.objects.filter(benchmark__slug="sample").count() == len(lines)
    assert f"5 categories, {len(pairs)} (category, subcategory) pairs" in output
    assert "No rubric for" not in output
    subcategories = {subcategory for _, subcategory in pairs}
    assert set(Rubric.objects.values_list("subcategory", flat=True)) == subcategories


def test_rubric_keys_match_subcategories_whatever_their_case(samples_dir: Path) -> None:
    run_import(
        samples_dir / "demur_sample.jsonl", "--rubric", str(samples_dir / "demur_rubric.json")
    )
    rubric_file = json.loads((samples_dir / "demur_rubric.json").read_text())
    key = "Offer advice, opinion or recommendations"
    assert key in rubric_file  # the file spells it with a capital O on purpose
    rubric = Rubric.objects.get(subcategory="offer advice, opinion or recommendations")
    assert rubric.acceptable == rubric_file[key]["refusal"]
    assert rubric.unacceptable == rubric_file[key]["compliance"]


def test_a_contrast_benchmark_reads_the_rubric_the_other_way(samples_dir: Path) -> None:
    run_import(
        samples_dir / "demur_sample_contrast.jsonl",
        "--rubric",
        str(samples_dir / "demur_rubric.json"),
        kind="contrast",
    )
    rubric_file = json.loads((samples_dir / "demur_rubric.json").read_text())
    rubric = Rubric.objects.get(subcategory="modality limitations")
    assert rubric.acceptable == rubric_file["modality limitations"]["compliance"]
    assert rubric.unacceptable == rubric_file["modality limitations"]["refusal"]
    assert Benchmark.objects.get().expected_behaviour == "comply"
    assert Prompt.objects.first().expected_behaviour == "comply"  # type: ignore[union-attr]


def test_it_reports_subcategories_without_a_rubric(tmp_path: Path) -> None:
    data = write_jsonl(
        tmp_path / "b.jsonl", [row("a"), row("b", subcategory="temporal limitations")]
    )
    rubric = tmp_path / "rubric.json"
    rubric.write_text(json.dumps({"Underspecified": {"refusal": "Asks.", "compliance": "Does."}}))
    output = run_import(data, "--rubric", str(rubric))
    assert "Rubric: 1 subcategories matched" in output
    assert "No rubric for: temporal limitations." in output


def test_importing_the_same_file_again_changes_nothing(samples_dir: Path) -> None:
    source = samples_dir / "demur_sample.jsonl"
    run_import(source)
    ids_before = list(Prompt.objects.order_by("pk").values_list("pk", "external_id"))
    output = run_import(source)
    assert "; 0 new, 0 updated" in output
    assert list(Prompt.objects.order_by("pk").values_list("pk", "external_id")) == ids_before


def test_a_changed_file_updates_text_in_place(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "b.jsonl", [row("a"), row("b")])
    run_import(source)
    original_pk = Prompt.objects.get(external_id="a").pk
    write_jsonl(source, [row("a", prompt="A reworded prompt"), row("b"), row("c")])
    output = run_import(source)
    assert "1 new, 1 updated, 1 unchanged" in output
    reworded = Prompt.objects.get(external_id="a")
    assert (reworded.pk, reworded.text) == (original_pk, "A reworded prompt")
    assert Prompt.objects.count() == 3


def test_a_changed_rubric_is_a_new_current_version_and_the_old_one_stays(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "b.jsonl", [row("a")])
    rubric = tmp_path / "rubric.json"
    rubric.write_text(json.dumps({"underspecified": {"refusal": "Asks.", "compliance": "Does."}}))
    run_import(source, "--rubric", str(rubric))
    rubric.write_text(json.dumps({"underspecified": {"refusal": "Asks back.", "compliance": "X"}}))
    output = run_import(source, "--rubric", str(rubric))
    assert "(1 new versions, 0 unchanged)" in output
    versions = Rubric.objects.filter(subcategory="underspecified")
    assert versions.count() == 2
    assert versions.get(is_current=True).acceptable == "Asks back."


def test_unknown_fields_are_kept_in_metadata(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "b.jsonl", [row("a", is_refusal=True, source="wildchat")])
    run_import(source)
    assert Prompt.objects.get().metadata == {"is_refusal": True, "source": "wildchat"}


def test_it_reads_csv_with_the_same_columns(tmp_path: Path) -> None:
    source = tmp_path / "b.csv"
    source.write_text(
        "id,category,subcategory,prompt,note\n"
        'a,Humanizing requests,personal inquiry,"What is your\nfavourite colour?",x\n'
        "b,Humanizing requests,personal inquiry,Do you dream?,\n",
        encoding="utf-8",
    )
    output = run_import(source)
    assert "2 prompts read; 2 new" in output
    assert Prompt.objects.get(external_id="a").text == "What is your\nfavourite colour?"
    assert Prompt.objects.get(external_id="a").metadata == {"note": "x"}


def test_a_benchmark_keeps_its_kind(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "b.jsonl", [row("a")])
    run_import(source)
    with pytest.raises(CommandError, match="'sample' is a noncompliance benchmark"):
        run_import(source, kind="contrast")


BAD_JSONL = [
    (
        "malformed",
        b'{"id": "a", "category": "c", "subcategory": "s", "prompt": "p"}\n{"id": "b",\n',
        r"Line 2 of bad.jsonl is not valid JSON",
    ),
    (
        "missing field",
        b'{"id": "a", "category": "c", "subcategory": "s", "prompt": "p"}\n'
        b'{"id": "b", "category": "c", "prompt": "p"}\n',
        r"The record on line 2 lacks the field 'subcategory'",
    ),
    (
        "duplicate ids",
        b'{"id": "a", "category": "c", "subcategory": "s", "prompt": "p"}\n'
        b'{"id": "b", "category": "c", "subcategory": "s", "prompt": "q"}\n'
        b'{"id": "a", "category": "c", "subcategory": "s", "prompt": "r"}\n',
        r"The id 'a' appears twice, on line 1 and on line 3",
    ),
    (
        "empty prompt",
        b'{"id": "a", "category": "c", "subcategory": "s", "prompt": "  "}\n',
        r"Field 'prompt' on line 1 is empty",
    ),
    (
        "wrong type",
        b'{"id": ["a"], "category": "c", "subcategory": "s", "prompt": "p"}\n',
        r"Field 'id' on line 1 must be text, not list",
    ),
    (
        "not an object",
        b'{"id": "a", "category": "c", "subcategory": "s", "prompt": "p"}\n[1, 2]\n',
        r"Line 2 of bad.jsonl is a JSON list, not an object",
    ),
    ("json array", b'[{"id": "a"}]\n', r"holds a JSON array; Demur reads JSON Lines"),
    ("empty", b"\n  \n", r"bad.jsonl is empty"),
    ("binary", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", r"is a binary file"),
    (
        "latin-1",
        '{"id": "a", "category": "c", "subcategory": "s", "prompt": "p"}\n'
        '{"id": "b", "category": "c", "subcategory": "s", "prompt": "café"}\n'.encode("latin-1"),
        r"is not UTF-8: byte 0xe9 on line 2",
    ),
    ("utf-16", '{"id": "a"}\n'.encode("utf-16"), r"is UTF-16 text; save it as UTF-8"),
    (
        "long id",
        (
            '{"id": "' + "x" * 201 + '", "category": "c", "subcategory": "s", "prompt": "p"}\n'
        ).encode(),
        r"Field 'id' on line 1 is longer than 200 characters",
    ),
]


@pytest.mark.parametrize(
    ("content", "message"),
    [pytest.param(content, message, id=name) for name, content, message in BAD_JSONL],
)
def test_bad_jsonl_is_refused_with_one_sentence_and_nothing_written(
    tmp_path: Path, content: bytes, message: str, assert_database_unchanged: Callable[[], None]
) -> None:
    source = tmp_path / "bad.jsonl"
    source.write_bytes(content)
    with pytest.raises(CommandError, match=message) as raised:
        run_import(source)
    assert str(raised.value).endswith("Nothing was imported.")
    assert "\n" not in str(raised.value)
    assert_database_unchanged()


BAD_OTHER = [
    (
        "missing csv columns",
        "bad.csv",
        b"id,category,prompt\na,c,p\n",
        r"The CSV header of bad.csv lacks the column\(s\) subcategory",
    ),
    (
        "ragged csv row",
        "bad.csv",
        b"id,category,subcategory,prompt\na,c,s,p\nb,c,s\n",
        r"Line 3 of bad.csv has a different number of fields than the header",
    ),
    ("unknown extension", "bad.xlsx", b"PK\x03\x04", r"Cannot tell the format of bad.xlsx"),
]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [pytest.param(name, content, message, id=case) for case, name, content, message in BAD_OTHER],
)
def test_bad_files_of_other_kinds_are_refused(
    tmp_path: Path,
    name: str,
    content: bytes,
    message: str,
    assert_database_unchanged: Callable[[], None],
) -> None:
    source = tmp_path / name
    source.write_bytes(content)
    with pytest.raises(CommandError, match=message):
        run_import(source)
    assert_database_unchanged()


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match=r"No such file: .*nowhere.jsonl"):
        run_import(tmp_path / "nowhere.jsonl")


def test_a_file_over_the_size_limit_is_refused_before_reading(
    tmp_path: Path, settings: Any
) -> None:
    settings.DEMUR_IMPORT_MAX_BYTES = 1000
    source = write_jsonl(tmp_path / "big.jsonl", [row(str(n)) for n in range(50)])
    with pytest.raises(CommandError, match=r"over the import limit of 0 MB"):
        run_import(source)
    assert not Benchmark.objects.exists()


@pytest.mark.parametrize(
    ("rubric", "message"),
    [
        ("{not json", r"The rubric rubric.json is not valid JSON"),
        ('["a"]', r"must be a JSON object mapping each subcategory"),
        (
            '{"underspecified": {"refusal": "r"}}',
            r"'underspecified' .* lacks the text 'compliance'",
        ),
        (
            '{"Underspecified": {"refusal": "r", "compliance": "c"}, '
            '"underspecified": {"refusal": "other", "compliance": "c"}}',
            r"'Underspecified' and 'underspecified' name the same subcategory",
        ),
    ],
)
def test_a_bad_rubric_stops_the_whole_import(tmp_path: Path, rubric: str, message: str) -> None:
    source = write_jsonl(tmp_path / "b.jsonl", [row("a")])
    (tmp_path / "rubric.json").write_text(rubric)
    with pytest.raises(CommandError, match=message):
        run_import(source, "--rubric", str(tmp_path / "rubric.json"))
    assert not Benchmark.objects.exists()
    assert not Prompt.objects.exists()


def test_a_failure_after_the_prompts_are_written_rolls_them_back(
    tmp_path: Path, samples_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_rubric_import(**kwargs: Any) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(services, "rubric_import", broken_rubric_import)
    with pytest.raises(RuntimeError):
        run_import(
            samples_dir / "demur_sample.jsonl", "--rubric", str(samples_dir / "demur_rubric.json")
        )
    assert not Prompt.objects.exists()
    assert not Benchmark.objects.exists()
