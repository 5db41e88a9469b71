"""Reads for the annotation pages."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import User
from django.core.cache import caches
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    FloatField,
    Func,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Abs, Coalesce, Greatest
from django.http import Http404

from accounts.joined import Joined, Part
from accounts.prepared import prepared_cursor
from annotate.models import (
    AnnotatorStanding,
    Assignment,
    AssignmentStatus,
    Campaign,
    CampaignStatus,
    CheckKind,
    GoldLabel,
    GoldSource,
    Item,
    Label,
    Turns,
)
from annotate.sampling import FAILED_LABELS, Candidate, Cluster, Reading
from annotate.tickets import served_ticket
from benchmarks.models import Prompt, Rubric
from inference.models import GenerationRun, Response
from judging.models import Judge, Verdict

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.models.sql.compiler import SQLCompiler

# Response.finish_reason of an answer cut off at the length limit (max_new_tokens).
TRUNCATED = "length"


class JSONArrayLength(Func):
    """The length of a JSON array column (PostgreSQL's jsonb, SQLite's JSON text)."""

    function = "JSON_ARRAY_LENGTH"
    output_field = IntegerField()

    def as_postgresql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra_context: Any
    ) -> tuple[str, Sequence[Any]]:
        return self.as_sql(compiler, connection, function="JSONB_ARRAY_LENGTH", **extra_context)


def last_answers() -> Q:
    """Responses that answer their conversation's last user turn: every answer but a scripted
    conversation's earlier ones (a single prompt's and a fixed conversation's one answer is
    its last; a scripted one's last answers its last user turn, ``Prompt.last_turn``)."""
    return Q(prompt__user_turns=[]) | Q(turn=JSONArrayLength("prompt__user_turns"))


def campaign_population(
    *,
    runs: Iterable[GenerationRun],
    categories: Collection[str] = (),
    subcategories: Collection[str] = (),
    exclude_truncated: bool = False,
    turns: str = Turns.LAST,
) -> QuerySet[Response]:
    """The responses a campaign over ``runs`` draws its items from: answered (no generation
    error), inside the category filters, each conversation's last answer only unless the
    campaign labels every turn, and, if the campaign says so, not cut off at the length limit.
    Estimates that reach past the labelled sample (the judge-corrected compliance rate) must
    stay inside this same population."""
    responses = Response.objects.filter(run__in=list(runs), error="")
    if categories:
        responses = responses.filter(prompt__category__in=list(categories))
    if subcategories:
        responses = responses.filter(prompt__subcategory__in=list(subcategories))
    if exclude_truncated:
        responses = responses.exclude(finish_reason=TRUNCATED)
    if turns != Turns.EVERY:
        responses = responses.filter(last_answers())
    return responses


def campaign_candidates(
    *,
    runs: Iterable[GenerationRun],
    categories: Collection[str] = (),
    subcategories: Collection[str] = (),
    exclude_truncated: bool = False,
    turns: str = Turns.LAST,
) -> list[Candidate]:
    """Responses a campaign may draw from (``campaign_population``), with their subcategory
    and category."""
    responses = campaign_population(
        runs=runs,
        categories=categories,
        subcategories=subcategories,
        exclude_truncated=exclude_truncated,
        turns=turns,
    )
    rows = responses.order_by("pk").values_list("pk", "prompt__subcategory", "prompt__category")
    return [Candidate(*row) for row in rows]


def campaign_clusters(
    *,
    runs: Iterable[GenerationRun],
    categories: Collection[str] = (),
    subcategories: Collection[str] = (),
    exclude_truncated: bool = False,
) -> list[Cluster]:
    """Every answer a campaign of every turn may draw from, as conversations: one run's
    answers to one prompt, in turn order (a single prompt's one answer is a conversation of
    one), the conversations in the order of their first response."""
    responses = campaign_population(
        runs=runs,
        categories=categories,
        subcategories=subcategories,
        exclude_truncated=exclude_truncated,
        turns=Turns.EVERY,
    )
    rows = responses.order_by("run_id", "prompt_id", "turn").values_list(
        "pk", "run_id", "prompt_id", "prompt__subcategory", "prompt__category"
    )
    grouped: dict[tuple[int, int], list[int]] = {}
    names: dict[tuple[int, int], tuple[str, str]] = {}
    for response_id, run_id, prompt_id, subcategory, category in rows.iterator(chunk_size=5000):
        grouped.setdefault((run_id, prompt_id), []).append(response_id)
        names[(run_id, prompt_id)] = (subcategory, category)
    clusters = [Cluster(tuple(ids), *names[key]) for key, ids in grouped.items()]
    return sorted(clusters, key=lambda cluster: min(cluster.response_ids))


