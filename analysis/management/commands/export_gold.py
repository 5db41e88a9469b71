from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser, OutputWrapper

from accounts.validation import StorableArgumentsCommand
from analysis.cli import write_complete
from analysis.exports import (
    CHUNK_SIZE,
    CONSENSUS,
    ExportError,
    export_format,
    gold_export,
)
from annotate.cli import campaign_argument


class Command(StorableArgumentsCommand):
    help = (
        "Export a campaign's items with their gold labels, every annotator's label "
        "(pseudonymous: A1, A2, …) and every judge's verdict, one row per item. All items are "
        "exported by default (gold_label empty where there is none); --gold-only keeps the "
        "items that have a gold label. JSON Lines keeps CoCoNot's field names for the prompt. "
        "The file appears only once it is complete."
    )
    # The export reads the database only. The system checks would load the URLconf and with it
    # every view's imports (SciPy, Matplotlib: over 100 MB and 1.5 s before the first row).
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--campaign", required=True, help="The campaign's id.")
        parser.add_argument("--format", default="jsonl", help="jsonl (default), csv or parquet.")
        parser.add_argument(
            "-o",
            "--output",
            required=True,
            help="The file to write; - writes JSON Lines or CSV to standard output.",
        )
        parser.add_argument(
            "--gold-only",
            action="store_true",
            help="Only items with a gold label (default: every item).",
        )
        parser.add_argument(
            "--gold-policy",
            default=CONSENSUS,
            help="Whose gold labels: consensus (default: the label the campaign's annotators "
            "agreed on, or a researcher's), dawid_skene or mace (a model of the annotators; "
            "a researcher's adjudication still stands).",
        )
        parser.add_argument(
            "--chunk-size", type=int, default=CHUNK_SIZE, help="Items read per query."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            fmt = export_format(options["format"])
        except ExportError as error:
            raise CommandError(str(error)) from None
        campaign = campaign_argument(options["campaign"])
        output: str = options["output"]
        if output == "-" and not fmt.streams:
            raise CommandError(f"{fmt.title} cannot go to standard output; give a file with -o.")
        try:
            export = gold_export(
                campaign=campaign,
                gold_only=options["gold_only"],
                chunk_size=options["chunk_size"],
                gold_policy=options["gold_policy"],
            )
        except ExportError as error:
            raise CommandError(str(error)) from None
        if output == "-":
            count = fmt.write(export, _Raw(self.stdout))
            where = "standard output"
        else:
            count = write_complete(Path(output), lambda path: fmt.write_path(export, path))
            where = output
        message = f"Wrote {count} rows of campaign {campaign.pk} to {where}."
        if output == "-":
            self.stderr.write(message)
        else:
            self.stdout.write(message)


class _Raw:
    """Standard output as the writers use it: text as it is (OutputWrapper adds newlines)."""

    def __init__(self, wrapper: OutputWrapper) -> None:
        self.wrapper = wrapper

    def write(self, text: str) -> None:
        self.wrapper.write(text, ending="")
