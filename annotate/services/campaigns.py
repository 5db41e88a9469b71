"""Campaigns: create one from generation runs (drawing its items: responses, or for a pairwise
campaign pairs of responses to the same prompt), take in more runs, open, close or archive it."""

from __future__ import annotations

import random
from collections.abc import Collection, Iterable
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from annotate.models import Campaign, CampaignKind, CampaignStatus, Item, Sampling
from annotate.sampling import Candidate, SamplingError, draw
from annotate.schemes import scheme_is_pairwise
from annotate.selectors import (
    campaign_candidates,
    campaign_population,
    judge_readings,
    pairwise_candidates,
    run_categories,
)
from annotate.services.errors import CampaignError
from inference.models import GenerationRun
from judging.models import Judge

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
    "sampling",
    "sample_size",
    "sampling_judges",
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
    sampling_judges: Collection[Judge] = (),
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
    _check_campaign_settings(
        runs=runs, overlap=overlap, sampling=sampling, sampling_judges=sampling_judges
    )
    _check_kind(kind=kind, runs=runs, label_scheme=label_scheme, sampling=sampling)
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
    candidates = campaign_candidates(
        runs=runs,
        categories=categories,
        subcategories=subcategories,
        exclude_truncated=exclude_truncated,
    )
    if not candidates and exclude_truncated:
        _refuse_all_truncated(runs=runs, categories=categories, subcategories=subcategories)
    readings = (
        judge_readings(candidates=candidates, judges=sampling_judges) if sampling_judges else []
    )
    try:
        drawn = draw(
            candidates=candidates,
            sampling=sampling,
            sample_size=sample_size,
            seed=seed,
            readings=readings,
        )
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
            sampling=sampling,
            # What was drawn, and what was asked: more than the pool holds is drawn as all of it.
            sample_size=len(drawn) if sampled else None,
            sample_size_asked=sample_size if sampled else None,
            pool_size=len(candidates),
            seed=seed,
            overlap=overlap,
            label_scheme=label_scheme,
            guidelines=guidelines,
            show_model_name=show_model_name,
            reservation_minutes=reservation_minutes,
            is_demo=is_demo,
            created_by=created_by,
        )
        campaign.runs.set(runs)
        campaign.sampling_judges.set(sampling_judges)
        campaign.annotators.set(annotators)
        Item.objects.bulk_create(
            Item(
                campaign=campaign,
                response_id=d.response_id,
                inclusion_probability=d.inclusion_probability,
                position=position,
                slots_left=overlap,
            )
            for position, d in enumerate(drawn)
        )
    return campaign


def _pairwise_campaign_create(
    *,
    runs: list[GenerationRun],
    settings: dict[str, Any],
    sample_size: int | None,
    annotators: Iterable[User],
) -> Campaign:
    """Items are pairs of responses to the same prompt, from every pair of the runs, drawn as
    a single campaign draws responses (all, a simple random sample, or an equal number per
    subcategory); each pair's order on screen is a coin flip of the campaign's seed."""
    pairs = pairwise_candidates(
        runs=runs,
        categories=settings["categories"],
        subcategories=settings["subcategories"],
        exclude_truncated=settings["exclude_truncated"],
    )
    if not pairs:
        untruncated = " (truncated responses left out)" if settings["exclude_truncated"] else ""
        raise CampaignError(
            "No prompt was answered by two of the chosen runs inside the chosen "
            f"categories{untruncated}: there is nothing to compare side by side.",
            field="runs",
        )
    # The sampling designs draw ids with a subcategory; a pair's id here is its place in
    # ``pairs``, so every design (and its inclusion probabilities) works on pairs unchanged.
    try:
        drawn = draw(
            candidates=[Candidate(index, pair.subcategory) for index, pair in enumerate(pairs)],
            sampling=settings["sampling"],
            sample_size=sample_size,
            seed=settings["seed"],
        )
    except SamplingError as error:
        raise CampaignError(str(error)) from error
    # A generator of its own, seeded from the campaign's seed, so that the order on screen is
    # recorded, repeatable, and independent of which pairs were drawn.
    coin = random.Random(f"pairwise-order:{settings['seed']}")
    sampled = settings["sampling"] != Sampling.ALL
    with transaction.atomic():
        campaign = Campaign.objects.create(
            kind=CampaignKind.PAIRWISE,
            sample_size=len(drawn) if sampled else None,
            sample_size_asked=sample_size if sampled else None,
            pool_size=len(pairs),
            **settings,
        )
        campaign.runs.set(runs)
        campaign.annotators.set(annotators)
        Item.objects.bulk_create(
            Item(
                campaign=campaign,
                response_id=pairs[d.response_id].response_id,
                response_b_id=pairs[d.response_id].response_b_id,
                swapped=coin.random() < 0.5,
                inclusion_probability=d.inclusion_probability,
                position=position,
                slots_left=settings["overlap"],
            )
            for position, d in enumerate(drawn)
        )
    return campaign


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
    if not fresh:
        return 0
    drawn = draw(candidates=fresh, sampling=Sampling.ALL, sample_size=None, seed=campaign.seed)
    start = len(known)
    with transaction.atomic():
        campaign.runs.add(*runs)
        Item.objects.bulk_create(
            (
                Item(
                    campaign=campaign,
                    response_id=d.response_id,
                    position=start + offset,
                    slots_left=campaign.overlap,
                )
                for offset, d in enumerate(drawn)
            ),
            ignore_conflicts=True,
        )
    return len(drawn)


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


def _check_campaign_settings(
    *,
    runs: list[GenerationRun],
    overlap: int,
    sampling: str,
    sampling_judges: Collection[Judge],
) -> None:
    if not runs:
        raise CampaignError("Choose at least one generation run.")
    if not 1 <= overlap <= 50:
        raise CampaignError(f"Overlap must be between 1 and 50 annotators per item, not {overlap}.")
    if sampling == Sampling.JUDGE_DISAGREEMENT and not sampling_judges:
        raise CampaignError("Sampling by judge disagreement needs at least one judge.")


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
    if sampling == Sampling.JUDGE_DISAGREEMENT:
        raise CampaignError(
            "Sampling by judge disagreement draws single responses: a pairwise campaign "
            "takes all pairs, a random sample, or an equal number per subcategory.",
            field="sampling",
        )


def check_category_names(
    *, runs: Iterable[GenerationRun], categories: Collection[str], subcategories: Collection[str]
) -> None:
    """Refuse category and subcategory names that no answered response of the runs has (a
    subcategory must also lie inside the chosen categories), naming each one, and the name it
    probably meant when only its case differs."""
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
    *, runs: list[GenerationRun], categories: Collection[str], subcategories: Collection[str]
) -> None:
    matching = campaign_population(runs=runs, categories=categories, subcategories=subcategories)
    if matching.exists():
        raise CampaignError(
            f"No responses match: all {matching.count()} matching responses were cut off at the "
            "length limit, and truncated responses are excluded."
        )
