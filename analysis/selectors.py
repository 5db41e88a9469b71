"""Reads that gather what the reports compute on: verdicts per run and judge, and a campaign's
items with their gold labels, annotators' labels and judges' verdicts, as plain columns."""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, NamedTuple, TypeVar

from django.core.cache import cache
from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import (
    BooleanField,
    Count,
    ExpressionWrapper,
    F,
    Lookup,
    Q,
    QuerySet,
)
from django.db.models.lookups import GreaterThan

from annotate.models import Campaign, CheckKind, GoldLabel
from annotate.schemes import scheme_questions, scheme_values
from annotate.selectors import (
    JSONArrayLength,
    figure_assignments,
    figure_items,
    population_of,
)
from inference.models import GenerationRun
from judging.models import JUDGE_CLASSES, JudgeRun, Verdict
from judging.selectors import judge_label_parts
from runs.models import RunStatus

T = TypeVar("T")


class VerdictGroup(NamedTuple):
    """What the run report tells verdicts apart by: the prompt's category and subcategory,
    which of the user's turns the response answers (1 for a single prompt), whether its prompt
    is a conversation (fixed context or scripted turns: the run report's turn table), and the
    label."""

    category: str
    subcategory: str
    turn: int
    conversation: bool
    label: str


@dataclass
class JudgeColumn:
    """One judge's verdicts on one run, counted by ``VerdictGroup``: the database counts a
    million verdicts faster than Python reads them."""

    judge: str
    counts: Counter[VerdictGroup] = field(default_factory=Counter)

    @property
    def labels(self) -> list[str]:
        """Every verdict's label (grouped, not in any particular order)."""
        return [group.label for group, n in sorted(self.counts.items()) for _ in range(n)]


# A response whose prompt is a conversation: fixed context (``messages``) or scripted turns.
CONVERSATION_PROMPT = ExpressionWrapper(
    ~Q(response__prompt__messages=[]) | ~Q(response__prompt__user_turns=[]),
    output_field=BooleanField(),
)
# A response given after earlier turns (``Response.context`` not empty): more than the one
# message it answers was sent.
IN_CONTEXT = GreaterThan(JSONArrayLength("response__messages"), 1)


def latest_judge_runs(*, run: GenerationRun) -> list[JudgeRun]:
    """The newest judge run of each judge version on this run: a judge run again replaces the
    last, and each version of a judge is a judge of its own (``gpt4-rubric v2``)."""
    newest: dict[int, JudgeRun] = {}
    for judge_run in run.judge_runs.select_related("judge").order_by("pk"):
        newest[judge_run.judge_id] = judge_run
    return sorted(newest.values(), key=lambda jr: (jr.judge.name, jr.judge.version))


def run_judge_columns(*, run: GenerationRun) -> list[JudgeColumn]:
    columns = []
    for judge_run in latest_judge_runs(run=run):
        column = JudgeColumn(judge=judge_run.judge.label)
        for *group, n in finished_run_counts(judge_run, "run-report", "", _run_report_counts):
            column.counts[VerdictGroup(*group)] += n
        columns.append(column)
    return columns


def _run_report_counts(judge_run: JudgeRun) -> list[tuple[Any, ...]]:
    rows = (
        Verdict.objects.filter(judge_run=judge_run)
        .annotate(conversation=CONVERSATION_PROMPT)
        .values_list(
            "response__prompt__category",
            "response__prompt__subcategory",
            "response__turn",
            "conversation",
            "label",
        )
        .annotate(n=Count("pk"))
        .order_by()
    )
    return [tuple(row) for row in rows]


# A finished judge run's verdicts never change (judging again makes a new run), nor do the
# responses and prompts they are on: counts of them may be kept.
FINISHED_COUNTS_SECONDS = 3600


