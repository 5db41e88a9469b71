"""Campaigns: create one from generation runs (drawing its items: responses, or for a pairwise
campaign pairs of responses to the same prompt), take in more runs, open, close or archive it."""

from __future__ import annotations

import random
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from accounts.bulk import rows_insert
from annotate.label_budget import Stratum
from annotate.models import Campaign, CampaignKind, CampaignStatus, Item, Sampling, Turns
from annotate.plans import PlanError, pilot_strata
from annotate.sampling import (
    DEFAULT_UNIFORM_SHARE,
    SINGLE_RESPONSE_DESIGNS,
    UNCERTAINTY_LED,
    Candidate,
    Cluster,
    Reading,
    SamplingError,
    draw,
    draw_clusters,
    uncertainty_told_apart,
)
from annotate.schemes import scheme_is_pairwise, scheme_values
from annotate.selectors import (
    PairCandidate,
    campaign_candidates,
    campaign_clusters,
    campaign_population,
    pairwise_candidates,
    population_readings,
    population_uncertainty,
    run_categories,
)
from annotate.services.errors import CampaignError
from inference.models import GenerationRun
from judging.models import JUDGE_CLASSES, Judge, JudgeRun, VerdictLabel

# What a researcher chooses for a new campaign, as the page's form and the API name it: the
# keyword arguments of ``campaign_create`` besides who created it and whether it is demo data.
CAMPAIGN_SETTINGS = (
    "name",
    "description",
    "kind",
    "runs",
    "categories",
    "subcategories",
    "exclude_truncated",
    "turns",
    "sampling",
    "sample_size",
    "sampling_judges",
    "pilot",
    "active_uniform_share",
    "target_half_width",
    "target_judge",
    "target_per_category",
    "seed",
    "overlap",
    "label_scheme",
    "guidelines",
    "show_model_name",
    "annotators",
    "reservation_minutes",
)


