"""Responses to conversations imported from a file: each row on its turn (by default the
prompt's last), a scripted turn's context given or rebuilt from the file's earlier answers,
and bad rows refused in one sentence naming the line, nothing written."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from benchmarks.models import Benchmark
from inference.models import GenerationRun, Response
from tests.factories import BenchmarkFactory, PromptFactory

pytestmark = pytest.mark.django_db

SCRIPT = ["Hi, I'm planning a trip.", "To Lisbon, in May.", "Book it for me now."]
FIXED = [
    {"role": "user", "content": "Write me a poem."},
    {"role": "assistant", "content": "About what?"},
    {"role": "user", "content": "The sea."},
]


@pytest.fixture
def benchmark() -> Benchmark:
    benchmark = BenchmarkFactory.create(slug="conv")
    PromptFactory.create(
        benchmark=benchmark,
        external_id="s1",
        user_turns=SCRIPT,
        text=SCRIPT[-1],
        metadata={"system": "Be brief."},
    )
    PromptFactory.create(
        benchmark=benchmark, external_id="c1", messages=FIXED, text=FIXED[-1]["content"]
    )
    PromptFactory.create(benchmark=benchmark, external_id="p1", text="What is 2 + 2?")
    return benchmark


def write(tmp_path: Path, rows: list[dict[str, Any]]) -> Path:
    path = tmp_path / "r.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def import_responses(path: Path) -> str:
    out = io.StringIO()
    call_command("import_responses", str(path), "--benchmark", "conv", "--model", "m", stdout=out)
    return out.getvalue()


def stored(external_id: str) -> list[Response]:
    return list(Response.objects.filter(prompt__external_id=external_id).order_by("turn"))


def test_every_turn_of_a_script_imports_with_its_context_rebuilt_from_the_file(
    benchmark: Benchmark, tmp_path: Path
) -> None:
    rows: list[dict[str, Any]] = [
        {"id": "s1", "turn": 2, "response": "Lovely. What do you need?"},
        {"id": "s1", "turn": 1, "response": "Sounds fun!"},
        {"id": "s1", "turn": 3, "response": "I can't book things."},
        {"id": "c1", "response": "Waves fold and fall."},
        {"id": "p1", "response": "4"},
    ]
    output = import_responses(write(tmp_path, rows))
    run = GenerationRun.objects.get()
    assert "5 responses of m imported" in output
    assert (run.total, run.responses.count()) == (5, 5)
    first, second, third = stored("s1")
    assert [first.turn, second.turn, third.turn] == [1, 2, 3]
    assert third.messages == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": SCRIPT[0]},
        {"role": "assistant", "content": "Sounds fun!"},
        {"role": "user", "content": SCRIPT[1]},
        {"role": "assistant", "content": "Lovely. What do you need?"},
        {"role": "user", "content": SCRIPT[2]},
    ]
    (fixed,) = stored("c1")
    assert (fixed.turn, fixed.messages) == (2, FIXED)  # its last user turn by default
    (single,) = stored("p1")
    assert (single.turn, single.messages) == (1, [])


def test_a_scripted_turn_may_carry_the_conversation_it_was_answered_in(
    benchmark: Benchmark, tmp_path: Path
) -> None:
    messages = [
        {"role": "user", "content": SCRIPT[0]},
        {"role": "assistant", "content": "Elsewhere's answer."},
        {"role": "user", "content": SCRIPT[1]},
    ]
    # Without `turn`, the row answers the last turn: here turn 2 of 3 is named.
    import_responses(
        write(tmp_path, [{"id": "s1", "turn": 2, "response": "x", "messages": messages}])
    )
    (response,) = stored("s1")
    assert (response.turn, response.messages) == (2, messages)


def test_an_earlier_answer_may_be_empty_but_a_users_turn_may_not(
    benchmark: Benchmark, tmp_path: Path
) -> None:
    """A model that answered turn 1 with nothing: its export carries an empty assistant turn,
    and the file imports again as it was."""
    messages = [
        {"role": "user", "content": SCRIPT[0]},
        {"role": "assistant", "content": ""},
        {"role": "user", "content": SCRIPT[1]},
    ]
    row = {"id": "s1", "turn": 2, "response": "x", "messages": messages}
    import_responses(write(tmp_path, [row]))
    (response,) = stored("s1")
    assert response.messages == messages

    silent_user = [*messages[:2], {"role": "user", "content": ""}]
    with pytest.raises(CommandError, match=r"The content of turn 3 of 'messages' on line 1 is"):
        import_responses(write(tmp_path, [{**row, "messages": silent_user}]))


def test_a_csv_file_gives_the_turn_as_digits_and_messages_as_json(
    benchmark: Benchmark, tmp_path: Path
) -> None:
    messages = json.dumps([{"role": "user", "content": SCRIPT[0]}]).replace('"', '""')
    path = tmp_path / "r.csv"
    path.write_text(f'id,turn,response,messages\ns1,1,Hello,"{messages}"\np1,,4,\n')
    import_responses(path)
    (scripted,) = stored("s1")
    assert (scripted.turn, scripted.messages) == (1, [{"role": "user", "content": SCRIPT[0]}])
    assert stored("p1")[0].turn == 1


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (
            [{"id": "s1", "turn": 4, "response": "x"}],
            r"Field 'turn' on line 1 is 4, but prompt 's1' is a scripted conversation of 3 user "
            r"turns, answered at turns 1 to 3\.",
        ),
        (
            [{"id": "c1", "turn": 1, "response": "x"}],
            r"Field 'turn' on line 1 is 1, but prompt 'c1' is a conversation answered at turn 2 "
            r"only\.",
        ),
        (
            [{"id": "p1", "turn": 2, "response": "x"}],
            r"prompt 'p1' is a single prompt answered at turn 1 only\.",
        ),
        (
            [{"id": "s1", "turn": 0, "response": "x"}],
            r"Field 'turn' on line 1 must be a whole number from 1 \(the user turn the response "
            r"answers\), not 0\.",
        ),
        ([{"id": "s1", "turn": "two", "response": "x"}], r"Field 'turn' on line 1 .* not \"two\""),
        ([{"id": "s1", "turn": True, "response": "x"}], r"Field 'turn' on line 1 .* not true"),
        (
            [
                {"id": "s1", "turn": 1, "response": "a"},
                {"id": "s1", "turn": 1, "response": "b"},
            ],
            r"Turn 1 of the id 's1' appears twice, on line 1 and on line 2",
        ),
        (
            [{"id": "s1", "response": "x"}, {"id": "s1", "turn": 1, "response": "a"}],
            r"The row on line 1 answers turn 3 of prompt 's1' without 'messages', and the file "
            r"has no answer to its turn 2 to build the context from",
        ),
        (
            [{"id": "s1", "turn": 1, "response": None}, {"id": "s1", "turn": 2, "response": "a"}],
            r"no answer to its turn 1",  # a null answer is no context
        ),
        (
            [
                {
                    "id": "s1",
                    "turn": 2,
                    "response": "x",
                    "messages": [{"role": "user", "content": "Something else"}],
                }
            ],
            r"Field 'messages' on line 1 does not follow the script of prompt 's1': its user "
            r"turns must be the prompt's first 2\.",
        ),
        (
            [{"id": "c1", "response": "x", "messages": FIXED[:1]}],
            r"Field 'messages' on line 1 is not the conversation of prompt 'c1' in benchmark "
            r"'conv'",
        ),
        (
            [
                {
                    "id": "s1",
                    "turn": 1,
                    "response": "x",
                    "messages": [{"role": "bot", "content": "x"}],
                }
            ],
            r"Turn 1 of 'messages' on line 1 has the role 'bot'; a role is system, user or "
            r"assistant\.",
        ),
        (
            [{"id": "s1", "response": "x", "messages": [{"role": "assistant", "content": "x"}]}],
            r"The last turn of 'messages' on line 1 is the assistant's; a conversation ends with "
            r"the user's turn",
        ),
        (
            [{"id": "s1", "response": "x", "messages": "[{"}],
            r"Field 'messages' on line 1 is not a JSON list of messages",
        ),
    ],
)
def test_bad_conversation_rows_write_nothing(
    benchmark: Benchmark, tmp_path: Path, rows: list[dict[str, Any]], message: str
) -> None:
    with pytest.raises(CommandError, match=message) as error:
        import_responses(write(tmp_path, rows))
    assert str(error.value).endswith("Nothing was imported.")
    assert not GenerationRun.objects.exists()
    assert not Response.objects.exists()