@dataclass(frozen=True)
class PairCandidate:
    """Two answered responses to one prompt's same turn from different runs, the lower id
    first; ``runs``: their runs in that order, ``turn``: the turn both answer."""

    response_id: int
    response_b_id: int
    subcategory: str
    prompt_id: int = 0
    turn: int = 1
    runs: tuple[int, int] = (0, 0)

    @property
    def conversation(self) -> tuple[int, frozenset[int]]:
        """The two runs' conversations on one prompt that this pair is a turn of."""
        return self.prompt_id, frozenset(self.runs)


def pairwise_candidates(
    *,
    runs: Iterable[GenerationRun],
    categories: Collection[str] = (),
    subcategories: Collection[str] = (),
    exclude_truncated: bool = False,
    turns: str = Turns.LAST,
) -> list[PairCandidate]:
    """Every pair of the runs' responses to the same prompt and turn (each pair of runs, each
    prompt's turn both answered inside the campaign's filters; with ``turns`` "last", only
    the conversations' last answers), in a fixed order."""
    responses = campaign_population(
        runs=runs,
        categories=categories,
        subcategories=subcategories,
        exclude_truncated=exclude_truncated,
        turns=turns,
    )
    by_turn: dict[tuple[int, int], list[tuple[int, int]]] = {}
    subcategory_of: dict[int, str] = {}
    rows = responses.order_by("prompt_id", "turn", "pk").values_list(
        "pk", "run_id", "prompt_id", "turn", "prompt__subcategory"
    )
    for response_id, run_id, prompt_id, turn, subcategory in rows.iterator(chunk_size=5000):
        by_turn.setdefault((prompt_id, turn), []).append((response_id, run_id))
        subcategory_of[prompt_id] = subcategory
    # One response per run, prompt and turn (a unique constraint), so two responses to one
    # prompt's turn always come from two different runs.
    pairs = [
        PairCandidate(
            first, second, subcategory_of[prompt_id], prompt_id, turn, (first_run, second_run)
        )
        for (prompt_id, turn), answers in by_turn.items()
        for (first, first_run), (second, second_run) in combinations(answers, 2)
    ]
    return sorted(pairs, key=lambda pair: (pair.response_id, pair.response_b_id))


def population_readings(
    *, judges: Collection[Judge], filters: dict[str, Any], turns: str
) -> list[Reading]:
    """What the sampling judges said about the responses the campaign draws from (its
    candidates: ``campaign_population`` with the same filters). A judge that judged a run
    twice gives its readings twice, which the designs read as once (a set of labels, the
    largest uncertainty)."""
    rows = _population_verdicts(judges, filters, turns).values_list("response_id", "label", "score")
    return list(rows)


def _population_verdicts(
    judges: Collection[Judge], filters: dict[str, Any], turns: str
) -> QuerySet[Verdict]:
    """The sampling judges' verdicts on the campaign's population (``campaign_population``
    with the same filters), found through the population as a subquery (as a list of a
    million candidate ids the query took 10 s), unordered."""
    population = campaign_population(**filters, turns=turns)
    return Verdict.objects.filter(
        judge_run__judge__in=list(judges), response__in=population.values("pk")
    ).order_by()


def population_uncertainty(
    *, judges: Collection[Judge], filters: dict[str, Any], turns: str, at_least: float
) -> dict[int, float]:
    """``uncertainty_by_response`` of ``population_readings``, worked out by the database: the
    responses whose uncertainty is above 0 and at least ``at_least`` (the designs read a
    response left out as 0.0). Judge disagreement tells only the responses above its margin
    apart, so it asks for those alone: a million responses' two million readings, read and
    looped over in Python, took 6 s (bench/RESULTS.md)."""
    per_response = (
        _population_verdicts(judges, filters, turns)
        .values("response_id")
        .annotate(
            # More than one label where the first and the last differ (a count of distinct
            # labels would make PostgreSQL sort the readings rather than hash them).
            first_label=Min("label"),
            last_label=Max("label"),
            failed=Max(Case(When(label__in=FAILED_LABELS, then=1), default=0)),
            # The most unsure scoring judge (1 at P=0.5, 0 at P=0 or 1; none scored: 0).
            unsure=Greatest(Coalesce(Max(1 - 2 * Abs(F("score") - 0.5)), 0.0), 0.0),
        )
        .annotate(
            uncertainty=Case(
                When(~Q(first_label=F("last_label")) | Q(failed=1), then=Value(1.0)),
                default=F("unsure"),
                output_field=FloatField(),
            )
        )
        .filter(uncertainty__gt=0, uncertainty__gte=at_least)
        .values_list("response_id", "uncertainty")
    )
    return dict(per_response)