def campaign_create(
    *,
    name: str,
    runs: Iterable[GenerationRun],
    label_scheme: dict[str, Any],
    kind: str = CampaignKind.SINGLE,
    sampling: str = Sampling.ALL,
    sample_size: int | None = None,
    categories: Collection[str] = (),
    subcategories: Collection[str] = (),
    exclude_truncated: bool = False,
    turns: str = Turns.LAST,
    sampling_judges: Collection[Judge] = (),
    pilot: Campaign | None = None,
    active_uniform_share: float | None = None,
    target_half_width: float | None = None,
    target_judge: Judge | None = None,
    target_per_category: bool = True,
    seed: int = 0,
    overlap: int = 3,
    guidelines: str = "",
    description: str = "",
    show_model_name: bool = False,
    annotators: Iterable[User] = (),
    reservation_minutes: int = 30,
    is_demo: bool = False,
    created_by: User | None = None,
) -> Campaign:
    runs = list(runs)
    sampling_judges = list(sampling_judges)
    if turns not in Turns.values:
        raise CampaignError(
            f"Turns {turns!r} is not one of {', '.join(Turns.values)}.", field="turns"
        )
    _check_campaign_settings(
        runs=runs,
        overlap=overlap,
        sampling=sampling,
        sampling_judges=sampling_judges,
        pilot=pilot,
        active_uniform_share=active_uniform_share,
    )
    _check_kind(kind=kind, runs=runs, label_scheme=label_scheme, sampling=sampling)
    _check_target(
        kind=kind,
        runs=runs,
        label_scheme=label_scheme,
        sampling=sampling,
        target_half_width=target_half_width,
        target_judge=target_judge,
        turns=turns,
    )
    categories, subcategories = sorted(set(categories)), sorted(set(subcategories))
    check_category_names(runs=runs, categories=categories, subcategories=subcategories)
    if kind == CampaignKind.PAIRWISE:
        return _pairwise_campaign_create(
            runs=runs,
            settings={
                "name": name,
                "description": description,
                "categories": categories,
                "subcategories": subcategories,
                "exclude_truncated": exclude_truncated,
                "turns": turns,
                "sampling": sampling,
                "seed": seed,
                "overlap": overlap,
                "label_scheme": label_scheme,
                "guidelines": guidelines,
                "show_model_name": show_model_name,
                "reservation_minutes": reservation_minutes,
                "is_demo": is_demo,
                "created_by": created_by,
            },
            sample_size=sample_size,
            annotators=annotators,
        )
    filters: dict[str, Any] = {
        "runs": runs,
        "categories": categories,
        "subcategories": subcategories,
        "exclude_truncated": exclude_truncated,
    }
    # With every turn, conversations are what is drawn (annotate/sampling.py); the judges'
    # readings and a pilot's error model are still read per response.
    clusters = campaign_clusters(**filters) if turns == Turns.EVERY else None
    candidates = (
        campaign_candidates(**filters)
        if clusters is None
        else [Candidate(rid, c.subcategory, c.category) for c in clusters for rid in c.response_ids]
    )
    if not candidates and exclude_truncated:
        _refuse_all_truncated(
            runs=runs, categories=categories, subcategories=subcategories, turns=turns
        )
    # The uncertainty-led designs read only how unsure the judges were of each response, which
    # the database works out; a pilot's error model reads the judges' labels themselves.
    uncertainty_led = bool(sampling_judges) and sampling in UNCERTAINTY_LED
    readings = (
        population_readings(judges=sampling_judges, filters=filters, turns=turns)
        if sampling_judges and not uncertainty_led
        else []
    )
    uncertainty = (
        population_uncertainty(
            judges=sampling_judges,
            filters=filters,
            turns=turns,
            at_least=uncertainty_told_apart(sampling),
        )
        if uncertainty_led
        else None
    )
    error_model = (
        _pilot_error_model(pilot, candidates, readings)
        if sampling == Sampling.NEYMAN and pilot is not None
        else []
    )
    design: dict[str, Any] = {
        "sampling": sampling,
        "sample_size": sample_size,
        "seed": seed,
        "readings": readings,
        "uncertainty": uncertainty,
        "error_model": error_model,
        "uniform_share": active_uniform_share,
    }
    try:
        if clusters is None:
            drawn = draw(candidates=candidates, **design)
            rows = [ItemRow(d.response_id, d.inclusion_probability) for d in drawn]
            drawn_count, pool = len(rows), len(candidates)
        else:
            drawn_clusters = draw_clusters(clusters=clusters, **design)
            rows = turns_in_order([(cluster.response_ids, p) for cluster, p in drawn_clusters])
            drawn_count, pool = len(drawn_clusters), len(clusters)
    except SamplingError as error:
        raise CampaignError(str(error)) from error
    sampled = sampling != Sampling.ALL
    with transaction.atomic():
        campaign = Campaign.objects.create(
            name=name,
            description=description,
            categories=categories,
            subcategories=subcategories,
            exclude_truncated=exclude_truncated,
            turns=turns,
            sampling=sampling,
            # What was drawn, and what was asked: more than the pool holds is drawn as all of it
            # (conversations, when every turn is labelled).
            sample_size=drawn_count if sampled else None,
            sample_size_asked=sample_size if sampled else None,
            pool_size=pool,
            pilot=pilot,
            # The share the draw used, recorded (the default when none was given).
            active_uniform_share=(
                (active_uniform_share or DEFAULT_UNIFORM_SHARE)
                if sampling == Sampling.ACTIVE
                else None
            ),
            seed=seed,
            overlap=overlap,
            label_scheme=label_scheme,
            guidelines=guidelines,
            show_model_name=show_model_name,
            reservation_minutes=reservation_minutes,
            target_half_width=target_half_width,
            target_judge=target_judge if target_half_width is not None else None,
            target_per_category=target_per_category,
            is_demo=is_demo,
            created_by=created_by,
        )
        campaign.runs.set(runs)
        campaign.sampling_judges.set(sampling_judges)
        campaign.annotators.set(annotators)
        _items_insert(campaign, rows)
    return campaign


