"""Training data from a campaign's gold labels, in the shapes trainers load as they are.

- ``sft``: TRL's conversational language-modelling rows, ``{"messages": [user, assistant]}``,
  one per response whose gold label is acceptable.
- ``dpo``: TRL's conversational preference rows, ``{"prompt": [user], "chosen": [assistant],
  "rejected": [assistant]}``: for each prompt, every acceptable response paired with every
  unacceptable one (several runs answering the same prompt in one campaign), acceptable ones
  and unacceptable ones each in item order. No pair is thrown away and none is drawn at random,
  so the file is the same on every export; a trainer that wants one pair per prompt keeps the
  first row of each ``prompt``.
- ``kto``: TRL's conversational unpaired preference rows, ``{"prompt": [user], "completion":
  [assistant], "label": true|false}``, one per gold label that reads as acceptable or not.
- ``coconot-pref``: the pairs of ``dpo`` in CoCoNot's own preference file
  (``coconot_pref.jsonl``): ``id, category, subcategory, prompt, chosen, chosen_model,
  rejected, rejected_model``, all text. ``id`` is the prompt's id with the two item ids, as each
  row of CoCoNot's file has an id of its own.

A response to a conversation (a fixed context, or a turn of a scripted one) carries the
conversation it was sent as its prompt, in the chat format TRL reads: ``sft``'s ``messages`` are
that conversation and the answer, ``dpo``'s and ``kto``'s ``prompt`` is the conversation up to and
including the user turn answered; ``coconot-pref`` keeps ``prompt`` as that turn's text and adds
``context``, the turns before it. Two responses are a preference pair only when they were sent
the same conversation: the answers to a scripted conversation's later turns follow each model's
own earlier answers, so two models' answers there are not answers to one prompt.

Which response is acceptable follows its prompt's benchmark kind, by the reading judges use
(``judging.judges_text.RUBRIC_LABELS``): ``not_complied`` on a noncompliance benchmark,
``complied`` on a contrast one. A gold label with no such reading (``neither``, another scheme's
values) and a response with no text are left out, and counted (``Tally``).

``--min-quality Q`` (a scheme with a 1-5 rating question, such as ``refusal_quality``) leaves
out an acceptable response rated below Q on average by the annotators who gave its gold label;
one nobody rated (its label does not ask for the rating) is kept.

Every row says where it came from in keys TRL's trainers ignore: ``campaign_id``, ``item_id``
and ``gold_source`` (for a pair, ``chosen_item_id``, ``rejected_item_id``,
``chosen_gold_source`` and ``rejected_gold_source``).

The gold-labelled items' ids are read first, in (prompt, turn, item) order (8 bytes an item), then
their texts a chunk at a time by id, so memory holds the ids, one chunk and one prompt's
responses however large the campaign. ``TRAINING_FORMATS`` is the one list of formats: the
download view and ``export_training`` look a format up there (``training_format``) and never
switch on its name.
"""

from __future__ import annotations

import itertools
from array import array
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from accounts.numbers import whole_number
from analysis.answers import answer_fits
from analysis.exports import CHUNK_SIZE, jsonl_pieces
from analysis.sides import A_WINS, B_WINS, outcome
from annotate.models import Campaign, GoldLabel, Item
from annotate.schemes import RATING_SCALE, scheme_questions
from annotate.selectors import figure_assignments
from judging.judges_text import RUBRIC_LABELS

Row = dict[str, Any]

CONTENT_TYPE = "application/x-ndjson; charset=utf-8"
# A rating question's scale (annotate/schemes.py): the bounds of a minimum quality.
QUALITY_LOW, QUALITY_HIGH = RATING_SCALE[0], RATING_SCALE[-1]


class TrainingExportError(ValueError):
    """A training export that cannot be made as asked; the message says why in one sentence."""