def finished_run_counts(
    judge_run: JudgeRun,
    kind: str,
    variant: str,
    count: Callable[[JudgeRun], list[tuple[Any, ...]]],
) -> list[tuple[Any, ...]]:
    """``count(judge_run)``: rows of counts the database made of a judge run's verdicts (a run
    may have a million), kept in the cache for FINISHED_COUNTS_SECONDS once the run is done,
    keyed by the run, when it finished, the ``kind`` of count and its ``variant`` (the
    filters it used): the reports read them on every view."""
    if judge_run.status != RunStatus.DONE or judge_run.finished_at is None:
        return count(judge_run)
    digest = hashlib.sha256(variant.encode()).hexdigest()
    key = f"analysis:{kind}:{judge_run.pk}:{judge_run.finished_at.timestamp()}:{digest}"
    cached = cache.get(key)
    if isinstance(cached, list):
        return cached
    counts = count(judge_run)
    cache.set(key, counts, FINISHED_COUNTS_SECONDS)
    return counts


def runs_for_report(*, pks: list[int]) -> QuerySet[GenerationRun]:
    return GenerationRun.objects.filter(pk__in=pks).select_related("benchmark").order_by("pk")


@dataclass
class CampaignData:
    """A campaign as columns, one row per item (in serving order)."""

    campaign: Campaign
    item_ids: list[int] = field(default_factory=list)
    run_ids: list[int] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    subcategories: list[str] = field(default_factory=list)
    weights: list[float] = field(default_factory=list)
    gold: list[str | None] = field(default_factory=list)
    gold_sources: list[str | None] = field(default_factory=list)
    annotators: list[str] = field(default_factory=list)
    ratings: list[list[str | None]] = field(default_factory=list)
    judges: dict[str, list[str | None]] = field(default_factory=dict)
    # P(not complied) per item, for judges that score (label_scoring); None where unscored.
    judge_scores: dict[str, list[float | None]] = field(default_factory=dict)
    # Whether the item's response answers a turn after earlier ones (``Response.context`` not
    # empty), and which of the user's turns it answers.
    in_context: list[bool] = field(default_factory=list)
    turns: list[int] = field(default_factory=list)
    # The campaign's items (checks not counted), those left out by ``labelled_only`` too.
    item_count: int = 0

    @property
    def comparable_with_judges(self) -> bool:
        return set(scheme_values(self.campaign.label_scheme)) <= JUDGE_CLASSES


def campaign_data(*, campaign: Campaign, labelled_only: bool = False) -> CampaignData:
    """The campaign's items as columns. ``labelled_only``: only the items with a gold label or
    a label that counts, the rows every figure of the agreement report reads (an item nobody
    labelled has no gold and no ratings, so it enters no figure); a campaign over a million
    responses with a hundred thousand labels then reads a twentieth of its items, and only
    their verdicts."""
    data = CampaignData(campaign=campaign)
    gold: dict[int, str] = {}
    sources: dict[int, str] = {}
    for item_id, value, source in GoldLabel.objects.filter(item__campaign=campaign).values_list(
        "item_id", "value", "source"
    ):
        gold[item_id], sources[item_id] = value, source
    labels = _figure_labels(campaign)
    items = figure_items(campaign)
    if labelled_only:
        # The labelled items' ids are those of the labels and gold labels just read: on
        # PostgreSQL one array of them (0.63-0.71 -> 0.34-0.37 s for 50,000 of a million
        # items; the union of ids as a subquery, restricted to the campaign through its items,
        # scanned the million twice), elsewhere that subquery.
        labelled = sorted(labels.by_item.keys() | gold.keys())
        items = items.filter(_among("pk", labelled, _labelled_subquery(campaign)))
        data.item_count = figure_items(campaign).count()
    items = items.order_by("position", "pk")
    rows = items.annotate(in_context=IN_CONTEXT).values_list(
        "pk",
        "response_id",
        "response__run_id",
        "response__prompt__category",
        "response__prompt__subcategory",
        "inclusion_probability",
        "in_context",
        "response__turn",
    )
    response_of_item: dict[int, int] = {}
    # A chunk of rows at a time, turned into columns by zip (in C), not row by row.
    for chunk in _chunks(rows.iterator(chunk_size=ROWS_AT_ONCE), ROWS_AT_ONCE):
        (
            item_ids,
            response_ids,
            run_ids,
            categories,
            subcategories,
            probabilities,
            in_context,
            turns,
        ) = zip(*chunk, strict=True)
        response_of_item.update(zip(item_ids, response_ids, strict=True))
        data.item_ids.extend(item_ids)
        data.run_ids.extend(run_ids)
        data.categories.extend(categories)
        data.subcategories.extend(subcategories)
        data.weights.extend(1.0 / probability for probability in probabilities)
        data.gold.extend(map(gold.get, item_ids))
        data.gold_sources.extend(map(sources.get, item_ids))
        data.in_context.extend(in_context)
        data.turns.extend(turns)
    if not labelled_only:
        data.item_count = len(data.item_ids)
    _fill_ratings(data, labels)
    responses = items.values("response_id")
    on_items = (
        _among("response_id", sorted(response_of_item.values()), responses)
        if labelled_only
        else Q(response_id__in=responses)
    )
    _fill_judges(data, response_of_item, on_items, labelled_only=labelled_only)
    return data