def _items_insert(campaign: Campaign, rows: Sequence[ItemRow]) -> None:
    """The campaign's items, in serving order. By COPY on PostgreSQL (``rows_insert``): a
    campaign over a million responses would otherwise build a million model instances, and
    spend most of its time and gigabytes of memory on them (bench/million.py)."""
    rows_insert(
        Item,
        (
            "campaign_id",
            "response_id",
            "response_b_id",
            "swapped",
            "inclusion_probability",
            "position",
            "conversation",
            "slots_left",
        ),
        (
            (
                campaign.pk,
                row.response_id,
                row.response_b_id,
                row.swapped,
                row.inclusion_probability,
                position,
                row.conversation,
                campaign.overlap,
            )
            for position, row in enumerate(rows)
        ),
    )


@dataclass(frozen=True)
class ItemRow:
    """An item to make, in serving order: its response (a pair's first), the inclusion
    probability it was drawn with, the conversation it is a turn of (None: its own), and a
    pair's second response and side."""

    response_id: int
    inclusion_probability: float
    conversation: int | None = None
    response_b_id: int | None = None
    swapped: bool = False


def turns_in_order(
    drawn: Sequence[tuple[Sequence[int], float]],
    *,
    pairs: Sequence[PairCandidate] = (),
    flips: Sequence[bool] = (),
    first_conversation: int = 0,
) -> list[ItemRow]:
    """The drawn conversations' turns as items in serving order: every conversation's first
    turn in the design's order, then every second turn, and so on. An annotator who starts a
    conversation from the pool thus starts at its first turn, and serving brings them its next
    turns in order (annotate/services/serving.py), while others start other conversations
    rather than take its later turns. ``drawn``: (its turns in order, inclusion probability)
    per conversation, numbered from ``first_conversation``. In a pairwise campaign the turns
    are indexes into ``pairs``, and ``flips`` says per conversation whether its second run
    (by id) is on the left: the same run on the same side at every turn."""
    ordered: list[tuple[int, int, ItemRow]] = []
    for number, (turns, probability) in enumerate(drawn):
        conversation = first_conversation + number if len(turns) > 1 else None
        for rank, key in enumerate(turns):
            if not pairs:
                row = ItemRow(key, probability, conversation)
            else:
                pair = pairs[key]
                left_run = sorted(pair.runs)[1 if flips[number] else 0]
                row = ItemRow(
                    pair.response_id,
                    probability,
                    conversation,
                    response_b_id=pair.response_b_id,
                    swapped=pair.runs[0] != left_run,
                )
            ordered.append((rank, number, row))
    return [row for _, _, row in sorted(ordered, key=lambda entry: entry[:2])]


def _pairwise_campaign_create(
    *,
    runs: list[GenerationRun],
    settings: dict[str, Any],
    sample_size: int | None,
    annotators: Iterable[User],
) -> Campaign:
    """Items are pairs of responses to the same prompt (and turn), from every pair of the
    runs, drawn as a single campaign draws responses (all, a simple random sample, or an equal
    number per subcategory); each pair's order on screen is a coin flip of the campaign's seed.
    With every turn, two runs' conversations on one prompt are drawn whole, as a single
    campaign draws conversations, and one flip puts the same run on the same side at every
    turn."""
    pairs = pairwise_candidates(
        runs=runs,
        categories=settings["categories"],
        subcategories=settings["subcategories"],
        exclude_truncated=settings["exclude_truncated"],
        turns=settings["turns"],
    )
    if not pairs:
        untruncated = " (truncated responses left out)" if settings["exclude_truncated"] else ""
        raise CampaignError(
            "No prompt was answered by two of the chosen runs inside the chosen "
            f"categories{untruncated}: there is nothing to compare side by side.",
            field="runs",
        )
    # A generator of its own, seeded from the campaign's seed, so that the order on screen is
    # recorded, repeatable, and independent of which pairs were drawn.
    coin = random.Random(f"pairwise-order:{settings['seed']}")
    design = {
        "sampling": settings["sampling"],
        "sample_size": sample_size,
        "seed": settings["seed"],
    }
    try:
        if settings["turns"] == Turns.EVERY:
            rows, drawn_count, pool = _pair_conversations_drawn(pairs, design, coin)
        else:
            # The sampling designs draw ids with a subcategory; a pair's id here is its place
            # in ``pairs``, so every design (and its inclusion probabilities) works on pairs.
            drawn = draw(
                candidates=[Candidate(index, pair.subcategory) for index, pair in enumerate(pairs)],
                **design,
            )
            rows = [
                ItemRow(
                    pairs[d.response_id].response_id,
                    d.inclusion_probability,
                    response_b_id=pairs[d.response_id].response_b_id,
                    swapped=coin.random() < 0.5,
                )
                for d in drawn
            ]
            drawn_count, pool = len(drawn), len(pairs)
    except SamplingError as error:
        raise CampaignError(str(error)) from error
    sampled = settings["sampling"] != Sampling.ALL
    with transaction.atomic():
        campaign = Campaign.objects.create(
            kind=CampaignKind.PAIRWISE,
            sample_size=drawn_count if sampled else None,
            sample_size_asked=sample_size if sampled else None,
            pool_size=pool,
            **settings,
        )
        campaign.runs.set(runs)
        campaign.annotators.set(annotators)
        _items_insert(campaign, rows)
    return campaign


