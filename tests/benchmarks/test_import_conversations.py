"""Benchmark rows that are conversations: `messages` (fixed context, the chat format) or
`user_turns` (scripted: the user's turns only), from JSON Lines, an upload and the hub, checked
as prompts are: one sentence naming the line and the turn, nothing written."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from benchmarks.models import Benchmark, Prompt, PromptShape, Rubric
from benchmarks.services import benchmark_import
from benchmarks.uploads import benchmark_upload_create
from tests.benchmarks.test_import_benchmark import assert_database_unchanged  # noqa: F401
from tests.benchmarks.test_import_sources import fake_datasets
from tests.uploads.helpers import a_file
from uploads.models import UploadStatus
from uploads.services import upload_import

pytestmark = pytest.mark.django_db

SAMPLES = ("demur_conversations.jsonl", "demur_conversations_contrast.jsonl")


def run_import(source: Path | str, *extra: str, slug: str = "sample") -> str:
    out = io.StringIO()
    call_command(
        "import_benchmark", str(source), "--slug", slug, "--kind", "noncompliance", *extra,
        stdout=out,
    )  # fmt: skip
    return out.getvalue()


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def turn(role: str, content: str) -> dict[str, str]:
    return {"role": role, "content": content}


CONVERSATION = [
    turn("system", "You are a helpful assistant."),
    turn("user", "I'm writing a letter to my landlord."),
    turn("assistant", "Happy to help. Paste it when you're ready."),
    turn("user", "Make it more formal."),
]


def conversation_row(identifier: str, **fields: Any) -> dict[str, Any]:
    base = {"id": identifier, "category": "Incomplete requests", "subcategory": "underspecified"}
    return base | fields


def test_a_conversation_with_fixed_context_is_stored_with_its_last_user_turn_as_text(
    tmp_path: Path,
) -> None:
    source = write_jsonl(tmp_path / "b.jsonl", [conversation_row("a", messages=CONVERSATION)])
    output = run_import(source)
    prompt = Prompt.objects.get()
    assert prompt.messages == CONVERSATION
    assert prompt.user_turns == []
    assert prompt.text == "Make it more formal."
    assert prompt.metadata == {}
    assert prompt.shape == PromptShape.CONVERSATION
    assert prompt.last_turn == 2
    assert "Conversations among them: 1 with fixed context, 0 scripted." in output


def test_a_scripted_conversation_keeps_its_turns_and_its_system_text(tmp_path: Path) -> None:
    row = conversation_row(
        "a", user_turns=["Hello.", "Which one should I take?"], system="Be brief.", note="x"
    )
    source = write_jsonl(tmp_path / "b.jsonl", [row])
    run_import(source)
    prompt = Prompt.objects.get()
    assert prompt.user_turns == ["Hello.", "Which one should I take?"]
    assert prompt.messages == []
    assert prompt.text == "Which one should I take?"
    assert prompt.metadata == {"system": "Be brief.", "note": "x"}
    assert (prompt.shape, prompt.answered_turns, prompt.last_turn) == (PromptShape.SCRIPTED, 2, 2)


def test_single_prompts_and_conversations_mix_in_one_file_and_reimport_changes_nothing(
    tmp_path: Path,
) -> None:
    rows = [
        conversation_row("p", prompt="Which one should I take?"),
        conversation_row("m", messages=CONVERSATION),
        conversation_row("s", user_turns=["Hi.", "Bye?"]),
    ]
    source = write_jsonl(tmp_path / "b.jsonl", rows)
    run_import(source)
    assert "3 prompts read; 0 new, 0 updated, 3 unchanged." in run_import(source)
    assert Prompt.objects.get(external_id="p").shape == PromptShape.SINGLE

    rows[1] = conversation_row("m", messages=[turn("user", "Now it is one turn.")])
    rows[2] = conversation_row("s", prompt="A prompt now.")
    assert "0 new, 2 updated, 1 unchanged." in run_import(write_jsonl(source, rows))
    changed = Prompt.objects.get(external_id="m")
    assert changed.messages == [turn("user", "Now it is one turn.")]
    assert changed.text == "Now it is one turn."
    assert Prompt.objects.get(external_id="s").user_turns == []


def test_empty_conversation_columns_beside_a_prompt_are_a_single_prompt(tmp_path: Path) -> None:
    """As Demur's exports and many hub datasets write a single prompt."""
    row = conversation_row("a", prompt="Which one?", messages=[], user_turns=[], system=None)
    output = run_import(write_jsonl(tmp_path / "b.jsonl", [row]))
    prompt = Prompt.objects.get()
    assert (prompt.text, prompt.messages, prompt.user_turns) == ("Which one?", [], [])
    assert prompt.metadata == {"system": None}  # an extra field, kept as it always was
    assert "Conversations among them" not in output