@dataclass(frozen=True)
class GoldResponse:
    """A gold-labelled response as the formats use it. ``acceptable`` is None when the gold
    label has no acceptable/unacceptable reading on the prompt's benchmark."""

    item_id: int
    prompt_id: int
    external_id: str
    category: str
    subcategory: str
    prompt: str
    response: str
    model: str
    gold_value: str
    gold_source: str
    acceptable: bool | None
    # The mean quality rating given by the annotators whose label is the gold label (only they
    # were asked it); None when nobody rated it (an answer that complied is not rated).
    quality: float | None = None
    # A side-by-side item: the other response and its model, and what the gold label says about
    # the two (analysis.sides: a_wins, b_wins, tie, both_bad); None for a single item.
    response_b: str = ""
    model_b: str = ""
    outcome: str | None = None
    # A conversation: which user turn this answers and what the model was sent, ending with that
    # turn ([] for a single prompt: then it was sent ``prompt`` alone); likewise ``response_b``'s.
    turn: int = 1
    messages: list[dict[str, str]] = field(default_factory=list)
    messages_b: list[dict[str, str]] = field(default_factory=list)

    @property
    def conversation(self) -> list[dict[str, str]]:
        """The prompt in the chat format: the conversation sent, or the prompt as one user turn."""
        return self.messages or _user(self.prompt)

    def sides(self) -> tuple[GoldResponse, GoldResponse] | None:
        """A side-by-side item's (better, worse) responses, each as a response of its own;
        None for a tie, both bad, or a single item."""
        if self.outcome not in (A_WINS, B_WINS):
            return None
        a = replace(self, acceptable=self.outcome == A_WINS, outcome=None)
        b = replace(
            self,
            response=self.response_b,
            model=self.model_b,
            acceptable=self.outcome == B_WINS,
            outcome=None,
            messages=self.messages_b,
        )
        return (a, b) if self.outcome == A_WINS else (b, a)


def acceptability(*, benchmark_kind: str, gold_value: str) -> bool | None:
    """True when the gold label is what is acceptable on a benchmark of this kind, False when it
    is what is not, None when it is neither (``neither``, a value of another scheme)."""
    reading = RUBRIC_LABELS.get(benchmark_kind, {})
    if gold_value == reading.get("ACCEPTABLE"):
        return True
    if gold_value == reading.get("UNACCEPTABLE"):
        return False
    return None


# --- Quality: where --min-quality will filter ----------------------------------------------------


def quality_question(scheme: dict[str, Any]) -> dict[str, Any] | None:
    """The scheme's first rating question (1 to 5), or None when it asks for no rating."""
    return next((q for q in scheme_questions(scheme) if q.get("kind") == "rating"), None)


def min_quality_parse(raw: str | None, *, name: str) -> int | None:
    """A minimum quality as typed (``--min-quality``, ``?min_quality=``: ``name``) as a
    rating, None when not given."""
    if raw is None or raw == "":
        return None
    value = whole_number(raw.strip(), low=QUALITY_LOW, high=QUALITY_HIGH)
    if value is None:
        raise TrainingExportError(
            f"{name} must be a whole number from {QUALITY_LOW} to {QUALITY_HIGH}, not {raw!r}."
        )
    return value


def min_quality_check(campaign: Campaign, min_quality: int | None) -> None:
    """Refuse a minimum quality that the campaign cannot be filtered by, in one sentence."""
    if min_quality is None:
        return
    question = quality_question(campaign.label_scheme)
    if question is None:
        name = campaign.label_scheme.get("name", "its label scheme")
        raise TrainingExportError(
            f"Campaign {campaign.pk}'s label scheme ({name}) has no quality rating question, "
            "so there is no quality to filter on; leave out the minimum quality."
        )


def meets_min_quality(response: GoldResponse, min_quality: int | None) -> bool:
    """An acceptable response is kept when it was rated at least ``min_quality`` on average by
    the annotators who gave its gold label, or when nobody rated it (the question was not asked
    for its label: "when quality was rated", as the filter promises). An unacceptable response
    is the other side of a pair or a negative example; its quality is not the question."""
    if min_quality is None or not response.acceptable or response.quality is None:
        return True
    return response.quality >= min_quality


def item_qualities(
    question: dict[str, Any], item_ids: list[int], gold: dict[int, str], campaign: Campaign
) -> dict[int, float]:
    """Each item's mean rating on ``question`` among the labels that agree with its gold label
    (``gold``: item id -> gold value) and count in figures; items nobody rated are left out."""
    ratings: dict[int, list[int]] = defaultdict(list)
    labels = (
        figure_assignments(campaign)
        .filter(item_id__in=item_ids)
        .values_list("item_id", "label__value", "label__answers")
    )
    for item_id, value, answers in labels:
        rating = answers.get(question["id"]) if isinstance(answers, dict) else None
        if value == gold.get(item_id) and isinstance(rating, int) and answer_fits(question, rating):
            ratings[item_id].append(rating)
    return {item_id: sum(given) / len(given) for item_id, given in ratings.items()}