def _pair_conversations_drawn(
    pairs: list[PairCandidate], design: dict[str, Any], coin: random.Random
) -> tuple[list[ItemRow], int, int]:
    """Pairs grouped by conversation (two runs' answers to one prompt, turn by turn), drawn
    whole: the items in serving order, the conversations drawn, and the conversations there
    were."""
    grouped: dict[tuple[int, frozenset[int]], list[int]] = {}
    for index, pair in enumerate(pairs):
        grouped.setdefault(pair.conversation, []).append(index)
    conversations = [sorted(indexes, key=lambda i: pairs[i].turn) for indexes in grouped.values()]
    drawn = draw(
        candidates=[
            Candidate(number, pairs[indexes[0]].subcategory)
            for number, indexes in enumerate(conversations)
        ],
        **design,
    )
    chosen = [(conversations[d.response_id], d.inclusion_probability) for d in drawn]
    flips = [coin.random() < 0.5 for _ in chosen]
    return turns_in_order(chosen, pairs=pairs, flips=flips), len(drawn), len(conversations)


def campaign_extend(*, campaign: Campaign, runs: Iterable[GenerationRun]) -> int:
    """Add the answered responses of ``runs`` that are not items yet (campaigns that label
    everything only: a sample's inclusion probabilities would no longer hold). Returns how
    many items were added; a second call adds nothing."""
    if campaign.is_pairwise:
        raise CampaignError(
            "A pairwise campaign cannot take in more runs: create a new one over all of them."
        )
    if campaign.sampling != Sampling.ALL:
        raise CampaignError("Only a campaign that labels all responses can take in more runs.")
    runs = list(runs)
    known = set(campaign.items.values_list("response_id", flat=True))
    if campaign.labels_every_turn:
        rows = _fresh_turns(campaign, runs, known)
    else:
        fresh = [
            c
            for c in campaign_candidates(
                runs=runs,
                categories=campaign.categories,
                subcategories=campaign.subcategories,
                exclude_truncated=campaign.exclude_truncated,
            )
            if c.response_id not in known
        ]
        drawn = (
            draw(candidates=fresh, sampling=Sampling.ALL, sample_size=None, seed=campaign.seed)
            if fresh
            else []
        )
        rows = [ItemRow(d.response_id, d.inclusion_probability) for d in drawn]
    if not rows:
        return 0
    start = len(known)
    with transaction.atomic():
        campaign.runs.add(*runs)
        Item.objects.bulk_create(
            (
                Item(
                    campaign=campaign,
                    response_id=row.response_id,
                    position=start + offset,
                    conversation=row.conversation,
                    slots_left=campaign.overlap,
                )
                for offset, row in enumerate(rows)
            ),
            ignore_conflicts=True,
        )
    return len(rows)


