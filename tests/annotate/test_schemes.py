from __future__ import annotations

import json
import re

import pytest

from annotate.schemes import (
    SchemeError,
    answers_clean,
    question_asked,
    scheme_for,
    scheme_parse,
    scheme_values,
)


def test_the_default_scheme_uses_the_judges_canonical_values() -> None:
    scheme = scheme_for(name="coconot")
    assert scheme_values(scheme) == ["not_complied", "complied", "neither"]
    assert [c["key"] for c in scheme["choices"]] == ["1", "2", "3"]


def test_xstest_has_its_three_classes() -> None:
    assert scheme_values(scheme_for(name="xstest")) == [
        "full_compliance",
        "full_refusal",
        "partial_refusal",
    ]


def test_a_custom_scheme_gets_keys_in_order_when_none_are_given() -> None:
    text = json.dumps({"name": "Helpful?", "choices": [{"value": "yes"}, {"value": "no"}]})
    scheme = scheme_for(name="custom", custom_json=text)
    assert [(c["value"], c["label"], c["key"]) for c in scheme["choices"]] == [
        ("yes", "Yes", "1"),
        ("no", "No", "2"),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "not valid JSON"),
        ("[]", 'must be an object with a "choices" list'),
        ('{"choices": [{"value": "only"}]}', "needs 2 to 9 choices"),
        ('{"choices": [{"value": "a"}, {"value": "a"}]}', "repeats the value 'a'"),
        (
            '{"choices": [{"value": "a", "key": "1"}, {"value": "b", "key": "1"}]}',
            "repeats the key",
        ),
        ('{"choices": [{"value": "a", "key": "x"}, {"value": "b"}]}', "key must be one digit"),
        ('{"choices": [{"value": "Bad Value"}, {"value": "b"}]}', "choice 1: value 'Bad Value'"),
        ('{"choices": ["a", "b"]}', "choice 1 must be an object"),
    ],
)
def test_a_bad_custom_scheme_is_refused_with_the_reason(text: str, message: str) -> None:
    with pytest.raises(SchemeError, match=message.replace("(", r"\(")):
        scheme_for(name="custom", custom_json=text)


TWO = '"choices": [{"value": "a"}, {"value": "b"}]'


def custom(questions: str) -> str:
    return "{" + TWO + ', "questions": ' + questions + "}"


def test_the_refusal_quality_scheme_asks_its_questions_for_refusals_and_one_for_answers() -> None:
    scheme = scheme_for(name="refusal_quality")
    assert scheme_values(scheme) == scheme_values(scheme_for(name="coconot"))
    refused, complied, neither = (
        [q["id"] for q in scheme["questions"] if question_asked(q, {"label": value})]
        for value in ("not_complied", "complied", "neither")
    )
    assert refused == ["explains_why", "offers_help", "asks_missing", "preachy", "quality"]
    assert complied == ["compliance"]
    assert neither == []
    # What a built-in scheme says passes the same checks as a custom one.
    assert scheme_parse(json.dumps(scheme)) == scheme


@pytest.mark.parametrize(
    ("questions", "message"),
    [
        ("{}", '"questions" must be a list'),
        ('[{"id": "q", "kind": "vote", "text": "?"}]', "question 1: kind 'vote' must be one of"),
        ('[{"id": "Q 1", "kind": "text", "text": "?"}]', "question 1: id 'Q 1'"),
        ('[{"id": "q", "kind": "text"}]', 'question 1: "text"'),
        ('[{"id": "label", "kind": "text", "text": "?"}]', "question 1: id 'label' is taken"),
        (
            '[{"id": "q", "kind": "text", "text": "?"}, {"id": "q", "kind": "text", "text": "?"}]',
            "question 2: id 'q' is taken",
        ),
        ('[{"id": "q", "kind": "single", "text": "?"}]', 'question 1: "choices" must be a list'),
        (
            '[{"id": "q", "kind": "text", "text": "?", "when": {"question": "z", "in": ["x"]}}]',
            "names 'z', which is not the label or an earlier single-choice question",
        ),
        (
            '[{"id": "q", "kind": "text", "text": "?", "when": {"in": ["c"]}}]',
            "must list values of 'label' (a, b), not ['c']",
        ),
    ],
)
def test_a_bad_question_is_refused_naming_it(questions: str, message: str) -> None:
    with pytest.raises(SchemeError, match=re.escape(message)):
        scheme_parse(custom(questions))


QUESTIONS = custom(
    '[{"id": "why", "kind": "single", "text": "Why?", "when": {"in": ["a"]},'
    ' "choices": [{"value": "x"}, {"value": "y"}]},'
    ' {"id": "tags", "kind": "multi", "text": "Tags?", "when": {"question": "why", "in": ["y"]},'
    ' "choices": [{"value": "t1"}, {"value": "t2"}, {"value": "t3"}]},'
    ' {"id": "score", "kind": "rating", "text": "Score?"},'
    ' {"id": "say", "kind": "text", "text": "Say?"}]'
)


@pytest.mark.parametrize(
    ("value", "answers", "clean"),
    [
        ("b", {"score": 3}, {"score": 3, "say": ""}),
        ("a", {"why": "x", "score": 5, "say": " hi "}, {"why": "x", "score": 5, "say": "hi"}),
        (
            "a",
            {"why": "y", "tags": ["t3", "t1", "t1"], "score": 1, "say": None},
            {"why": "y", "tags": ["t1", "t3"], "score": 1, "say": ""},
        ),
    ],
)
def test_answers_follow_the_label_and_earlier_answers(
    value: str, answers: dict[str, object], clean: dict[str, object]
) -> None:
    assert answers_clean(scheme_parse(QUESTIONS), value, answers) == clean


@pytest.mark.parametrize(
    ("value", "answers", "message"),
    [
        ("b", {"why": "x", "score": 3}, "Question 'why' is not asked for this label"),
        ("a", {"score": 3}, "Question 'why' needs one of x, y, not None"),
        ("a", {"why": "x", "score": 6}, "Question 'score' needs a whole number from 1 to 5"),
        ("a", {"why": "x", "score": True}, "Question 'score' needs a whole number"),
        ("a", {"why": "y", "tags": "t1", "score": 2}, "Question 'tags' needs a list of t1"),
        ("b", {"score": 2, "extra": 1}, "This campaign asks no question 'extra'"),
        ("b", ["score"], "The answers must be an object"),
    ],
)
def test_answers_that_do_not_fit_the_questions_are_refused_naming_the_question(
    value: str, answers: object, message: str
) -> None:
    with pytest.raises(SchemeError, match=re.escape(message)):
        answers_clean(scheme_parse(QUESTIONS), value, answers)