def population_of(campaign: Campaign, runs: Iterable[GenerationRun]) -> QuerySet[Response]:
    """``campaign_population`` with the campaign's own filters (its turns too)."""
    return campaign_population(
        runs=runs,
        categories=campaign.categories,
        subcategories=campaign.subcategories,
        exclude_truncated=campaign.exclude_truncated,
        turns=campaign.turns,
    )


def run_categories(*, runs: Iterable[GenerationRun]) -> dict[str, list[str]]:
    """Each category of the runs' answered responses with its subcategories, sorted: what a
    campaign over these runs may filter on."""
    pairs = (
        campaign_population(runs=runs)
        .order_by()
        .values_list("prompt__category", "prompt__subcategory")
        .distinct()
    )
    found: dict[str, list[str]] = {}
    for category, subcategory in sorted(pairs):
        found.setdefault(category, []).append(subcategory)
    return found


def figure_items(campaign: Campaign) -> QuerySet[Item]:
    """The campaign's items that figures and gold speak for: every item but the checks."""
    return Item.objects.filter(campaign=campaign, check_kind=CheckKind.NONE)


def excluded_annotators(campaign: Campaign) -> QuerySet[AnnotatorStanding, int]:
    """User ids (``annotator_id``) whose labels a researcher left out of this campaign's
    figures, as a subquery."""
    return AnnotatorStanding.objects.filter(
        campaign=campaign, excluded_at__isnull=False
    ).values_list("annotator_id", flat=True)


def figure_assignments(campaign: Campaign) -> QuerySet[Assignment]:
    """The labelled assignments that count in figures and gold: on items that are not checks,
    by annotators whose labels are not excluded. Every report, export and gold label reads
    labels through this."""
    return Assignment.objects.filter(
        item__campaign=campaign, item__check_kind=CheckKind.NONE, status=AssignmentStatus.DONE
    ).exclude(annotator_id__in=excluded_annotators(campaign))


def check_assignments(campaign: Campaign) -> QuerySet[Assignment]:
    """The labelled checks of the campaign (every annotator's, excluded or not)."""
    return Assignment.objects.filter(item__campaign=campaign, status=AssignmentStatus.DONE).exclude(
        item__check_kind=CheckKind.NONE
    )


def served_to(user: User) -> Exists:
    """Items this user has been served. As NOT EXISTS, PostgreSQL probes the (item, annotator)
    unique index per candidate item and stops at the first open one, instead of hashing all the
    user's assignments (``exclude(assignments__annotator=...)`` becomes NOT IN)."""
    return Exists(Assignment.objects.filter(item=OuterRef("pk"), annotator=user))


class CountOf(Subquery):
    """COUNT(*) of a queryset, sliced or not, as a scalar subquery (0 when empty): a LIMIT
    inside stops the count early, which ``Count`` over a join cannot do."""

    template = "(SELECT COUNT(*) FROM (%(subquery)s) AS counted)"
    output_field = IntegerField()


def progress_counts(*, user: User, cap: int | None = None) -> dict[str, CountOf]:
    """For the campaign of the outer row: the user's labelled (``done``) and reserved
    (``held``) items, and the items still open to others that the user has not been served
    (``open``, at most ``cap``)."""
    mine = Assignment.objects.filter(item__campaign=OuterRef("pk"), annotator=user).values("pk")
    open_items = (
        Item.objects.filter(campaign=OuterRef("pk"), slots_left__gt=0)
        .exclude(served_to(user))
        .order_by()
        .values("pk")
    )
    return {
        "done": CountOf(mine.filter(status=AssignmentStatus.DONE)),
        "held": CountOf(mine.filter(status=AssignmentStatus.RESERVED)),
        "open": CountOf(open_items[:cap] if cap is not None else open_items),
    }