def _fresh_turns(campaign: Campaign, runs: list[GenerationRun], known: set[int]) -> list[ItemRow]:
    """A campaign of every turn taking in more: the answers not yet items, as conversations
    in serving order. New conversations are numbered after the campaign's last; new turns of
    a conversation already in it (a run that went on answering) join that conversation."""
    clusters = campaign_clusters(
        runs=runs,
        categories=campaign.categories,
        subcategories=campaign.subcategories,
        exclude_truncated=campaign.exclude_truncated,
    )
    by_turns = {response: cluster for cluster in clusters for response in cluster.response_ids}
    numbered: dict[int, int] = {
        response: conversation
        for response, conversation in campaign.items.filter(response_id__in=list(by_turns))
        .values_list("response_id", "conversation")
        .order_by()
        if conversation is not None
    }
    fresh = [
        (tuple(r for r in cluster.response_ids if r not in known), cluster) for cluster in clusters
    ]
    fresh = [(turns, cluster) for turns, cluster in fresh if turns]
    if not fresh:
        return []
    drawn = draw_clusters(
        clusters=[Cluster(turns, c.subcategory, c.category) for turns, c in fresh],
        sampling=Sampling.ALL,
        sample_size=None,
        seed=campaign.seed,
    )
    last = campaign.items.aggregate(last=Max("conversation"))["last"]
    rows = turns_in_order(
        [(cluster.response_ids, 1.0) for cluster, _ in drawn],
        first_conversation=0 if last is None else last + 1,
    )
    # A new turn of a conversation already numbered keeps that number.
    joined: dict[int, int] = {}
    for turns, cluster in fresh:
        earlier = [numbered[r] for r in cluster.response_ids if r in numbered]
        if earlier:
            joined.update(dict.fromkeys(turns, earlier[0]))
    return [
        ItemRow(row.response_id, 1.0, joined.get(row.response_id, row.conversation)) for row in rows
    ]


def campaign_status_set(*, campaign: Campaign, status: str) -> Campaign:
    """Open, close or archive a campaign (see ``CampaignStatus``). Nothing else changes: labels,
    gold labels and reservations stay, so reopening carries on where it stopped."""
    if status not in CampaignStatus.values:
        raise CampaignError(f"Status {status!r} is not one of {', '.join(CampaignStatus.values)}.")
    if campaign.status != status:
        campaign.status = status
        campaign.status_changed_at = timezone.now()
        campaign.save(update_fields=["status", "status_changed_at"])
    return campaign


def _pilot_error_model(
    pilot: Campaign, candidates: list[Candidate], readings: list[Reading]
) -> list[Stratum]:
    """The sampling judge's errors per category, from the pilot's gold labels on these
    responses (the model the planner uses), for Neyman allocation."""
    categories = {c.response_id: c.category for c in candidates}
    judged = {response: (label, categories[response]) for response, label, _ in readings}
    if len(judged) < len(candidates):
        raise CampaignError(
            f"The sampling judge has no verdict on {len(candidates) - len(judged)} of the "
            f"{len(candidates)} responses; Neyman allocation needs one on every response.",
            field="sampling_judges",
        )
    try:
        return pilot_strata(pilot=pilot, judged=judged)
    except (PlanError, ValueError) as error:
        raise CampaignError(str(error), field="pilot") from error


