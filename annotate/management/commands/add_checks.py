from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError, CommandParser

from accounts.numbers import count_argument, whole_number
from accounts.validation import StorableArgumentsCommand
from annotate.models import Campaign
from annotate.services.checks import (
    ChecksAdded,
    check_counts,
    checks_attention,
    checks_from_gold,
    checks_written,
)
from annotate.services.errors import CheckError
from benchmarks.files import InputFileError, read_text

DEFAULT_COUNT = 20


class Command(StorableArgumentsCommand):
    help = (
        "Add checks to a campaign: gold questions drawn from another campaign's gold labels "
        "(--from-campaign), attention checks on the campaign's own responses (--attention), or "
        'hand-written gold questions from a JSON Lines file of {"prompt", "response", "answer", '
        '"category", "subcategory"} (--file). Nothing is added when anything is wrong.'
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("campaign", metavar="CAMPAIGN", help="The campaign's id.")
        what = parser.add_mutually_exclusive_group(required=True)
        what.add_argument(
            "--from-campaign",
            metavar="N",
            help="Gold questions from the gold labels of campaign N.",
        )
        what.add_argument(
            "--attention",
            metavar="COUNT",
            type=count_argument,
            help="This many attention checks.",
        )
        what.add_argument(
            "--file", type=Path, help="Hand-written gold questions, one JSON object per line."
        )
        parser.add_argument(
            "--count",
            type=count_argument,
            help=f"With --from-campaign: at most this many (default {DEFAULT_COUNT}).",
        )
        parser.add_argument(
            "--adjudicated-only",
            action="store_true",
            help="With --from-campaign: only gold labels set by a researcher.",
        )
        parser.add_argument(
            "--seed", type=int, default=0, help="Seed of the random draw (default 0)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from_campaign = options["from_campaign"]
        if from_campaign is None and (options["count"] is not None or options["adjudicated_only"]):
            raise CommandError(
                "--count and --adjudicated-only go with --from-campaign (for --attention, give "
                "the count after it); nothing was added."
            )
        if options["seed"] < 0:
            raise CommandError(f"--seed must be 0 or more, not {options['seed']}.")
        campaign = _campaign(options["campaign"], "CAMPAIGN")
        try:
            if from_campaign is not None:
                source = _campaign(from_campaign, "--from-campaign")
                added = checks_from_gold(
                    campaign=campaign,
                    source_campaign=source,
                    count=options["count"] or DEFAULT_COUNT,
                    adjudicated_only=options["adjudicated_only"],
                    seed=options["seed"],
                )
            elif options["attention"] is not None:
                added = checks_attention(
                    campaign=campaign, count=options["attention"], seed=options["seed"]
                )
            else:
                added = checks_written(campaign=campaign, jsonl=_file_text(options["file"]))
        except CheckError as error:
            raise CommandError(_nothing_added(str(error))) from None
        self._report(campaign, added)

    def _report(self, campaign: Campaign, added: ChecksAdded) -> None:
        self.stdout.write(f"Campaign {campaign.pk} '{campaign.name}': {added.sentence}")
        counts = check_counts(campaign)
        self.stdout.write(
            f"It now has {counts['gold']} gold question{'s' if counts['gold'] != 1 else ''} "
            f"and {counts['attention']} attention check{'s' if counts['attention'] != 1 else ''}."
        )
        if campaign.check_every is None:
            self.stdout.write(
                self.style.WARNING(
                    "No checks are served until you set how often, on the campaign's checks "
                    f"page (/campaigns/{campaign.pk}/checks/)."
                )
            )


def _campaign(value: str, argument: str) -> Campaign:
    number = whole_number(value.strip())
    campaign = Campaign.objects.filter(pk=number).first() if number is not None else None
    if campaign is None:
        raise CommandError(
            f"{argument}: there is no campaign with id {value!r}; nothing was added."
        )
    return campaign


def _file_text(path: Path) -> str:
    try:
        return read_text(path, max_bytes=settings.DEMUR_IMPORT_MAX_BYTES)
    except InputFileError as error:
        raise CommandError(f"{error} Nothing was added.") from None


def _nothing_added(sentence: str) -> str:
    """The service's sentence, saying that nothing was added unless it says so already."""
    if sentence.endswith("nothing was added."):
        return sentence
    return f"{sentence} Nothing was added."