def campaigns_for_annotator(*, user: User) -> QuerySet[Campaign]:
    """The user's campaigns, archived ones left out, with ``item_count``, ``done_by_user`` and
    ``remaining_for_user``: items still open to others that the user has not been served, plus
    those they hold now."""
    counts = progress_counts(user=user)
    return (
        Campaign.objects.filter(annotators=user)
        .exclude(status=CampaignStatus.ARCHIVED)
        .annotate(
            item_count=CountOf(
                Item.objects.filter(campaign=OuterRef("pk"), check_kind=CheckKind.NONE).values("pk")
            ),
            done_by_user=counts["done"],
            remaining_for_user=counts["open"] + counts["held"],
        )
        .order_by("-created_at")
    )


# An annotator's bar counts what is left up to this many items: counting further would scan a
# big campaign on every key press, and "1000+ left" says enough.
REMAINING_CAP = 1000


@dataclass(frozen=True)
class AnnotatorProgress:
    done: int
    remaining: int
    remaining_capped: bool

    @property
    def percent(self) -> float:
        total = self.done + self.remaining
        return 100.0 * self.done / total if total else 100.0


@dataclass(frozen=True)
class RubricText:
    """The subcategory's guideline as the annotator reads it."""

    acceptable: str
    unacceptable: str


@dataclass(frozen=True)
class Screen:
    """What an annotator sees of one item, and nothing more (no verdicts, no other labels)."""

    assignment: Assignment
    rubric: RubricText | None
    label: Label | None

    @property
    def ticket(self) -> str:
        """Sent back with the label: proof the item was served to this annotator."""
        return served_ticket(
            assignment_id=self.assignment.pk,
            item_id=self.assignment.item_id,
            annotator_id=self.assignment.annotator_id,
        )

    @property
    def answers_json(self) -> str:
        """The annotator's answers to the scheme's questions, for the screen to mark them when
        the label is changed."""
        return json.dumps(self.label.answers if self.label else {})


def campaign_for_annotator(*, pk: int, user: User) -> Campaign:
    """The campaign if this user annotates it; 404 otherwise, so that other campaigns stay
    invisible (not even their existence shows)."""
    found = _CAMPAIGN_OF_ANNOTATOR.fetch_one([pk, user.pk])
    if found is None:
        raise Http404("No such campaign.")
    campaign: Campaign = found["c"]
    return campaign


# Read on every key press: written once (accounts/joined.py), not compiled by the ORM each time.
_CAMPAIGN_OF_ANNOTATOR = Joined(
    (Part("c", Campaign, None),),
    "c.id = %s AND EXISTS (SELECT 1 FROM annotate_campaign_annotators AS m"
    " WHERE m.campaign_id = c.id AND m.user_id = %s)",
)


def annotator_progress(*, campaign: Campaign, user: User) -> AnnotatorProgress:
    """Done and remaining for the bar, in one statement (it runs after every label). What is
    open is counted from the annotator's cursor on, as serving searches
    (annotate/services/hot_path.py): the items behind it are mostly theirs already, and an
    annotator far ahead would have them all probed on every key press. Those behind are
    counted only when fewer than the cap lie ahead (the UNION stops once it has the cap). What
    they have done is the count kept with their labels (``AnnotatorCount``)."""
    parameters: dict[str, Any] = {
        "campaign": campaign.pk,
        "user": user.pk,
        "cap": REMAINING_CAP,
        "every_turn": campaign.labels_every_turn,
        "reserved": AssignmentStatus.RESERVED.value,
        "regular": CheckKind.NONE.value,
    }
    with prepared_cursor() as cursor:
        cursor.execute(PROGRESS, parameters)
        done, held, open_count = cursor.fetchone()
    return AnnotatorProgress(
        done=done, remaining=open_count + held, remaining_capped=open_count >= REMAINING_CAP
    )


# The bar after a label: counting what is left probes up to REMAINING_CAP items (a sixth of the
# label POST), yet between two counts it mostly changes by the annotator's own labels, one each.
# So a count is kept for a few seconds and their labels since are taken off it; near the end,
# where every item shows, or once it is older, it is counted again. Others' labels and the
# annotator's skips show at the next count. Each server process keeps its own counts (no round
# trip to a shared cache): the labels since are read from the database, wherever they were made.
BAR_RECOUNT_SECONDS = 15
BAR_RECOUNT_BELOW = 100