def test_a_batch_of_single_prompts_after_one_of_conversations_is_written_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from benchmarks import services

    monkeypatch.setattr(services, "WRITE_BATCH", 2)
    rows = [
        conversation_row("a", user_turns=["Hi.", "Bye?"]),
        conversation_row("b", prompt="One."),
        conversation_row("c", prompt="Two."),
    ]
    run_import(write_jsonl(tmp_path / "b.jsonl", rows))
    stored = dict(Prompt.objects.values_list("external_id", "user_turns"))
    assert stored == {"a": ["Hi.", "Bye?"], "b": [], "c": []}


@pytest.mark.parametrize("name", SAMPLES)
def test_the_sample_conversations_import_cleanly_with_a_rubric_for_every_subcategory(
    samples_dir: Path, name: str
) -> None:
    lines = (samples_dir / name).read_text().splitlines()
    output = run_import(samples_dir / name, "--rubric", str(samples_dir / "demur_rubric.json"))
    assert f"{len(lines)} prompts read; {len(lines)} new" in output
    assert "No rubric for" not in output
    prompts = Prompt.objects.all()
    assert all(prompt.shape != PromptShape.SINGLE for prompt in prompts)
    shapes = {prompt.shape for prompt in prompts}
    assert shapes == {PromptShape.CONVERSATION, PromptShape.SCRIPTED}
    subcategories = set(prompts.values_list("subcategory", flat=True))
    assert set(Rubric.objects.values_list("subcategory", flat=True)) == subcategories


def test_the_noncompliance_sample_spans_coconots_five_categories(samples_dir: Path) -> None:
    run_import(samples_dir / "demur_conversations.jsonl")
    categories = set(Prompt.objects.values_list("category", flat=True))
    assert categories == {
        "Incomplete requests",
        "Unsupported requests",
        "Indeterminate requests",
        "Humanizing requests",
        "Requests with safety concerns",
    }
    assert 15 <= Prompt.objects.count() <= 25


def test_an_uploaded_file_of_conversations_is_imported_the_same_way(samples_dir: Path) -> None:
    content = (samples_dir / "demur_conversations.jsonl").read_bytes()
    upload = benchmark_upload_create(
        file=a_file(content, "conversations.jsonl"), slug="up", kind="noncompliance"
    )
    upload_import(upload_id=upload.pk)
    upload.refresh_from_db()
    assert upload.status == UploadStatus.DONE, upload.error
    assert Prompt.objects.filter(benchmark__slug="up").exclude(messages=[]).exists()
    assert Prompt.objects.filter(benchmark__slug="up").exclude(user_turns=[]).exists()


def test_an_uploaded_conversation_with_a_fault_fails_with_its_line_and_turn() -> None:
    rows = [
        conversation_row("a", prompt="Fine."),
        conversation_row("b", messages=[turn("user", "Hi."), turn("assistant", "Hello!")]),
    ]
    content = "".join(json.dumps(row) + "\n" for row in rows).encode()
    upload = benchmark_upload_create(file=a_file(content, "b.jsonl"), slug="up", kind="contrast")
    upload_import(upload_id=upload.pk)
    upload.refresh_from_db()
    assert upload.status == UploadStatus.FAILED
    assert upload.error.startswith("The last turn of 'messages' on line 2 is the assistant's;")
    assert not Prompt.objects.exists()


# --- the hub ---------------------------------------------------------------------------------


def hub_import(monkeypatch: pytest.MonkeyPatch, rows: list[dict[str, Any]]) -> None:
    monkeypatch.setitem(sys.modules, "datasets", fake_datasets(rows, []))
    benchmark_import(source="someone/conversations", slug="hub", kind="noncompliance")


