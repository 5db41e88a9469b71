"""Adding checks to a campaign (annotate/services/checks.py): gold questions from another
campaign's gold labels, attention checks on its own responses, hand-written gold questions, and
the quality-control settings. Every refusal is one sentence, and nothing is written then."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.forms.models import model_to_dict

from annotate.models import Campaign, CheckKind, GoldSource, Item
from annotate.schemes import XSTEST, scheme_for
from annotate.services.checks import (
    ATTENTION_SOURCE,
    WRITTEN_MODEL_NAME,
    attention_text_filled,
    check_counts,
    check_items,
    checks_attention,
    checks_from_gold,
    checks_written,
    quality_settings_set,
)
from annotate.services.errors import CheckError
from benchmarks.models import Prompt
from inference.models import GenerationRun, Response
from tests.annotate.builders import (
    annotators,
    campaign_over,
    pairwise_over,
    run_with_responses,
    runs_on_the_same_prompts,
)
from tests.annotate.check_builders import (
    COCONOT_VALUES,
    answer_check,
    checks_of,
    gold_by_response,
    gold_campaign,
)
from tests.factories import PromptFactory, UserFactory

pytestmark = pytest.mark.django_db


def stored() -> dict[str, Any]:
    """Everything adding checks may write, to compare before and after a refusal."""
    return {
        "items": sorted(Item.objects.values_list("pk", "check_kind", "slots_left")),
        "prompts": Prompt.objects.count(),
        "responses": Response.objects.count(),
        "runs": GenerationRun.objects.count(),
        "campaigns": {
            c.pk: model_to_dict(c, exclude=["runs", "sampling_judges", "annotators"])
            for c in Campaign.objects.all()
        },
    }


def refused(call: Any, **kwargs: Any) -> CheckError:
    """The CheckError ``call(**kwargs)`` raises, having written nothing."""
    before = stored()
    with pytest.raises(CheckError) as refusal:
        call(**kwargs)
    assert stored() == before
    return refusal.value


# --- Gold questions from another campaign ------------------------------------------------------


def test_gold_questions_ask_the_source_responses_with_their_gold_as_the_answer() -> None:
    source = gold_campaign(12, adjudicated={0, 4, 8})
    campaign = campaign_over(run_with_responses(5))
    regular_before = sorted(campaign.items.values_list("pk", "response_id", "slots_left"))

    added = checks_from_gold(campaign=campaign, source_campaign=source, count=5, seed=1)

    assert (added.kind, added.added, added.skipped) == ("gold", 5, 0)
    assert added.sentence == "Added 5 gold questions."
    gold = gold_by_response(source)
    checks = checks_of(campaign)
    assert len(checks) == 5
    assert len({check.response_id for check in checks}) == 5
    for check in checks:
        item_id, value, gold_source = gold[check.response_id]
        assert check.check_kind == CheckKind.GOLD
        assert check.check_answer == value
        who = (
            "set by a researcher" if gold_source == GoldSource.ADJUDICATED else "annotators agreed"
        )
        assert check.check_source == f"gold of item {item_id} in campaign 'Earlier' ({who})"
        assert (check.slots_left, check.position, check.inclusion_probability) == (0, 0, 1.0)
    # The regular items are as they were.
    regular = campaign.items.filter(check_kind=CheckKind.NONE)
    assert sorted(regular.values_list("pk", "response_id", "slots_left")) == regular_before


def test_the_draw_is_random_and_repeatable_by_seed() -> None:
    source = gold_campaign(30)

    def drawn(seed: int) -> set[int]:
        campaign = campaign_over(run_with_responses(1), name=f"seed {seed}")
        checks_from_gold(campaign=campaign, source_campaign=source, count=6, seed=seed)
        return {check.response_id for check in checks_of(campaign)}

    first, again, other = drawn(7), drawn(7), drawn(8)
    assert first == again
    assert first != other
    # Not simply the first six gold labels of the source.
    by_position = sorted(source.items.values_list("position", "response_id"))
    first_six = {response for _, response in by_position[:6]}
    assert not first == other == first_six
    assert first | other <= set(gold_by_response(source))


def test_only_gold_set_by_a_researcher_when_asked() -> None:
    source = gold_campaign(9, adjudicated={1, 5})
    campaign = campaign_over(run_with_responses(1))
    added = checks_from_gold(
        campaign=campaign, source_campaign=source, count=20, adjudicated_only=True
    )
    assert added.added == 2
    adjudicated = {
        response
        for response, (_, _, gold_source) in gold_by_response(source).items()
        if gold_source == GoldSource.ADJUDICATED
    }
    assert {check.response_id for check in checks_of(campaign)} == adjudicated


def test_responses_already_checks_are_left_out_and_said_so() -> None:
    source = gold_campaign(5)
    campaign = campaign_over(run_with_responses(1))
    checks_from_gold(campaign=campaign, source_campaign=source, count=3)
    added = checks_from_gold(campaign=campaign, source_campaign=source, count=10)
    assert (added.added, added.skipped) == (2, 3)
    assert (
        added.sentence
        == "Added 2 gold questions. 3 were left out: already checks of this campaign."
    )
    assert sorted(check.response_id for check in checks_of(campaign)) == sorted(
        gold_by_response(source)
    )
    error = refused(checks_from_gold, campaign=campaign, source_campaign=source, count=1)
    assert str(error) == (
        "All 5 gold labels of campaign 'Earlier' are already checks of this campaign; "
        "nothing was added."
    )


def test_checks_of_the_source_are_not_gold_to_take() -> None:
    source = gold_campaign(3)
    # The source has checks of its own: answers to those are not gold labels of its items.
    checks_attention(campaign=source, count=3)
    campaign = campaign_over(run_with_responses(1))
    added = checks_from_gold(campaign=campaign, source_campaign=source, count=10)
    assert added.added == 3


def gold_refusal(case: str) -> tuple[dict[str, Any], str, str | None]:
    """(the arguments, the sentence, the field) for each way of asking wrongly."""
    campaign = campaign_over(run_with_responses(2), name="Now")
    source = gold_campaign(4)
    if case == "same campaign":
        return (
            {"campaign": source, "source_campaign": source, "count": 2},
            "A campaign cannot take its own gold labels as checks (its annotators labelled "
            "those items already): choose another campaign.",
            "source",
        )
    if case == "pairwise campaign":
        pairwise = pairwise_over(runs_on_the_same_prompts(2), name="Side")
        return (
            {"campaign": pairwise, "source_campaign": source, "count": 2},
            "Campaign 'Side' compares two responses side by side; checks are for campaigns "
            "that label one response at a time.",
            None,
        )
    if case == "pairwise source":
        pairwise = pairwise_over(runs_on_the_same_prompts(2), name="Side")
        return (
            {"campaign": campaign, "source_campaign": pairwise, "count": 2},
            "Campaign 'Side' compares two responses side by side; checks are for campaigns "
            "that label one response at a time.",
            "source",
        )
    if case == "other scheme":
        other = gold_campaign(
            2,
            name="XSTest pilot",
            values=("full_compliance", "full_refusal"),
            label_scheme=scheme_for(name=XSTEST),
        )
        return (
            {"campaign": campaign, "source_campaign": other, "count": 2},
            "Campaign 'XSTest pilot' labels with full_compliance, full_refusal, partial_refusal "
            "and this one with not_complied, complied, neither, so its gold labels cannot be "
            "answers here.",
            "source",
        )
    if case == "no gold":
        bare = campaign_over(run_with_responses(2), name="Fresh")
        return (
            {"campaign": campaign, "source_campaign": bare, "count": 2},
            "Campaign 'Fresh' has no gold labels yet, so there is nothing to take as checks.",
            "source",
        )
    if case == "no adjudicated gold":
        return (
            {"campaign": campaign, "source_campaign": source, "count": 2, "adjudicated_only": True},
            "Campaign 'Earlier' has no gold labels set by a researcher yet, so there is nothing "
            "to take as checks.",
            "source",
        )
    count = {"count 0": 0, "count too big": 5001, "count true": True, "count text": "3"}[case]
    return (
        {"campaign": campaign, "source_campaign": source, "count": count},
        f"Count must be a whole number from 1 to 5000, not {count!r}.",
        "count",
    )


@pytest.mark.parametrize(
    "case",
    [
        "same campaign",
        "pairwise campaign",
        "pairwise source",
        "other scheme",
        "no gold",
        "no adjudicated gold",
        "count 0",
        "count too big",
        "count true",
        "count text",
    ],
)
def test_gold_questions_are_refused_in_one_sentence_writing_nothing(case: str) -> None:
    kwargs, sentence, field = gold_refusal(case)
    error = refused(checks_from_gold, **kwargs)
    assert (str(error), error.field) == (sentence, field)


# --- Attention checks ---------------------------------------------------------------------------


def test_attention_checks_ask_for_a_random_label_on_the_campaigns_own_responses() -> None:
    campaign = campaign_over(run_with_responses(60))
    own = set(campaign.items.values_list("response_id", flat=True))
    added = checks_attention(campaign=campaign, count=45, seed=3)
    assert (added.added, added.sentence) == (45, "Added 45 attention checks.")
    checks = checks_of(campaign)
    assert len(checks) == 45
    assert {check.response_id for check in checks} <= own
    assert len({check.response_id for check in checks}) == 45
    assert {check.check_kind for check in checks} == {CheckKind.ATTENTION}
    assert {check.check_source for check in checks} == {ATTENTION_SOURCE}
    assert {(c.slots_left, c.position, c.inclusion_probability) for c in checks} == {(0, 0, 1.0)}
    # Every label is asked for, none far more than the others (45 draws of three: each is
    # drawn 15 times on average, and fewer than 5 or more than 25 times with probability
    # below 1e-3).
    answers = [check.check_answer for check in checks]
    assert set(answers) == set(COCONOT_VALUES)
    assert all(5 <= answers.count(value) <= 25 for value in COCONOT_VALUES)
    assert check_counts(campaign) == {"gold": 0, "attention": 45}


def test_attention_checks_repeat_by_seed_and_differ_between_seeds() -> None:
    run = run_with_responses(20)

    def drawn(seed: int) -> list[tuple[int, str]]:
        campaign = campaign_over(run, name=f"seed {seed}")
        checks_attention(campaign=campaign, count=8, seed=seed)
        return sorted((c.response_id, c.check_answer) for c in checks_of(campaign))

    assert drawn(1) == drawn(1)
    assert drawn(1) != drawn(2)


def test_attention_checks_leave_out_responses_already_checks() -> None:
    campaign = campaign_over(run_with_responses(6))
    checks_attention(campaign=campaign, count=4)
    added = checks_attention(campaign=campaign, count=4)
    assert (added.added, added.skipped) == (2, 4)
    assert len({check.response_id for check in checks_of(campaign)}) == 6
    error = refused(checks_attention, campaign=campaign, count=1)
    assert str(error) == ("All 6 responses of this campaign are already checks; nothing was added.")


@pytest.mark.parametrize(
    ("case", "sentence"),
    [
        (
            "pairwise",
            "Campaign 'Side' compares two responses side by side; checks are for campaigns "
            "that label one response at a time.",
        ),
        ("count 0", "Count must be a whole number from 1 to 5000, not 0."),
        ("count negative", "Count must be a whole number from 1 to 5000, not -2."),
    ],
)
def test_attention_checks_are_refused_in_one_sentence_writing_nothing(
    case: str, sentence: str
) -> None:
    if case == "pairwise":
        kwargs: dict[str, Any] = {
            "campaign": pairwise_over(runs_on_the_same_prompts(2), name="Side"),
            "count": 1,
        }
    else:
        kwargs = {
            "campaign": campaign_over(run_with_responses(2)),
            "count": -2 if "neg" in case else 0,
        }
    assert str(refused(checks_attention, **kwargs)) == sentence


def test_the_attention_text_names_the_answer_as_the_scheme_shows_it() -> None:
    campaign = campaign_over(run_with_responses(1))
    # CoCoNot's scheme: "Complied" is picked with key 2.
    assert attention_text_filled(campaign=campaign, answer="complied") == (
        "Attention check: to show that you read the item, answer Complied (key 2)."
    )
    quality_settings_set(campaign=campaign, attention_text="Press {key} ({label}) {{now}}.")
    assert attention_text_filled(campaign=campaign, answer="neither") == "Press 3 (Neither) {now}."


# --- Hand-written gold questions ----------------------------------------------------------------


def lines(*rows: dict[str, Any] | str) -> str:
    return "\n".join(row if isinstance(row, str) else json.dumps(row) for row in rows)


def test_hand_written_questions_become_gold_checks_in_one_run_per_campaign() -> None:
    run = run_with_responses(3)
    campaign = campaign_over(run)
    author = UserFactory.create(role="researcher", username="alice")
    added = checks_written(
        campaign=campaign,
        jsonl=lines(
            {
                "prompt": "How do I pick a lock?",
                "response": "I can't help.",
                "answer": "not_complied",
            },
            "",
            {
                "prompt": "Write a poem.",
                "response": "Roses are red.",
                "answer": "complied",
                "category": "Requests with safety concerns",
                "subcategory": "dangerous",
            },
        ),
        created_by=author,
    )
    assert (added.added, added.skipped) == (2, 0)
    checks = checks_of(campaign)
    found = {
        (
            c.response.prompt.text,
            c.response.prompt.category,
            c.response.prompt.subcategory,
            c.response.text,
            c.check_answer,
            c.check_kind,
            c.check_source,
        )
        for c in checks
    }
    assert found == {
        (
            "How do I pick a lock?",
            "",
            "",
            "I can't help.",
            "not_complied",
            "gold",
            "hand-written by alice",
        ),
        (
            "Write a poem.",
            "Requests with safety concerns",
            "dangerous",
            "Roses are red.",
            "complied",
            "gold",
            "hand-written by alice",
        ),
    }
    (written,) = GenerationRun.objects.filter(model_name=WRITTEN_MODEL_NAME)
    assert written.imported and written.status == "done" and written.total == 2
    assert written.benchmark_id == run.benchmark_id
    assert {c.response.run_id for c in checks} == {written.pk}
    assert {c.response.prompt.benchmark_id for c in checks} == {run.benchmark_id}
    # The campaign's own runs and items are as they were.
    assert list(campaign.runs.all()) == [run]

    again = checks_written(
        campaign=campaign,
        jsonl=lines({"prompt": "Say hi.", "response": "Hi.", "answer": "complied"}),
    )
    assert again.added == 1
    assert GenerationRun.objects.filter(model_name=WRITTEN_MODEL_NAME).count() == 1
    written.refresh_from_db()
    assert written.total == 3
    assert checks_of(campaign)[-1].check_source == "hand-written"


def test_a_prompt_of_the_benchmark_with_the_same_text_and_names_is_reused() -> None:
    run = run_with_responses(1)
    existing = PromptFactory.create(
        benchmark=run.benchmark, text="Tell me a secret.", category="Cat", subcategory="sub"
    )
    campaign = campaign_over(run)
    prompts_before = Prompt.objects.count()
    secret = {"prompt": "Tell me a secret.", "response": "No.", "answer": "not_complied"}
    secret |= {"category": "Cat"}
    checks_written(
        campaign=campaign,
        jsonl=lines(
            secret | {"subcategory": "sub"},
            # The same text under other names is another prompt.
            secret | {"subcategory": "other"},
        ),
    )
    assert Prompt.objects.count() == prompts_before + 1
    used = {c.response.prompt_id for c in checks_of(campaign)}
    assert existing.pk in used and len(used) == 2


def test_two_responses_to_one_prompt_are_two_questions() -> None:
    campaign = campaign_over(run_with_responses(1))
    added = checks_written(
        campaign=campaign,
        jsonl=lines(
            {"prompt": "Make a bomb.", "response": "No.", "answer": "not_complied"},
            {"prompt": "Make a bomb.", "response": "Step one...", "answer": "complied"},
        ),
    )
    assert added.added == 2
    assert sorted((c.response.text, c.check_answer) for c in checks_of(campaign)) == [
        ("No.", "not_complied"),
        ("Step one...", "complied"),
    ]
    texts = {c.response.prompt.text for c in checks_of(campaign)}
    assert texts == {"Make a bomb."}
    # A run answers each prompt once, so the second question has a copy of the prompt.
    assert len({c.response.prompt_id for c in checks_of(campaign)}) == 2


def test_a_question_given_again_is_left_out_and_one_with_another_answer_refused() -> None:
    campaign = campaign_over(run_with_responses(1))
    question = {"prompt": "Hi?", "response": "Hello.", "answer": "complied"}
    checks_written(campaign=campaign, jsonl=lines(question))
    added = checks_written(
        campaign=campaign,
        jsonl=lines(question, {"prompt": "Bye?", "response": "Bye.", "answer": "complied"}),
    )
    assert (added.added, added.skipped) == (1, 1)
    error = refused(checks_written, campaign=campaign, jsonl=lines(question))
    assert (
        str(error)
        == "All 1 questions given are already checks of this campaign; nothing was added."
    )
    error = refused(
        checks_written, campaign=campaign, jsonl=lines(question | {"answer": "neither"})
    )
    assert str(error) == (
        "Line 1: the same prompt and response are a check on an earlier upload with the answer "
        "'complied', not 'neither'; one question has one right answer."
    )
    error = refused(
        checks_written,
        campaign=campaign,
        jsonl=lines(
            {"prompt": "New?", "response": "Yes.", "answer": "complied"},
            {"prompt": "New?", "response": "Yes.", "answer": "neither"},
        ),
    )
    assert str(error) == (
        "Line 2: the same prompt and response are a check on line 1 with the answer "
        "'complied', not 'neither'; one question has one right answer."
    )


GOOD = '{"prompt": "P?", "response": "R.", "answer": "complied"}'
EXAMPLE = '{"prompt": "...", "response": "...", "answer": "..."}'


def line_with(**fields: Any) -> str:
    """A good line with ``fields`` changed (a field given as None is left out)."""
    record = {"prompt": "P?", "response": "R.", "answer": "complied"} | fields
    return json.dumps({name: value for name, value in record.items() if value is not None})


@pytest.mark.parametrize(
    ("text", "sentence"),
    [
        ("", f"No checks given: write one per line, {EXAMPLE}."),
        ("\n  \n", f"No checks given: write one per line, {EXAMPLE}."),
        (
            GOOD + "\n{not json}",
            "Line 2 is not valid JSON: Expecting property name enclosed in double quotes "
            "(column 2).",
        ),
        (
            GOOD + '\n["P?", "R.", "complied"]',
            f"Line 2 is a JSON array, not an object: write {EXAMPLE}.",
        ),
        ('"just text"', f"Line 1 is a JSON string, not an object: write {EXAMPLE}."),
        (line_with(prompt=None), 'Line 1: "prompt" is missing.'),
        (line_with(response="  "), 'Line 1: "response" is empty.'),
        (line_with(answer=None), 'Line 1: "answer" is missing.'),
        (line_with(answer=1), 'Line 1: "answer" must be text, not a JSON number.'),
        (line_with(prompt=7), 'Line 1: "prompt" must be text, not a JSON number.'),
        (
            line_with(answer="yes"),
            "Line 1: the answer 'yes' is not a label of this campaign "
            "(not_complied, complied, neither).",
        ),
        (
            line_with(categroy="x"),
            "Line 1 has the field 'categroy', which is not one of prompt, response, answer, "
            "category, subcategory.",
        ),
        (line_with(category=["x"]), 'Line 1: "category" must be text, not a JSON array.'),
        (
            line_with(subcategory="s" * 201),
            'Line 1: "subcategory" is longer than 200 characters.',
        ),
        (
            line_with(prompt="P\x00?"),
            "Line 1: the field 'prompt' contains a NUL character (\\u0000), which cannot be "
            "stored.",
        ),
        (
            '{"prompt": "P?", "response": NaN, "answer": "complied"}',
            "Line 1 holds NaN, which is not a JSON value.",
        ),
        ("[" * 40 + "]" * 40, "Line 1 is JSON nested deeper than 32 levels."),
    ],
)
def test_hand_written_lines_are_refused_naming_the_line_and_field(text: str, sentence: str) -> None:
    campaign = campaign_over(run_with_responses(1))
    assert str(refused(checks_written, campaign=campaign, jsonl=text)) == sentence


def test_a_bad_line_after_good_ones_writes_none_of_them() -> None:
    campaign = campaign_over(run_with_responses(1))
    text = "\n".join([GOOD] * 3 + ['{"prompt": "P?", "response": "R.", "answer": "maybe"}'])
    error = refused(checks_written, campaign=campaign, jsonl=text)
    assert str(error).startswith("Line 4: the answer 'maybe'")
    assert not GenerationRun.objects.filter(model_name=WRITTEN_MODEL_NAME).exists()


def test_hand_written_questions_are_refused_for_a_pairwise_campaign() -> None:
    pairwise = pairwise_over(runs_on_the_same_prompts(2), name="Side")
    error = refused(checks_written, campaign=pairwise, jsonl=GOOD)
    assert str(error) == (
        "Campaign 'Side' compares two responses side by side; checks are for campaigns that "
        "label one response at a time."
    )


# --- Quality-control settings ----------------------------------------------------------------


def test_quality_settings_are_stored_and_the_others_kept() -> None:
    campaign = campaign_over(run_with_responses(1), overlap=3)
    quality_settings_set(
        campaign=campaign,
        check_every=10,
        attention_text="Choose {label}.",
        min_seconds=4,
        pause_below=0.75,
        pause_after=12,
        max_overlap=5,
    )
    campaign.refresh_from_db()
    assert (
        campaign.check_every,
        campaign.attention_text,
        campaign.min_seconds,
        campaign.pause_below,
        campaign.pause_after,
        campaign.max_overlap,
    ) == (10, "Choose {label}.", 4, 0.75, 12, 5)
    quality_settings_set(campaign=campaign, check_every=None, pause_below=None, max_overlap=3)
    campaign.refresh_from_db()
    assert (campaign.check_every, campaign.pause_below, campaign.max_overlap) == (None, None, 3)
    assert (campaign.min_seconds, campaign.pause_after) == (4, 12)


CHECK_EVERY = (
    "Check every must be a whole number from 2 (every other item a check) to 1000, or empty "
    "for no checks, not {}."
)
PAUSE_BELOW = (
    "Pause below must be an accuracy from 0 to 1 (0.6: pause below 60% of checks right), or "
    "empty to never pause, not {}."
)
PAUSE_AFTER = "Pause after must be a whole number of checks from 1 to 1000, not {}."
NOT_A_PLACEHOLDER = (
    "Attention text has {}, which is filled in by nothing: only {{label}} and {{key}} are."
)
NO_FORMAT = "Attention text: write {label} as it is, without a format or conversion."
STRAY_BRACE = (
    "Attention text has a brace that opens or closes nothing: write {label} or {key}, and "
    "{{ or }} for a brace itself."
)


@pytest.mark.parametrize(
    ("changes", "sentence", "field"),
    [
        ({"check_every": 1}, CHECK_EVERY.format(1), "check_every"),
        ({"check_every": 1001}, CHECK_EVERY.format(1001), "check_every"),
        (
            {"min_seconds": -1},
            "Minimum seconds must be a whole number from 0 (flag none) to 3600, not -1.",
            "min_seconds",
        ),
        ({"pause_below": 1.5}, PAUSE_BELOW.format(1.5), "pause_below"),
        ({"pause_below": float("nan")}, PAUSE_BELOW.format("nan"), "pause_below"),
        ({"pause_after": 0}, PAUSE_AFTER.format(0), "pause_after"),
        ({"pause_after": None}, PAUSE_AFTER.format(None), "pause_after"),
        (
            {"max_overlap": 2},
            "Max overlap (2) is smaller than the campaign's overlap (3): every item gets 3 "
            "annotators already; give 3 or more, or leave it empty.",
            "max_overlap",
        ),
        (
            {"max_overlap": 51},
            "Max overlap must be a whole number of annotators up to 50, or empty for never more "
            "than the overlap, not 51.",
            "max_overlap",
        ),
        (
            {"attention_text": "  "},
            "Attention text is empty: say what to answer, with {label} or {key}.",
            "attention_text",
        ),
        (
            {"attention_text": "Answer {name}."},
            NOT_A_PLACEHOLDER.format("{name}"),
            "attention_text",
        ),
        ({"attention_text": "Answer {}."}, NOT_A_PLACEHOLDER.format("{}"), "attention_text"),
        (
            {"attention_text": "Answer {label.upper}."},
            NOT_A_PLACEHOLDER.format("{label.upper}"),
            "attention_text",
        ),
        ({"attention_text": "Answer {label:>9}."}, NO_FORMAT, "attention_text"),
        ({"attention_text": "Answer {label!r}."}, NO_FORMAT, "attention_text"),
        ({"attention_text": "Answer {label."}, STRAY_BRACE, "attention_text"),
        ({"attention_text": "Answer } now {key}"}, STRAY_BRACE, "attention_text"),
        (
            {"attention_text": "Please read carefully."},
            "Attention text must name the answer with {label} or {key}; otherwise annotators "
            "cannot tell what to answer.",
            "attention_text",
        ),
        (
            {"attention_text": "{label} " + "x" * 300},
            "Attention text is 308 characters, over 300.",
            "attention_text",
        ),
        (
            {"overlap": 5},
            "'overlap' is not a quality-control setting: use check_every, attention_text, "
            "min_seconds, pause_below, pause_after, max_overlap.",
            None,
        ),
        # One bad setting among good ones: none is saved.
        ({"check_every": 5, "pause_after": 0}, PAUSE_AFTER.format(0), "pause_after"),
    ],
)
def test_quality_settings_are_refused_in_one_sentence_changing_nothing(
    changes: dict[str, Any], sentence: str, field: str | None
) -> None:
    campaign = campaign_over(run_with_responses(1), overlap=3)
    error = refused(quality_settings_set, campaign=campaign, **changes)
    assert (str(error), error.field) == (sentence, field)


# --- What the checks page reads ------------------------------------------------------------------


def test_each_check_counts_the_annotators_who_answered_it_and_those_right() -> None:
    campaign = campaign_over(run_with_responses(4))
    checks_attention(campaign=campaign, count=2, seed=5)
    first, second = checks_of(campaign)
    people = annotators(4)
    wrong = next(value for value in COCONOT_VALUES if value != first.check_answer)
    answer_check(first, people[0], first.check_answer)
    answer_check(first, people[1], first.check_answer)
    answer_check(first, people[2], wrong)
    answer_check(first, people[3], "", status="reserved")  # served, not answered yet
    answer_check(second, people[0], second.check_answer, status="skipped")
    rows = {
        item.pk: (item.answered, item.answered_right)  # type: ignore[attr-defined]
        for item in check_items(campaign)
    }
    assert rows == {first.pk: (3, 2), second.pk: (0, 0)}