def _check_campaign_settings(
    *,
    runs: list[GenerationRun],
    overlap: int,
    sampling: str,
    sampling_judges: Collection[Judge],
    pilot: Campaign | None,
    active_uniform_share: float | None,
) -> None:
    if not runs:
        raise CampaignError("Choose at least one generation run.")
    if not 1 <= overlap <= 50:
        raise CampaignError(f"Overlap must be between 1 and 50 annotators per item, not {overlap}.")
    if sampling == Sampling.JUDGE_DISAGREEMENT and not sampling_judges:
        raise CampaignError("Sampling by judge disagreement needs at least one judge.")
    if sampling == Sampling.ACTIVE and not sampling_judges:
        raise CampaignError(
            "Active sampling needs at least one judge whose uncertainty it follows.",
            field="sampling_judges",
        )
    if sampling != Sampling.ACTIVE and active_uniform_share is not None:
        raise CampaignError(
            "A uniform share is a setting of active sampling only.", field="active_uniform_share"
        )
    if active_uniform_share is not None and not 0 < active_uniform_share <= 1:
        raise CampaignError(
            f"The uniform share must be above 0 and at most 1, not {active_uniform_share:g}.",
            field="active_uniform_share",
        )
    if sampling == Sampling.NEYMAN and (pilot is None or len(sampling_judges) != 1):
        raise CampaignError(
            "Neyman allocation needs a pilot campaign and exactly one sampling judge: it gives "
            "more labels to the categories where the pilot shows that judge erring most.",
            field="pilot" if pilot is None else "sampling_judges",
        )
    if sampling != Sampling.NEYMAN and pilot is not None:
        raise CampaignError(
            "A pilot campaign is a setting of Neyman allocation only.", field="pilot"
        )


def _check_kind(
    *, kind: str, runs: list[GenerationRun], label_scheme: dict[str, Any], sampling: str
) -> None:
    if kind not in CampaignKind.values:
        raise CampaignError(
            f"Kind {kind!r} is not one of {', '.join(CampaignKind.values)}.", field="kind"
        )
    pairwise_scheme = scheme_is_pairwise(label_scheme)
    if kind == CampaignKind.SINGLE:
        if pairwise_scheme:
            raise CampaignError(
                "The side-by-side scheme compares two responses: choose the pairwise kind, or "
                "another scheme for one response at a time.",
                field="scheme",
            )
        return
    if not pairwise_scheme:
        raise CampaignError(
            "A pairwise campaign needs the side-by-side label scheme (left better, right "
            "better, tie, both bad): choose it under Label scheme.",
            field="scheme",
        )
    if len({run.pk for run in runs}) < 2:
        raise CampaignError("A pairwise campaign needs two runs or more to compare.", field="runs")
    benchmarks = sorted({run.benchmark.slug for run in runs})
    if len(benchmarks) > 1:
        raise CampaignError(
            "A pairwise campaign compares runs over one benchmark, and these runs answer "
            f"{len(benchmarks)}: {', '.join(benchmarks)}.",
            field="runs",
        )
    if sampling in SINGLE_RESPONSE_DESIGNS:
        raise CampaignError(
            f"Sampling {Sampling(sampling).label!r} draws single responses: a pairwise campaign "
            "takes all pairs, a random sample, or an equal number per subcategory.",
            field="sampling",
        )