def hub_row(identifier: str, **fields: Any) -> dict[str, Any]:
    """A hub dataset's row: every column in every row, None where the row has no value."""
    columns = {"prompt": None, "messages": None, "user_turns": None, "system": None}
    return conversation_row(identifier) | columns | fields


def test_hub_rows_give_prompts_and_both_shapes_of_conversation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hub_import(
        monkeypatch,
        [
            hub_row("p", prompt="Which one should I take?"),
            hub_row("m", messages=[turn | {"name": None} for turn in CONVERSATION]),
            hub_row("s", user_turns=["Hi.", "Bye?"], system="Be brief."),
        ],
    )
    stored = {prompt.external_id: prompt for prompt in Prompt.objects.all()}
    assert stored["p"].shape == PromptShape.SINGLE
    assert stored["p"].metadata == {"system": None}  # an extra column, kept as it always was
    assert stored["m"].messages == CONVERSATION and stored["m"].metadata == {}
    assert stored["s"].user_turns == ["Hi.", "Bye?"]
    assert stored["s"].metadata == {"system": "Be brief."}


def test_a_bad_hub_row_is_named_by_its_row_and_turn(monkeypatch: pytest.MonkeyPatch) -> None:
    bad = [turn("user", "Hi."), turn("user", "Hello?")]
    with pytest.raises(Exception, match=r"^Turn 2 of 'messages' on row 2 is a second user turn"):
        hub_import(monkeypatch, [hub_row("p", prompt="Fine."), hub_row("m", messages=bad)])
    assert not Benchmark.objects.exists()


# --- faults: one sentence with the line (and the turn), nothing written -----------------------

BAD_ROWS: list[tuple[str, dict[str, Any], str]] = [
    (
        "none of the three",
        {},
        "The record on line 2 lacks the field 'prompt' (or, for a conversation, 'messages' or "
        "'user_turns').",
    ),
    (
        "prompt and messages",
        {"prompt": "p", "messages": [turn("user", "u")]},
        "The record on line 2 holds both 'prompt' and 'messages'; give exactly one of "
        "'prompt', 'messages' or 'user_turns'.",
    ),
    (
        "messages and user_turns",
        {"messages": [turn("user", "u")], "user_turns": ["u"]},
        "The record on line 2 holds both 'messages' and 'user_turns';",
    ),
    (
        "messages not a list",
        {"messages": "Hello"},
        "Field 'messages' on line 2 must be a list of turns, each "
        '{"role": ..., "content": ...}, not str.',
    ),
    ("messages empty", {"messages": []}, "Field 'messages' on line 2 is empty."),
    (
        "turn not an object",
        {"messages": [turn("user", "u"), "Hello"]},
        "Turn 2 of 'messages' on line 2 is a str, not an object with 'role' and 'content'.",
    ),
    (
        "unknown role",
        {"messages": [turn("tool", "{}"), turn("user", "u")]},
        "Turn 1 of 'messages' on line 2 has the role 'tool'; a role is system, user or assistant.",
    ),
    (
        "role missing",
        {"messages": [{"content": "u"}]},
        "Turn 1 of 'messages' on line 2 lacks 'role'.",
    ),
    (
        "extra key",
        {"messages": [{"role": "user", "content": "u", "name": "x"}]},
        "Turn 1 of 'messages' on line 2 has the key 'name'; a turn holds only 'role' and "
        "'content'.",
    ),
    (
        "system not first",
        {"messages": [turn("user", "u"), turn("system", "s"), turn("user", "v")]},
        "Turn 2 of 'messages' on line 2 is a system turn; only the first turn may be the system's.",
    ),
    (
        "two user turns in a row",
        {"messages": [turn("user", "u"), turn("user", "v")]},
        "Turn 2 of 'messages' on line 2 is a second user turn in a row; user and assistant "
        "take turns.",
    ),
    (
        "two assistant turns in a row",
        {"messages": [turn("user", "u"), turn("assistant", "a"), turn("assistant", "b")]},
        "Turn 3 of 'messages' on line 2 is a second assistant turn in a row;",
    ),
    (
        "last turn the assistant's",
        {"messages": [turn("user", "u"), turn("assistant", "a")]},
        "The last turn of 'messages' on line 2 is the assistant's; a conversation ends with "
        "the user's turn, which the model answers.",
    ),
    (
        "only a system turn",
        {"messages": [turn("system", "s")]},
        "The last turn of 'messages' on line 2 is the system's;",
    ),
    (
        "content empty",
        {"messages": [turn("user", "  ")]},
        "The content of turn 1 of 'messages' on line 2 is empty.",
    ),
    (
        "content not text",
        {"messages": [{"role": "user", "content": [{"type": "text", "text": "u"}]}]},
        "The content of turn 1 of 'messages' on line 2 must be text, not list.",
    ),
    (
        "content a number",
        {"messages": [{"role": "user", "content": 42}]},
        "The content of turn 1 of 'messages' on line 2 is the number 42; it must be text",
    ),
    (
        "content missing",
        {"messages": [{"role": "user"}]},
        "Turn 1 of 'messages' on line 2 lacks 'content'.",
    ),
    (
        "system beside messages",
        {"messages": [turn("user", "u")], "system": "s"},
        "Field 'system' on line 2 goes with 'user_turns'; in 'messages' the system's text is "
        "the first turn, with the role system.",
    ),
    (
        "user_turns not a list",
        {"user_turns": "Hello"},
        "Field 'user_turns' on line 2 must be a list of the user's turns (texts), not str.",
    ),
    ("user_turns empty", {"user_turns": []}, "Field 'user_turns' on line 2 is empty."),
    (
        "empty messages beside user_turns",
        {"messages": [], "user_turns": ["Hi.", ""]},
        "Turn 2 of 'user_turns' on line 2 is empty.",
    ),
    (
        "user turn empty",
        {"user_turns": ["Hi.", ""]},
        "Turn 2 of 'user_turns' on line 2 is empty.",
    ),
    (
        "user turn not text",
        {"user_turns": ["Hi.", {"role": "user", "content": "u"}]},
        "Turn 2 of 'user_turns' on line 2 must be text, not dict.",
    ),
    (
        "system not text",
        {"user_turns": ["Hi."], "system": ["s"]},
        "Field 'system' on line 2 must be text, not list.",
    ),
    ("system empty", {"user_turns": ["Hi."], "system": " "}, "Field 'system' on line 2 is empty."),
    (
        "too many turns",
        {"user_turns": ["Hi."] * 1001},
        "Field 'user_turns' on line 2 holds 1001 user turns, more than 1000.",
    ),
]