def annotator_progress_for_bar(
    *, campaign: Campaign, user: User, recount: bool = False, labelled: int | None = None
) -> AnnotatorProgress:
    """The annotator's progress for the bar: ``annotator_progress``, what is left counted at
    most every ``BAR_RECOUNT_SECONDS`` while more than ``BAR_RECOUNT_BELOW`` are left (always
    with ``recount``: the page as it opens). ``labelled``: their count of labelled items where
    the caller knows it (the label it just stored told it), else it is read."""
    # The campaign's creation time keeps a new campaign that reuses a deleted one's id apart.
    key = f"annotate:bar:{campaign.pk}:{campaign.created_at.timestamp()}:{user.pk}"
    kept = caches["process"]
    counted: AnnotatorProgress | None = None if recount else kept.get(key)
    if counted is not None and counted.remaining >= BAR_RECOUNT_BELOW:
        done = labelled if labelled is not None else _labelled_count(campaign=campaign, user=user)
        remaining = counted.remaining
        if not counted.remaining_capped:  # a capped count stays "at least the cap"
            remaining -= done - counted.done
        if remaining < BAR_RECOUNT_BELOW:
            kept.delete(key)  # near the end: counted from the next label on
        return AnnotatorProgress(
            done=done, remaining=max(remaining, 0), remaining_capped=counted.remaining_capped
        )
    progress = annotator_progress(campaign=campaign, user=user)
    kept.set(key, progress, BAR_RECOUNT_SECONDS)
    return progress


def _labelled_count(*, campaign: Campaign, user: User) -> int:
    """How many items the annotator labelled (checks not counted): the count kept with their
    labels (``AnnotatorCount``), read as ``PROGRESS`` reads it."""
    with prepared_cursor() as cursor:
        cursor.execute(_LABELLED, {"campaign": campaign.pk, "user": user.pk})
        (done,) = cursor.fetchone()
    return done


# Raw SQL for the one thing the ORM cannot say: count the open items ahead of the cursor, and
# those behind only if fewer than the cap lie ahead. Portable (PostgreSQL and SQLite).
_HELD = """
    SELECT count(*) FROM annotate_assignment AS a JOIN annotate_item AS i ON i.id = a.item_id
    WHERE a.annotator_id = %(user)s AND i.campaign_id = %(campaign)s AND a.status = %(reserved)s
"""
_OPEN = """
    SELECT * FROM (
        SELECT i.id FROM annotate_item AS i
        WHERE i.campaign_id = %(campaign)s AND i.slots_left > 0 AND i.position {side} (
            SELECT COALESCE(MAX(c.position), 0) FROM (
                SELECT i2.position FROM annotate_assignment AS a2
                JOIN annotate_item AS i2 ON i2.id = a2.item_id
                WHERE a2.annotator_id = %(user)s AND i2.campaign_id = %(campaign)s
                  AND i2.check_kind = %(regular)s AND NOT %(every_turn)s
                ORDER BY a2.id DESC LIMIT 1
            ) AS c
        )
          AND NOT EXISTS (
              SELECT 1 FROM annotate_assignment AS s
              WHERE s.item_id = i.id AND s.annotator_id = %(user)s
          )
        -- In serving's order: the open items' index from the cursor on, each probed once.
        ORDER BY i.position, i.id
        LIMIT %(cap)s
    ) AS {name}
"""
_LABELLED = """
SELECT COALESCE((
    SELECT labelled FROM annotate_annotatorcount
    WHERE campaign_id = %(campaign)s AND annotator_id = %(user)s
), 0)
"""
PROGRESS = f"""
SELECT
    ({_LABELLED}),
    ({_HELD}),
    (SELECT count(*) FROM (
        {_OPEN.format(side=">=", name="ahead")}
        UNION ALL
        {_OPEN.format(side="<", name="behind")}
        LIMIT %(cap)s
    ) AS open_items)
"""


