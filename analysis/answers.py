"""The answers to a scheme's questions, item by item: which answers fit a question, and an
item's answer when several annotators gave one. Plain Python (no NumPy, no SciPy), so that the
exports can use it without loading the statistics.

A question is the JSON annotate/schemes.py freezes into a campaign: ``{"id", "kind",
"choices"?}``; an answer is what ``Label.answers`` (or ``Verdict.answers``) holds for its id.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

SINGLE, MULTI, RATING, TEXT = "single", "multi", "rating", "text"
# The rating scale; annotate.schemes.RATING_SCALE (a Django-side module) holds the same, and
# tests/analysis/test_question_metrics.py holds them equal.
RATING_VALUES = (1, 2, 3, 4, 5)
# An answer that takes an item out of a share's denominator ("Does it ask for what is missing?"
# means nothing for a request that misses nothing).
NOT_APPLICABLE = "not_applicable"
YES = "yes"


def choice_values(question: Mapping[str, Any]) -> list[str]:
    return [str(choice["value"]) for choice in question.get("choices", [])]


def answer_fits(question: Mapping[str, Any], answer: Any) -> bool:
    """Whether ``answer`` is an answer to ``question``. One that is not (a judge's output, a
    label edited by hand in the admin) counts as no answer everywhere, rather than as a value
    of its own or an error."""
    kind = question["kind"]
    values = choice_values(question)
    if kind == SINGLE:
        return answer in values
    if kind == MULTI:
        return isinstance(answer, list) and all(value in values for value in answer)
    if kind == RATING:
        return type(answer) is int and answer in RATING_VALUES
    return isinstance(answer, str)


def _hashable(answer: Any) -> Any:
    return tuple(answer) if isinstance(answer, list) else answer


def majority(answers: Sequence[Any]) -> Any:
    """The answer more than half of ``answers`` give (None entries left out), or None when no
    answer has a majority (a tie between two annotators, say). A multiple-choice answer counts
    as the same answer only with the same options ticked."""
    given = [answer for answer in answers if answer is not None]
    if not given:
        return None
    counts = Counter(_hashable(answer) for answer in given)
    top, count = counts.most_common(1)[0]
    if count * 2 <= len(given):
        return None
    return next(answer for answer in given if _hashable(answer) == top)


def item_answers(
    questions: Sequence[Mapping[str, Any]],
    label: str | None,
    labelled: Sequence[tuple[str, Mapping[str, Any]]],
) -> dict[str, Any]:
    """An item's answer to each question: what the majority of its annotators who gave the
    item's ``label`` (its gold label, else their majority label) answered. Only they were asked
    the questions that label leads to; another label's answers would describe another item. A
    question nobody answered (with an answer that fits it) has no key; one they split on is
    None."""
    agreeing = [answers for value, answers in labelled if label is not None and value == label]
    result: dict[str, Any] = {}
    for question in questions:
        qid = question["id"]
        given = [answers[qid] for answers in agreeing if answer_fits(question, answers.get(qid))]
        if given:
            result[qid] = majority(given)
    return result