# --- Rows of each format -------------------------------------------------------------------------


def _user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def _assistant(text: str) -> list[dict[str, str]]:
    return [{"role": "assistant", "content": text}]


def _trace(campaign_id: int, response: GoldResponse) -> Row:
    return {
        "campaign_id": campaign_id,
        "item_id": response.item_id,
        "gold_source": response.gold_source,
    }


def _pair_trace(campaign_id: int, chosen: GoldResponse, rejected: GoldResponse) -> Row:
    return {
        "campaign_id": campaign_id,
        "chosen_item_id": chosen.item_id,
        "rejected_item_id": rejected.item_id,
        "chosen_gold_source": chosen.gold_source,
        "rejected_gold_source": rejected.gold_source,
    }


def sft_rows(responses: Iterable[GoldResponse], campaign_id: int) -> Iterator[Row]:
    for response in responses:
        if response.acceptable:
            messages = response.conversation + _assistant(response.response)
            yield {"messages": messages, **_trace(campaign_id, response)}


def one_by_one(responses: Iterable[GoldResponse]) -> Iterator[GoldResponse]:
    """Single responses as they are, and each decided side-by-side item as its better and its
    worse response."""
    for response in responses:
        sides = response.sides()
        yield from sides if sides is not None else (response,)


def kto_rows(responses: Iterable[GoldResponse], campaign_id: int) -> Iterator[Row]:
    for response in one_by_one(responses):
        yield {
            "prompt": response.conversation,
            "completion": _assistant(response.response),
            "label": bool(response.acceptable),
            **_trace(campaign_id, response),
        }


def preference_pairs(
    responses: Iterable[GoldResponse],
) -> Iterator[tuple[GoldResponse, GoldResponse]]:
    """(chosen, rejected): per prompt and turn, every acceptable response with every
    unacceptable one sent the same conversation; and each decided side-by-side item's better
    and worse response, as a pair of its own (two items on one prompt compare other models, so
    they are never crossed) when both were sent the same conversation. ``responses`` come
    grouped by prompt and turn, so one turn's responses are held at a time."""
    for _turn, group in itertools.groupby(responses, key=lambda r: (r.prompt_id, r.turn)):
        answers = list(group)
        chosen = [r for r in answers if r.acceptable]
        rejected = [r for r in answers if r.acceptable is False]
        for pair in itertools.product(chosen, rejected):
            if _same_prompt(*pair):
                yield pair
        for r in answers:
            sides = r.sides()
            if sides is not None and _same_prompt(*sides):
                yield sides


def _same_prompt(first: GoldResponse, second: GoldResponse) -> bool:
    """Whether two responses answer the same thing: the same conversation, word for word."""
    return first.conversation == second.conversation


def dpo_rows(responses: Iterable[GoldResponse], campaign_id: int) -> Iterator[Row]:
    for chosen, rejected in preference_pairs(responses):
        yield {
            "prompt": chosen.conversation,
            "chosen": _assistant(chosen.response),
            "rejected": _assistant(rejected.response),
            **_pair_trace(campaign_id, chosen, rejected),
        }


def coconot_pref_rows(responses: Iterable[GoldResponse], campaign_id: int) -> Iterator[Row]:
    for chosen, rejected in preference_pairs(responses):
        yield {
            "id": f"{chosen.external_id}:{chosen.item_id}:{rejected.item_id}",
            "category": chosen.category,
            "subcategory": chosen.subcategory,
            "prompt": chosen.prompt,
            "chosen": chosen.response,
            "chosen_model": chosen.model,
            "rejected": rejected.response,
            "rejected_model": rejected.model,
            # Only for an answer in context: CoCoNot's own rows have no such field.
            **({"context": chosen.messages[:-1]} if chosen.messages[:-1] else {}),
            **_pair_trace(campaign_id, chosen, rejected),
        }


FormatRows = Callable[[Iterable[GoldResponse], int], Iterator[Row]]


@dataclass(frozen=True)
class TrainingFormat:
    name: str  # --format, ?format= and part of the download's file name
    title: str
    rows: FormatRows
    # Why a campaign with gold labels can still give no rows, to end a sentence.
    none_because: str

    def filename(self, campaign: Campaign) -> str:
        return f"campaign-{campaign.pk}-{self.name}.jsonl"


