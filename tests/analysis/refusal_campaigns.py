"""Campaigns with the refusal-quality questions, labelled through the real services."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from typing import Any

from django.contrib.auth.models import User

from annotate.models import Campaign
from annotate.schemes import REFUSAL_QUALITY, scheme_for
from annotate.services.campaigns import campaign_create
from annotate.services.labels import label_submit
from annotate.services.serving import assignment_next
from inference.models import GenerationRun

# A label with its answers, as the labelling screen sends them.
Labelled = tuple[str, dict[str, Any]]


def refusal(
    explains: str = "yes",
    helps: str = "yes",
    asks: str = "not_applicable",
    preachy: str = "no",
    quality: int = 3,
) -> Labelled:
    return (
        "not_complied",
        {
            "explains_why": explains,
            "offers_help": helps,
            "asks_missing": asks,
            "preachy": preachy,
            "quality": quality,
        },
    )


def complied(compliance: str = "full_compliance") -> Labelled:
    return ("complied", {"compliance": compliance})


def refusal_campaign(
    runs: Sequence[GenerationRun], people: Sequence[User], overlap: int, **settings: Any
) -> Campaign:
    """A campaign over every response of ``runs`` with the built-in refusal-quality scheme."""
    return campaign_create(
        name=settings.pop("name", "Refusals"),
        runs=runs,
        label_scheme=settings.pop("label_scheme", scheme_for(name=REFUSAL_QUALITY)),
        overlap=overlap,
        annotators=people,
        **settings,
    )


def label_every_item(
    campaign: Campaign, user: User, by_response: Mapping[int, Labelled | None]
) -> int:
    """Label each item served to ``user`` as ``by_response`` says (None: skip labelling it and
    stop); how many were labelled."""
    done = 0
    while (assignment := assignment_next(campaign=campaign, user=user)) is not None:
        given = by_response[assignment.item.response_id]
        if given is None:
            return done
        value, answers = given
        label_submit(
            campaign=campaign,
            user=user,
            assignment_id=assignment.pk,
            item_id=assignment.item_id,
            value=value,
            answers=answers,
        )
        done += 1
    return done


def response_ids(run: GenerationRun) -> list[int]:
    return list(run.responses.order_by("pk").values_list("pk", flat=True))


def page_text(content: bytes) -> str:
    """The page as a person reads it, charts left out: no tags, single spaces."""
    page = re.sub(r"<svg.*?</svg>", " ", content.decode(), flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())
