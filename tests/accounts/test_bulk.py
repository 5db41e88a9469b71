"""rows_insert writes what bulk_create writes, by COPY on PostgreSQL and by INSERT elsewhere:
text with the characters COPY escapes, JSON, the defaults of the fields not given (on
PostgreSQL, the database's own where a column has one)."""

from __future__ import annotations

import pytest
from django.db import connection

from accounts.bulk import rows_insert
from benchmarks.models import Benchmark, Prompt
from inference.models import GenerationRun, Response

pytestmark = pytest.mark.django_db

AWKWARD = "tab\there, new\nline, back\\slash, \\N, quote ' \" , é, 🙂, \r"
COLUMNS = ("benchmark_id", "external_id", "category", "subcategory", "text", "metadata")


@pytest.fixture(params=["this database", "the INSERT path"])
def path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "the INSERT path":
        monkeypatch.setattr(connection, "vendor", "not-postgresql")
    return str(request.param)


def test_rows_come_back_as_they_went_in(path: str) -> None:
    benchmark = Benchmark.objects.create(slug="b", name="b", kind="noncompliance")
    metadata = {"nested": {"list": [1, 2.5, None, True]}, "text": AWKWARD}
    rows_insert(
        Prompt,
        COLUMNS,
        [
            (benchmark.pk, "a", "c", "s", AWKWARD, metadata),
            (benchmark.pk, "b", "c", "s", "plain", {}),
        ],
    )
    stored = list(
        Prompt.objects.order_by("external_id").values_list(
            "external_id", "text", "metadata", "written_for_check"
        )
    )
    assert stored == [("a", AWKWARD, metadata, False), ("b", "plain", {}, False)]


def test_fields_not_given_take_their_defaults(path: str) -> None:
    benchmark = Benchmark.objects.create(slug="b", name="b", kind="noncompliance")
    prompt = Prompt.objects.create(benchmark=benchmark, external_id="a", category="c",
                                   subcategory="s", text="t")  # fmt: skip
    run = GenerationRun.objects.create(benchmark=benchmark, model_name="m")
    rows_insert(Response, ("run_id", "prompt_id", "text"), [(run.pk, prompt.pk, "")])
    response = Response.objects.get()
    assert (response.text, response.finish_reason, response.error) == ("", "", "")
    assert response.completion_tokens is None
    assert response.created_at is not None
    # Left to their database defaults on PostgreSQL (COPY sends nothing for them).
    assert (response.turn, response.messages) == (1, [])
    assert Prompt.objects.values_list("messages", "user_turns").get() == ([], [])