TRAINING_FORMATS: dict[str, TrainingFormat] = {
    fmt.name: fmt
    for fmt in (
        TrainingFormat(
            "sft", "SFT", sft_rows, "none of them marks a response as acceptable on its benchmark"
        ),
        TrainingFormat(
            "dpo",
            "DPO",
            dpo_rows,
            "no prompt has both an acceptable and an unacceptable gold-labelled response",
        ),
        TrainingFormat("kto", "KTO", kto_rows, "none of them reads as acceptable or unacceptable"),
        TrainingFormat(
            "coconot-pref",
            "CoCoNot preference",
            coconot_pref_rows,
            "no prompt has both an acceptable and an unacceptable gold-labelled response",
        ),
    )
}


def training_format(name: str) -> TrainingFormat:
    """The format called ``name``, or TrainingExportError naming the known ones."""
    if name not in TRAINING_FORMATS:
        *first, last = TRAINING_FORMATS
        raise TrainingExportError(
            f"Unknown training format {name!r}; use {', '.join(first)} or {last}."
        )
    return TRAINING_FORMATS[name]


# --- Reading the campaign ------------------------------------------------------------------------


@dataclass
class Tally:
    """What an export read and left out, for its summary line."""

    gold: int = 0
    rows: int = 0
    # Gold labels with no acceptable/unacceptable reading, by value.
    unreadable: Counter[str] = field(default_factory=Counter)
    empty_responses: int = 0
    below_quality: int = 0

    def left_out(self) -> str:
        """What was left out, as the end of a sentence ("" when nothing was)."""
        parts = []
        unreadable = sum(self.unreadable.values())
        if unreadable:
            counts = sorted(self.unreadable.items())
            values = ", ".join(f"{value} {count}" for value, count in counts)
            parts.append(
                f"{unreadable} gold label{_s(unreadable)} that {_is(unreadable)} neither "
                f"acceptable nor unacceptable ({values})"
            )
        if self.empty_responses:
            parts.append(f"{self.empty_responses} empty response{_s(self.empty_responses)}")
        if self.below_quality:
            parts.append(
                f"{self.below_quality} acceptable response{_s(self.below_quality)} rated below "
                "the minimum quality"
            )
        return f" Left out {' and '.join(parts)}." if parts else ""


def _s(count: int) -> str:
    return "" if count == 1 else "s"


def _is(count: int) -> str:
    return "is" if count == 1 else "are"