# What the labeling screen shows, and nothing more: it is read on every key press, and the full
# rows (the campaign, benchmark and run with their JSON settings) cost more to plan and carry
# than to read. One query (accounts/joined.py), written once per process.
_SCREEN_PARTS = (
    # The annotator, for the served-item ticket.
    Part("a", Assignment, ("id", "item_id", "annotator_id", "status")),
    # An attention check states its answer on screen; a gold question shows nothing of its own.
    Part(
        "i",
        Item,
        ("id", "response_id", "check_kind", "check_answer"),
        "JOIN annotate_item AS i ON i.id = a.item_id",
    ),
    # finish_reason: the "cut off at the length limit" marker; turn and messages: what the model
    # was sent in a conversation (annotate/conversations.py).
    Part(
        "r",
        Response,
        ("id", "run_id", "prompt_id", "turn", "messages", "text", "finish_reason"),
        "JOIN inference_response AS r ON r.id = i.response_id",
    ),
    Part(
        "g",
        GenerationRun,
        ("id", "model_name"),
        "JOIN inference_generationrun AS g ON g.id = r.run_id",
    ),
    # The prompt's own turns, when the response does not record what it was sent.
    Part(
        "p",
        Prompt,
        ("id", "category", "subcategory", "text", "messages", "user_turns"),
        "JOIN benchmarks_prompt AS p ON p.id = r.prompt_id",
    ),
    Part(
        "l",
        Label,
        ("id", "assignment_id", "value", "answers", "note"),
        "LEFT JOIN annotate_label AS l ON l.assignment_id = a.id",
    ),
    # The current rubric of the prompt's subcategory (at most one: a unique constraint).
    Part(
        "ru",
        Rubric,
        ("id", "acceptable", "unacceptable"),
        "LEFT JOIN benchmarks_rubric AS ru ON ru.benchmark_id = p.benchmark_id"
        " AND ru.subcategory = p.subcategory AND ru.is_current",
    ),
)
# A pairwise item's second response, in the order fixed when the item was made: its columns are
# the item's own (one instance carries them all), then the response and its run.
_PAIR_ITEM_FIELDS = ("swapped", "response_b_id")
_PAIR_PARTS = (
    Part(
        "rb",
        Response,
        ("id", "run_id", "turn", "messages", "text", "finish_reason"),
        "LEFT JOIN inference_response AS rb ON rb.id = i.response_b_id",
    ),
    Part(
        "gb",
        GenerationRun,
        ("id", "model_name"),
        "LEFT JOIN inference_generationrun AS gb ON gb.id = rb.run_id",
    ),
)


def _screen_query(pairwise: bool) -> Joined:
    if not pairwise:
        return Joined(_SCREEN_PARTS, "a.id = %s")
    first, item, *rest = _SCREEN_PARTS
    fields = (item.fields or ()) + _PAIR_ITEM_FIELDS
    paired = Part(item.alias, Item, fields, item.join)
    return Joined((first, paired, *rest, *_PAIR_PARTS), "a.id = %s")


_SCREEN_QUERY = {pairwise: _screen_query(pairwise) for pairwise in (False, True)}


def screen_for(*, assignment_id: int, pairwise: bool = False) -> Screen:
    """One query: the item, its response and prompt (with ``pairwise``, its second response
    too), the annotator's label if any, and the current rubric of the prompt's subcategory."""
    found = _SCREEN_QUERY[pairwise].fetch_one([assignment_id])
    if found is None:
        raise Assignment.DoesNotExist(f"No assignment {assignment_id}.")
    assignment, item, response = found["a"], found["i"], found["r"]
    response.run, response.prompt = found["g"], found["p"]
    item.response = response
    if pairwise:
        if found["rb"] is not None:
            found["rb"].run = found["gb"]
        item.response_b = found["rb"]
    assignment.item = item
    label, rubric = found["l"], found["ru"]
    return Screen(
        assignment=assignment,
        rubric=RubricText(rubric.acceptable, rubric.unacceptable) if rubric else None,
        label=label if label is not None and assignment.status == AssignmentStatus.DONE else None,
    )


def last_labelled(
    *, campaign: Campaign, user: User, before: int | None = None
) -> Assignment | None:
    """The annotator's most recent label (for undo); with ``before``, the one labelled just
    before that assignment, so that pressing undo again walks further back."""
    done = Assignment.objects.filter(
        annotator=user, item__campaign=campaign, status=AssignmentStatus.DONE
    )
    if before is not None:
        anchor = done.filter(pk=before).values_list("completed_at", flat=True).first()
        if anchor is not None:
            done = done.filter(Q(completed_at__lt=anchor) | Q(completed_at=anchor, pk__lt=before))
    return done.order_by("-completed_at", "-pk").first()


@dataclass(frozen=True)
class AnnotatorRow:
    """One annotator on the campaign page: items labelled, skipped and held now (checks not
    counted), checks answered and answered right, and how they stand."""

    user_id: int
    username: str
    done: int
    skipped: int
    held: int
    checks: int = 0
    checks_right: int = 0
    paused_reason: str | None = None
    excluded: bool = False


