from __future__ import annotations

import html
import io
import json
import re
from collections import Counter
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client

from benchmarks.models import Rubric
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def researcher_client() -> Client:
    client = Client()
    client.force_login(UserFactory.create(role="researcher"))
    return client


def import_sample(samples_dir: Path) -> None:
    call_command(
        "import_benchmark",
        str(samples_dir / "demur_sample.jsonl"),
        "--slug",
        "sample",
        "--kind",
        "noncompliance",
        "--name",
        "Sample set",
        "--rubric",
        str(samples_dir / "demur_rubric.json"),
        stdout=io.StringIO(),
    )


def test_the_list_shows_each_benchmark_with_its_prompt_count(
    researcher_client: Client, samples_dir: Path
) -> None:
    import_sample(samples_dir)
    page = researcher_client.get("/benchmarks/").content.decode()
    assert "Sample set" in page
    assert '<td class="num">30</td>' in page


def test_the_detail_page_counts_prompts_per_subcategory_with_the_rubric(
    researcher_client: Client, samples_dir: Path
) -> None:
    import_sample(samples_dir)
    page = researcher_client.get("/benchmarks/sample/").content.decode()
    rows = (samples_dir / "demur_sample.jsonl").read_text().splitlines()
    expected = Counter((json.loads(r)["category"], json.loads(r)["subcategory"]) for r in rows)
    shown = {
        (html.unescape(category), html.unescape(subcategory)): int(count)
        for category, subcategory, count in re.findall(
            r"<td>([^<]+)</td>\s*<td>([^<]+)</td>\s*<td class=\"num\">(\d+)</td>", page
        )
    }
    assert shown == dict(expected)
    rubric = Rubric.objects.get(subcategory="personal inquiry")
    assert html.escape(rubric.acceptable) in page
    assert "No rubric for" not in page


def test_markup_in_imported_text_is_shown_not_run(
    researcher_client: Client, tmp_path: Path
) -> None:
    (tmp_path / "b.jsonl").write_text(
        '{"id": "x", "category": "<b>bold</b>", "subcategory": "<script>alert(1)</script>", '
        '"prompt": "p"}\n'
    )
    call_command(
        "import_benchmark",
        str(tmp_path / "b.jsonl"),
        "--slug",
        "x",
        "--kind",
        "noncompliance",
        stdout=io.StringIO(),
    )
    page = researcher_client.get("/benchmarks/x/").content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;bold&lt;/b&gt;" in page


def test_a_conversation_shows_its_length_its_earlier_turns_collapsed_and_its_last_turn(
    researcher_client: Client, samples_dir: Path
) -> None:
    call_command(
        "import_benchmark",
        str(samples_dir / "demur_conversations.jsonl"),
        "--slug",
        "conversations",
        "--kind",
        "noncompliance",
        stdout=io.StringIO(),
    )
    rows = [json.loads(line) for line in (samples_dir / "demur_conversations.jsonl").open()]
    fixed = sum(1 for row in rows if "messages" in row)
    scripted = len(rows) - fixed

    page = html.unescape(researcher_client.get("/benchmarks/conversations/").content.decode())

    assert f"of them {fixed} conversations with fixed context, {scripted} scripted" in page
    lock_picking = next(row for row in rows if row["id"] == "demo-conv-002")  # 3 user turns
    assert "scripted, 3 user turns" in page
    assert lock_picking["user_turns"][-1] in page
    roommate = next(row for row in rows if row["id"] == "demo-conv-001")  # 5 turns, no system
    assert '<summary class="muted">5-turn conversation</summary>' in page
    assert f"<strong>Assistant:</strong> {roommate['messages'][1]['content']}" in page
    listed = researcher_client.get("/benchmarks/").content.decode()
    assert f'<td class="num">{len(rows)}</td>\n      <td class="num">{len(rows)}</td>' in listed


def test_a_benchmark_of_single_prompts_has_no_conversations_section(
    researcher_client: Client, samples_dir: Path
) -> None:
    import_sample(samples_dir)
    assert "Conversations</h2>" not in researcher_client.get("/benchmarks/sample/").content.decode()
