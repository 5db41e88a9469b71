from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from accounts.validation import StorableArgumentsCommand
from analysis.cli import write_complete
from analysis.exports import CHUNK_SIZE
from analysis.training import (
    TRAINING_FORMATS,
    TrainingExport,
    TrainingExportError,
    min_quality_parse,
    training_export,
)
from annotate.cli import campaign_argument


class Command(StorableArgumentsCommand):
    help = (
        "Export a campaign's gold labels as training data, JSON Lines that TRL loads as it is: "
        "sft (acceptable responses as chat messages), dpo (per prompt, every acceptable "
        "response paired with every unacceptable one), kto (every response with label "
        "true/false) or coconot-pref (the dpo pairs in CoCoNot's preference file's fields). "
        "Acceptable follows the benchmark kind: not complying on a noncompliance benchmark, "
        "complying on a contrast one. The file appears only once it is complete."
    )
    # The export reads the database only: no system checks, which would import every view.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--campaign", required=True, help="The campaign's id.")
        parser.add_argument(
            "--format", required=True, help=f"One of {', '.join(TRAINING_FORMATS)}."
        )
        parser.add_argument("-o", "--output", required=True, help="The JSON Lines file to write.")
        parser.add_argument(
            "--min-quality",
            help="Only responses whose gold quality rating is at least this (1 to 5); the "
            "campaign's label scheme must ask for a quality rating.",
        )
        parser.add_argument(
            "--chunk-size", type=int, default=CHUNK_SIZE, help="Items read per query."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        output = Path(options["output"])
        try:
            export = training_export(
                campaign=campaign_argument(options["campaign"]),
                format_name=options["format"],
                min_quality=min_quality_parse(options["min_quality"], name="--min-quality"),
                chunk_size=options["chunk_size"],
            )
        except TrainingExportError as error:
            raise CommandError(str(error)) from None
        _write_file(export, output)
        self.stdout.write(export.summary(str(output)))


def _write_file(export: TrainingExport, path: Path) -> None:
    """The export's pieces, into a file that appears only once complete; none without rows."""

    def write(temporary: Path) -> None:
        with temporary.open("w", encoding="utf-8") as out:
            for piece in export.pieces():
                out.write(piece)
        if not export.tally.rows:
            raise CommandError(export.nothing_written())

    write_complete(path, write)