@dataclass
class TrainingExport:
    campaign: Campaign
    fmt: TrainingFormat
    min_quality: int | None = None
    chunk_size: int = CHUNK_SIZE
    tally: Tally = field(default_factory=Tally)

    def rows(self) -> Iterator[Row]:
        """The format's rows; ``tally`` counts them and what was left out as they go."""
        self.tally = Tally()
        for row in self.fmt.rows(self._usable(self._gold_responses()), self.campaign.pk):
            self.tally.rows += 1
            yield row

    def pieces(self) -> Iterator[str]:
        """The rows as JSON Lines, a piece of text at a time (for files and downloads)."""
        return jsonl_pieces(self.rows())

    def summary(self, where: str) -> str:
        tally = self.tally
        return (
            f"Wrote {tally.rows} {self.fmt.name} row{_s(tally.rows)} from {tally.gold} gold "
            f"label{_s(tally.gold)} of campaign {self.campaign.pk} to {where}.{tally.left_out()}"
        )

    def nothing_written(self) -> str:
        tally = self.tally
        return (
            f"Campaign {self.campaign.pk}'s {tally.gold} gold label{_s(tally.gold)} "
            f"give{'s' if tally.gold == 1 else ''} no "
            f"{self.fmt.name} rows: {self.fmt.none_because}; nothing was written."
        )

    def _usable(self, responses: Iterable[GoldResponse]) -> Iterator[GoldResponse]:
        for response in responses:
            self.tally.gold += 1
            if response.outcome is not None:
                self._tally_side_by_side(response)
                if response.sides() is not None:
                    yield response
            elif response.acceptable is None:
                self.tally.unreadable[response.gold_value] += 1
            elif not response.response.strip():
                # Nothing to learn from, and an empty completion trains a model to say nothing.
                self.tally.empty_responses += 1
            elif not meets_min_quality(response, self.min_quality):
                self.tally.below_quality += 1
            else:
                yield response

    def _tally_side_by_side(self, response: GoldResponse) -> None:
        if response.sides() is None:  # a tie or both bad: no better and worse to learn from
            self.tally.unreadable[response.outcome or ""] += 1

    def _gold_responses(self) -> Iterator[GoldResponse]:
        item_ids = self._ordered_item_ids()
        for start in range(0, len(item_ids), self.chunk_size):
            chunk = item_ids[start : start + self.chunk_size].tolist()
            rows = {row[0]: row for row in self._chunk_rows(chunk)}
            qualities = self._qualities(chunk, rows)
            for item_id in chunk:
                # A majority gold label goes when an annotator changes their label: one taken
                # away since the ids were read is left out, as if it had never been there.
                if item_id in rows:
                    yield _gold_response(rows[item_id], qualities.get(item_id))

    def _qualities(self, chunk: list[int], rows: dict[int, tuple[Any, ...]]) -> dict[int, float]:
        """The chunk's quality ratings: one more query a chunk, only when filtering by them."""
        question = quality_question(self.campaign.label_scheme)
        if self.min_quality is None or question is None:
            return {}
        gold = {item_id: row[GOLD_VALUE_COLUMN] for item_id, row in rows.items()}
        return item_qualities(question, chunk, gold, self.campaign)

    def _ordered_item_ids(self) -> array[int]:
        """The gold-labelled items' ids in (prompt, turn, item) order, 8 bytes an item. The order
        has no index behind it: keyset pages would sort every remaining item once a page, and a
        server-side cursor lets PostgreSQL pick a "first rows fast" plan that walks every
        response of every run by prompt. This query is sorted once, and reads no text."""
        ids = (
            Item.objects.filter(campaign=self.campaign, gold__isnull=False)
            .order_by("response__prompt_id", "response__turn", "pk")
            .values_list("pk", flat=True)
        )
        return array("q", ids)

    def _chunk_rows(self, item_ids: list[int]) -> Iterable[tuple[Any, ...]]:
        return Item.objects.filter(pk__in=item_ids, gold__isnull=False).values_list(
            "pk",
            "response__prompt_id",
            "response__prompt__external_id",
            "response__prompt__category",
            "response__prompt__subcategory",
            "response__prompt__text",
            "response__text",
            "response__run__model_name",
            "gold__value",
            "gold__source",
            "response__prompt__benchmark__kind",
            "response_b__text",
            "response_b__run__model_name",
            "swapped",
            "response__turn",
            "response__messages",
            "response_b__messages",
        )


# Where _chunk_rows puts the gold label's value.
GOLD_VALUE_COLUMN = 8


def _gold_response(row: tuple[Any, ...], quality: float | None) -> GoldResponse:
    (
        item_id,
        prompt_id,
        external_id,
        category,
        subcategory,
        prompt,
        response,
        model,
        gold_value,
        gold_source,
        benchmark_kind,
        response_b,
        model_b,
        swapped,
        turn,
        messages,
        messages_b,
    ) = row
    side_by_side = response_b is not None
    if (
        messages
    ):  # the turn answered: a scripted conversation's earlier answers answer earlier turns
        prompt = messages[-1]["content"]
    return GoldResponse(
        item_id=item_id,
        prompt_id=prompt_id,
        external_id=external_id,
        category=category,
        subcategory=subcategory,
        prompt=prompt,
        response=response,
        model=model,
        gold_value=gold_value,
        gold_source=gold_source,
        acceptable=None
        if side_by_side
        else acceptability(benchmark_kind=benchmark_kind, gold_value=gold_value),
        quality=quality,
        response_b=response_b or "",
        model_b=model_b or "",
        outcome=outcome(gold_value, swapped=swapped) if side_by_side else None,
        turn=turn,
        messages=messages,
        messages_b=messages_b or [],
    )


def training_export(
    *,
    campaign: Campaign,
    format_name: str,
    min_quality: int | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> TrainingExport:
    """A training export of the campaign, or TrainingExportError saying in one sentence why it
    cannot be made: an unknown format, a campaign with no gold label, a minimum quality it has
    no rating for."""
    fmt = training_format(format_name)
    if chunk_size < 1:
        raise TrainingExportError(f"The chunk size must be at least 1, not {chunk_size}.")
    min_quality_check(campaign, min_quality)
    if not GoldLabel.objects.filter(item__campaign=campaign).exists():
        raise TrainingExportError(
            f"Campaign {campaign.pk} has no gold labels yet, so there is no training data; "
            "settle labels on its review page first."
        )
    return TrainingExport(
        campaign=campaign, fmt=fmt, min_quality=min_quality, chunk_size=chunk_size
    )