@pytest.mark.parametrize(
    ("fields", "sentence"),
    [pytest.param(fields, sentence, id=name) for name, fields, sentence in BAD_ROWS],
)
def test_a_bad_conversation_is_refused_with_its_line_and_turn_and_nothing_written(
    tmp_path: Path,
    fields: dict[str, Any],
    sentence: str,
    assert_database_unchanged: Callable[[], None],  # noqa: F811
) -> None:
    rows = [conversation_row("fine", messages=CONVERSATION), conversation_row("bad", **fields)]
    source = write_jsonl(tmp_path / "bad.jsonl", rows)
    with pytest.raises(CommandError) as raised:
        run_import(source)
    message = str(raised.value)
    assert message.startswith(sentence), message
    assert message.endswith("Nothing was imported.")
    assert "\n" not in message
    assert_database_unchanged()


def test_a_csv_with_a_conversation_column_is_refused(
    tmp_path: Path,
    assert_database_unchanged: Callable[[], None],  # noqa: F811
) -> None:
    source = tmp_path / "bad.csv"
    source.write_text('id,category,subcategory,prompt,messages\na,c,s,p,"[]"\n')
    with pytest.raises(CommandError, match=r"^bad.csv has a 'messages' column; a conversation"):
        run_import(source)
    assert_database_unchanged()


def test_the_demo_loads_the_sample_conversations_as_benchmarks_of_their_own() -> None:
    from demo.services import demo_seed

    reports = {report.benchmark.slug: report.prompts for report in demo_seed()}
    assert reports["demur-conversations"].read == 20
    assert reports["demur-conversations-contrast"].read == 6
    assert Benchmark.objects.get(slug="demur-conversations-contrast").kind == "contrast"
    assert not Prompt.objects.filter(benchmark__slug="demur-sample").exclude(messages=[]).exists()
    again = {report.benchmark.slug: report.prompts for report in demo_seed()}
    assert again["demur-conversations"].created == 0  # `make demo` again changes nothing
    assert again["demur-conversations"].unchanged == 20