@dataclass(frozen=True)
class CampaignProgress:
    items: int
    labels: int
    complete_items: int
    gold: int
    adjudicated: int
    # Items whose annotators disagree, without a gold label yet (what is left to review), and
    # with one (settled by a researcher).
    unsettled: int
    settled: int
    overlap: int
    annotators: list[AnnotatorRow]

    @property
    def percent(self) -> float:
        wanted = self.items * self.overlap
        return 100.0 * self.labels / wanted if wanted else 0.0

    @property
    def paused(self) -> list[AnnotatorRow]:
        return [row for row in self.annotators if row.paused_reason is not None]


def campaign_progress(*, campaign: Campaign) -> CampaignProgress:
    totals = _labelled_item_totals(campaign)
    gold = GoldLabel.objects.filter(item__campaign=campaign).aggregate(
        gold=Count("pk"), adjudicated=Count("pk", filter=Q(source=GoldSource.ADJUDICATED))
    )
    return CampaignProgress(
        items=figure_items(campaign).count(),
        labels=totals["labels"],
        complete_items=totals["complete"],
        gold=gold["gold"],
        adjudicated=gold["adjudicated"],
        unsettled=totals["unsettled"],
        settled=totals["settled"],
        overlap=campaign.overlap,
        annotators=_annotator_rows(campaign),
    )


def _labelled_item_totals(campaign: Campaign) -> dict[str, int]:
    """``labels``, ``complete`` items, ``unsettled`` and ``settled`` disagreements: counted over
    the items with a label only, since an item nobody labelled adds to none of them (grouping
    every item of a million-item campaign with its labels took 1.5 s, its 50,000 labelled ones
    0.4 s; bench/RESULTS.md)."""
    labelled = figure_items(campaign).filter(
        Exists(Label.objects.filter(assignment__item=OuterRef("pk")))
    )
    per_item = labelled.annotate(
        **_label_counts(campaign), has_gold=Exists(GoldLabel.objects.filter(item=OuterRef("pk")))
    )
    # Django runs this as an aggregate over a per-item subquery: one query, no rows fetched.
    totals = per_item.aggregate(
        labels=Coalesce(Sum("n_labels"), 0),
        complete=Count("pk", filter=Q(n_labels__gte=campaign.overlap)),
        unsettled=Count("pk", filter=_disagreeing() & Q(has_gold=False)),
        settled=Count("pk", filter=_disagreeing() & Q(has_gold=True)),
    )
    return {key: int(value) for key, value in totals.items()}


def _label_counts(campaign: Campaign) -> dict[str, Count]:
    """Per item, ``n_labels`` and ``n_values`` (distinct labels), counting only the labels that
    count in figures (no excluded annotator's)."""
    counted = Q(assignments__label__isnull=False) & ~Q(
        assignments__annotator_id__in=excluded_annotators(campaign)
    )
    return {
        "n_labels": Count("assignments__label", filter=counted),
        "n_values": Count("assignments__label__value", filter=counted, distinct=True),
    }


def _disagreeing() -> Q:
    """Items whose annotators disagree and that wait for no one else: with adaptive overlap, an
    item given one more slot goes to review only once that annotator has labelled it too."""
    return Q(n_values__gt=1) & ~Q(slots_left__gt=0, n_labels__gte=F("campaign__overlap"))


def _annotator_rows(campaign: Campaign) -> list[AnnotatorRow]:
    regular = Q(item__check_kind=CheckKind.NONE)
    check = ~regular & Q(status=AssignmentStatus.DONE)
    counts = {
        row["annotator_id"]: row
        for row in Assignment.objects.filter(item__campaign=campaign)
        .values("annotator_id")
        .annotate(
            done=Count("pk", filter=regular & Q(status=AssignmentStatus.DONE)),
            skipped=Count("pk", filter=regular & Q(status=AssignmentStatus.SKIPPED)),
            held=Count("pk", filter=regular & Q(status=AssignmentStatus.RESERVED)),
            checks=Count("pk", filter=check),
            checks_right=Count("pk", filter=check & Q(label__value=F("item__check_answer"))),
        )
    }
    standings = {s.annotator_id: s for s in AnnotatorStanding.objects.filter(campaign=campaign)}
    users = User.objects.filter(
        Q(annotation_campaigns=campaign) | Q(pk__in=list(counts))
    ).distinct()
    empty = {"done": 0, "skipped": 0, "held": 0, "checks": 0, "checks_right": 0}
    rows = []
    for user in sorted(users, key=lambda u: u.username):
        standing = standings.get(user.pk)
        found = counts.get(user.pk, empty)
        rows.append(
            AnnotatorRow(
                user_id=user.pk,
                username=user.username,
                done=found["done"],
                skipped=found["skipped"],
                held=found["held"],
                checks=found["checks"],
                checks_right=found["checks_right"],
                paused_reason=standing.pause_reason if standing and standing.is_paused else None,
                excluded=bool(standing and standing.is_excluded),
            )
        )
    return rows