# Rows read from a server-side cursor at a time.
ROWS_AT_ONCE = 5000


def _chunks(rows: Iterator[T], size: int) -> Iterator[list[T]]:
    while chunk := list(islice(rows, size)):
        yield chunk


class EqualsAny(Lookup):
    """``field = ANY(%s::bigint[])`` with the ids as one array literal (PostgreSQL only;
    written here: psycopg's list adapter took 50 ms for 50,000 ids)."""

    lookup_name = "equals_any"
    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: BaseDatabaseWrapper) -> tuple[str, tuple[Any, ...]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        ids = "{" + ",".join(str(int(value)) for value in self.rhs) + "}"
        return f"{lhs} = ANY(%s::bigint[])", (*lhs_params, ids)


def _among(field: str, ids: list[int], subquery: QuerySet[Any]) -> Q | EqualsAny:
    """``field`` among ``ids``, which ``subquery`` selects too. On PostgreSQL the ids as one
    array: the 50,000 labelled items' verdicts were read in 0.28 s so, 0.6 s through the
    subquery (which found the labelled items again, scanning the million). Elsewhere the
    subquery (SQLite takes no array, nor 50,000 parameters)."""
    if connection.vendor == "postgresql":
        return EqualsAny(F(field), ids)
    return Q(**{f"{field}__in": subquery})


def _labelled_subquery(campaign: Campaign) -> QuerySet[Any]:
    """The ids of the campaign's items with a label that counts or a gold label."""
    return (
        figure_assignments(campaign)
        .order_by()
        .values("item_id")
        .union(GoldLabel.objects.filter(item__campaign=campaign).order_by().values("item_id"))
    )


def annotator_pseudonyms(*, campaign: Campaign) -> dict[int, str]:
    """Who labelled the campaign, user id → pseudonym: A1, A2, … in order of user id. Reports,
    exports and files show annotators only this way."""
    annotator_ids = (
        figure_assignments(campaign)
        .order_by("annotator_id")
        .values_list("annotator_id", flat=True)
        .distinct()
    )
    return _pseudonyms(annotator_ids)


def _pseudonyms(annotator_ids: Iterable[int]) -> dict[int, str]:
    """A1, A2, … for these user ids, in order of user id."""
    return {
        annotator_id: f"A{index}"
        for index, annotator_id in enumerate(sorted(set(annotator_ids)), start=1)
    }


@dataclass(frozen=True)
class FigureLabels:
    """The labels that count in figures (``figure_assignments``): item id → annotator id →
    label, and the annotators' pseudonyms (those of ``annotator_pseudonyms``)."""

    by_item: dict[int, dict[int, str]]
    pseudonyms: dict[int, str]


def _figure_labels(campaign: Campaign) -> FigureLabels:
    """One read of the labels that count; who gave them names the pseudonyms."""
    rows = (
        figure_assignments(campaign)
        .order_by()  # rows go into a dict: the order they come in does not matter
        .values_list("item_id", "annotator_id", "label__value")
    )
    by_item: dict[int, dict[int, str]] = defaultdict(dict)
    annotators: set[int] = set()
    for item_id, annotator_id, value in rows.iterator(chunk_size=ROWS_AT_ONCE):
        by_item[item_id][annotator_id] = value
        annotators.add(annotator_id)
    return FigureLabels(dict(by_item), _pseudonyms(annotators))


def _fill_ratings(data: CampaignData, labels: FigureLabels) -> None:
    annotators = list(labels.pseudonyms)
    data.annotators = list(labels.pseudonyms.values())
    unlabelled: list[str | None] = [None] * len(annotators)
    data.ratings = []
    for item_id in data.item_ids:
        given = labels.by_item.get(item_id)
        data.ratings.append(list(map(given.get, annotators)) if given else unlabelled.copy())


def _fill_judges(
    data: CampaignData,
    response_of_item: dict[int, int],
    on_items: Q | EqualsAny,
    *,
    labelled_only: bool,
) -> None:
    """The verdicts of the newest run of each judge on each run with items in the campaign
    (with ``labelled_only`` too: the same judges in the report), on the responses of the items
    read (``on_items``, a condition on the verdict's response)."""
    with_items = set(data.run_ids)
    if labelled_only:
        # A run none of whose items was read: usually none (a query for each).
        for run_id in data.campaign.runs.exclude(pk__in=with_items).values_list("pk", flat=True):
            if figure_items(data.campaign).filter(response__run_id=run_id).exists():
                with_items.add(run_id)
    runs = GenerationRun.objects.filter(pk__in=with_items).order_by("pk")
    verdicts: dict[str, dict[int, str]] = defaultdict(dict)
    scores: dict[str, dict[int, float]] = defaultdict(dict)
    names: dict[int, str] = {}
    for run in runs:
        for judge_run in latest_judge_runs(run=run):
            name = judge_run.judge.label  # the version that produced these verdicts
            names[judge_run.pk] = name
            # A judge that judged the run has a column, verdicts on these items or not.
            if Verdict.objects.filter(judge_run=judge_run).exists():
                verdicts.setdefault(name, {})
    # One query for every judge run: the items' responses are found once. Unordered: they go
    # into dicts (sorting 100,000 verdicts took a fifth of the read).
    rows = (
        Verdict.objects.filter(on_items, judge_run_id__in=list(names))
        .order_by()
        .values_list("judge_run_id", "response_id", "label", "score")
    )
    # Every item's verdicts through a server-side cursor, memory staying flat; the labelled
    # items' at once (through a cursor the read of 100,000 took 1.7 times as long).
    found = rows if labelled_only else rows.iterator(chunk_size=ROWS_AT_ONCE)
    for judge_run_id, response_id, label, score in found:
        verdicts[names[judge_run_id]][response_id] = label
        if score is not None:
            scores[names[judge_run_id]][response_id] = score
    in_order = list(map(response_of_item.__getitem__, data.item_ids))
    data.judges = {
        name: list(map(labels.get, in_order))
        for name, labels in sorted(verdicts.items(), key=_by_version)
    }
    data.judge_scores = {
        name: list(map(found.get, in_order))
        for name, found in sorted(scores.items(), key=_by_version)
    }


def _by_version(entry: tuple[str, object]) -> tuple[str, int]:
    """Judges by name, then version (v10 after v9), as the columns of every report."""
    return judge_label_parts(entry[0])


@dataclass(frozen=True)
class RunVerdicts:
    """A judge's verdicts on the responses a campaign draws from, counted by (category, label):
    the estimates read how many of each there are, never a list of a million."""

    counts: dict[tuple[str, str], int]

    @property
    def labels(self) -> Counter[str]:
        """How many verdicts carry each label."""
        found: Counter[str] = Counter()
        for (_, label), n in self.counts.items():
            found[label] += n
        return found

    @property
    def categories(self) -> set[str]:
        return {category for category, _ in self.counts}


def run_verdict_counts(*, campaign: Campaign, run_id: int, judge: str) -> RunVerdicts:
    """The verdicts (by category and label) of the newest run of this judge on this run, on the
    responses the campaign draws its items from (answered, inside its category filters): the
    population its labelled sample can speak for."""
    name, version = judge_label_parts(judge)  # a label names exactly one version
    judge_run = (
        JudgeRun.objects.filter(run_id=run_id, judge__name=name, judge__version=version)
        .select_related("run")
        .order_by("-pk")
        .first()
    )
    if judge_run is None:
        return RunVerdicts({})
    found: Counter[tuple[str, str]] = Counter()
    for category, label, n in population_verdict_counts(campaign=campaign, judge_run=judge_run):
        found[category, label] += n
    return RunVerdicts(dict(found))


def population_verdict_counts(
    *, campaign: Campaign, judge_run: JudgeRun
) -> list[tuple[str, str, int]]:
    """(category, label, verdicts) of the judge run on the responses the campaign draws from,
    in that order: the estimates read how many of each label there are, overall and per
    category, never their order (``finished_run_counts``)."""
    filters = [
        campaign.categories,
        campaign.subcategories,
        campaign.exclude_truncated,
        campaign.turns,
    ]

    def count(judge_run: JudgeRun) -> list[tuple[Any, ...]]:
        # One join of the population with its verdicts (a response has one per judge run),
        # rather than the verdicts joined again to a subquery of the population: half the work.
        rows = (
            population_of(campaign, [judge_run.run])
            .filter(verdicts__judge_run=judge_run)
            .values_list("prompt__category", "verdicts__label")
            .annotate(n=Count("pk"))
            .order_by("prompt__category", "verdicts__label")
        )
        return [tuple(row) for row in rows]

    counts = finished_run_counts(judge_run, "population", json.dumps(filters), count)
    return [(str(category), str(label), int(n)) for category, label, n in counts]


@dataclass
class CampaignAnswers:
    """The answers to a campaign's questions after the label, parallel to ``CampaignData``:
    ``people`` has a row per item and a column per annotator (``CampaignData.annotators``), the
    answers given with that annotator's label or None where they gave no label; ``judges`` has,
    per judge version that answered any question, a row per item with its verdict's answers (None
    where it gave no verdict)."""

    questions: list[dict[str, Any]]
    people: list[list[dict[str, Any] | None]] = field(default_factory=list)
    judges: dict[str, list[dict[str, Any] | None]] = field(default_factory=dict)


def campaign_answers(*, data: CampaignData) -> CampaignAnswers:
    answers = CampaignAnswers(questions=scheme_questions(data.campaign.label_scheme))
    if not answers.questions:
        return answers
    columns = {
        annotator_id: column
        for column, annotator_id in enumerate(annotator_pseudonyms(campaign=data.campaign))
    }
    rows = figure_assignments(data.campaign).values_list(
        "item_id", "annotator_id", "label__answers"
    )
    by_item: dict[int, dict[int, dict[str, Any]]] = defaultdict(dict)
    for item_id, annotator_id, given in rows.iterator(chunk_size=5000):
        by_item[item_id][columns[annotator_id]] = given or {}
    answers.people = [
        [by_item[item_id].get(column) for column in range(len(columns))]
        for item_id in data.item_ids
    ]
    answers.judges = _judge_answers(data)
    return answers


def _judge_answers(data: CampaignData) -> dict[str, list[dict[str, Any] | None]]:
    """Per judge version (the newest run of each on each run, as the reports read verdicts):
    its verdicts' answers per item; judges that answered no question are left out."""
    item_of_response = dict(figure_items(data.campaign).values_list("response_id", "pk"))
    row_of_item = {item_id: row for row, item_id in enumerate(data.item_ids)}
    found: dict[str, list[dict[str, Any] | None]] = {}
    for run in GenerationRun.objects.filter(pk__in=set(data.run_ids)).order_by("pk"):
        for judge_run in latest_judge_runs(run=run):
            verdicts = Verdict.objects.filter(
                judge_run=judge_run,
                response__items__campaign=data.campaign,
                response__items__check_kind=CheckKind.NONE,
            ).values_list("response_id", "answers")
            for response_id, given in verdicts.iterator(chunk_size=5000):
                # An item the data leaves out (``labelled_only``) has no row.
                row = row_of_item.get(item_of_response[response_id])
                if not given or row is None:
                    continue
                column = found.setdefault(judge_run.judge.label, [None] * len(data.item_ids))
                column[row] = given
    return dict(sorted(found.items(), key=_by_version))