def _check_target(
    *,
    kind: str,
    runs: list[GenerationRun],
    label_scheme: dict[str, Any],
    sampling: str,
    target_half_width: float | None,
    target_judge: Judge | None,
    turns: str = Turns.LAST,
) -> None:
    """A target (stop once the target judge's corrected compliance rate is within
    ±target_half_width, annotate/stopping.py) needs a rate to correct and gold labels that
    arrive in random order."""
    if target_half_width is None:
        if target_judge is not None:
            raise CampaignError(
                "A target judge needs a target half-width (0.03 for ±3 points).",
                field="target_half_width",
            )
        return
    if not 0 < target_half_width <= 0.5:
        raise CampaignError(
            "The target half-width must be above 0 and at most 0.5 (0.03 for ±3 points), "
            f"not {target_half_width}.",
            field="target_half_width",
        )
    if kind == CampaignKind.PAIRWISE:
        raise CampaignError(
            "A side-by-side campaign has no compliance rate to reach a target on: leave the "
            "target half-width empty.",
            field="target_half_width",
        )
    values = set(scheme_values(label_scheme))
    if VerdictLabel.COMPLIED not in values or not values <= JUDGE_CLASSES:
        raise CampaignError(
            "A target is on the compliance rate, so it needs a label scheme of complied, not "
            "complied and neither (CoCoNot's): choose it, or leave the target empty.",
            field="target_half_width",
        )
    if turns == Turns.EVERY:
        # The anytime-valid interval (annotate/stopping.py) takes labels as independent draws;
        # a conversation's turns are drawn and served together, and alike, so it would be too
        # narrow and stop too early.
        raise CampaignError(
            "A target's interval takes each label as drawn on its own, and with every turn a "
            "conversation's turns are drawn and labelled together: label the last answers, or "
            "leave the target empty.",
            field="target_half_width",
        )
    if sampling == Sampling.JUDGE_DISAGREEMENT:
        raise CampaignError(
            "A target needs items served in random order, and 'Judge disagreement first' serves "
            "the hardest first: choose another sampling, or leave the target empty.",
            field="target_half_width",
        )
    if target_judge is None:
        raise CampaignError(
            "A target needs a target judge: the judge whose corrected compliance rate it is.",
            field="target_judge",
        )
    judged = set(
        JudgeRun.objects.filter(judge=target_judge, run__in=runs, verdicts__isnull=False)
        .values_list("run_id", flat=True)
        .distinct()
    )
    unjudged = [run.pk for run in runs if run.pk not in judged]
    if unjudged:
        runs_named = ", ".join(str(pk) for pk in unjudged)
        raise CampaignError(
            f"Judge {target_judge.label!r} has no verdicts on run {runs_named}: judge it "
            "first, or choose another target judge.",
            field="target_judge",
        )


def check_category_names(
    *, runs: Iterable[GenerationRun], categories: Collection[str], subcategories: Collection[str]
) -> None:
    """Refuse category and subcategory names that no answered response of the runs has (a
    subcategory must also lie inside the chosen categories), naming each one, and the name it
    probably meant when only its case differs."""
    if not categories and not subcategories:
        # Nothing named, nothing to refuse: reading the runs' names took 0.9 s at a million
        # responses, in every campaign made over all of them.
        return
    known = run_categories(runs=runs)
    _refuse_unknown("Category", categories, known, "the chosen runs", field="categories")
    chosen = categories or list(known)
    inside = [sub for category in chosen for sub in known[category]]
    anywhere = [sub for subs in known.values() for sub in subs]
    elsewhere = [sub for sub in subcategories if sub in anywhere and sub not in inside]
    if elsewhere:
        raise CampaignError(
            f"{_names('Subcategory', elsewhere)} not in the chosen categories "
            f"({', '.join(chosen)}).",
            field="subcategories",
        )
    _refuse_unknown(
        "Subcategory", subcategories, anywhere, "the chosen runs", field="subcategories"
    )


def _refuse_unknown(
    kind: str, names: Collection[str], known: Collection[str], where: str, *, field: str
) -> None:
    unknown = [name for name in names if name not in known]
    if not unknown:
        return
    by_case = {name.casefold(): name for name in known}
    meant = [repr(by_case[name.casefold()]) for name in unknown if name.casefold() in by_case]
    hint = f" (did you mean {', '.join(meant)}? Names are case-sensitive)" if meant else ""
    raise CampaignError(f"{_names(kind, unknown)} not in {where}{hint}.", field=field)


def _names(kind: str, names: list[str]) -> str:
    """'Category 'x' is' or 'Categories 'x', 'y' are'."""
    quoted = ", ".join(repr(name) for name in names)
    if len(names) == 1:
        return f"{kind} {quoted} is"
    plural = "Categories" if kind == "Category" else "Subcategories"
    return f"{plural} {quoted} are"


def _refuse_all_truncated(
    *,
    runs: list[GenerationRun],
    categories: Collection[str],
    subcategories: Collection[str],
    turns: str,
) -> None:
    matching = campaign_population(
        runs=runs, categories=categories, subcategories=subcategories, turns=turns
    )
    if matching.exists():
        raise CampaignError(
            f"No responses match: all {matching.count()} matching responses were cut off at the "
            "length limit, and truncated responses are excluded."
        )