def demo_label_count(*, campaign: Campaign) -> int:
    """Labels ``make demo`` made up for this campaign (the reports say so)."""
    return Label.objects.filter(assignment__item__campaign=campaign, is_demo=True).count()


def campaign_list(*, archived: bool = True) -> QuerySet[Campaign]:
    """Every campaign, or (``archived=False``) those not archived."""
    campaigns = Campaign.objects.all()
    if not archived:
        campaigns = campaigns.exclude(status=CampaignStatus.ARCHIVED)
    return campaigns.annotate(
        item_count=Count("items", filter=Q(items__check_kind=CheckKind.NONE), distinct=True),
        annotator_count=Count("annotators", distinct=True),
    ).order_by("-created_at")


def review_counts(*, campaign: Campaign) -> dict[str, int]:
    """Items whose annotators disagree: ``unsettled`` (no gold label yet) and ``settled``."""
    totals = _labelled_item_totals(campaign)
    return {"unsettled": totals["unsettled"], "settled": totals["settled"]}


def review_rows(
    *,
    campaign: Campaign,
    reveal_verdicts: bool,
    item_id: int | None = None,
    unsettled_only: bool = True,
) -> QuerySet[Item]:
    """Items whose annotators disagree (only those without a gold label yet, unless
    ``unsettled_only`` is False), most labels first, with labels, the rubric annotators read
    (``rubric_acceptable``, ``rubric_unacceptable``) and on request the judges' verdicts; with
    ``item_id``, that one item whether or not they disagree (the agreement report links here
    for items where a judge differs from the gold label)."""
    counts = _label_counts(campaign)
    items = figure_items(campaign).annotate(
        n_labels=counts["n_labels"], n_values=counts["n_values"]
    )
    if item_id is not None:
        items = items.filter(pk=item_id)
    else:
        items = items.filter(_disagreeing())
        if unsettled_only:
            items = items.filter(gold__isnull=True)
    # The labeling screen shows the subcategory's current rubric: the same text here.
    rubric = Rubric.objects.filter(
        benchmark_id=OuterRef("response__prompt__benchmark_id"),
        subcategory=OuterRef("response__prompt__subcategory"),
        is_current=True,
    ).order_by()
    items = items.annotate(
        rubric_acceptable=Subquery(rubric.values("acceptable")[:1]),
        rubric_unacceptable=Subquery(rubric.values("unacceptable")[:1]),
    )
    related = ["response__prompt", "response__run", "gold", "gold__decided_by"]
    if campaign.is_pairwise:
        related.append("response_b__run")
    items = (
        items.select_related(*related)
        .prefetch_related(
            Prefetch(
                "assignments",
                queryset=Assignment.objects.filter(status=AssignmentStatus.DONE)
                .exclude(annotator_id__in=excluded_annotators(campaign))
                .select_related("label", "annotator")
                .order_by("annotator__username"),
                to_attr="labelled",
            )
        )
        .order_by("-n_labels", "position")
    )
    if reveal_verdicts:
        verdicts = Verdict.objects.select_related("judge_run__judge").order_by(
            "judge_run__judge__name", "-judge_run_id"
        )
        items = items.prefetch_related(
            Prefetch("response__verdicts", queryset=verdicts, to_attr="judge_verdicts")
        )
        if campaign.is_pairwise:
            items = items.prefetch_related(
                Prefetch("response_b__verdicts", queryset=verdicts, to_attr="judge_verdicts")
            )
    return items


def archived_campaign_count() -> int:
    """For the researchers' list: how many campaigns the "show archived" link would add."""
    return Campaign.objects.filter(status=CampaignStatus.ARCHIVED).count()
