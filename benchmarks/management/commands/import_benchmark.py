from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from accounts.validation import StorableArgumentsCommand
from benchmarks.files import InputFileError
from benchmarks.models import BenchmarkKind
from benchmarks.services import ImportReport, benchmark_import


class Command(StorableArgumentsCommand):
    help = (
        "Import a benchmark from a CoCoNot-style JSON Lines file, a CSV file with the columns "
        "id, category, subcategory, prompt, or a Hugging Face hub id. Re-running is safe: known "
        "ids are updated in place, never duplicated."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("source", help="A .jsonl or .csv file, or a hub id (allenai/coconot).")
        parser.add_argument("--slug", required=True, help="Short name, e.g. coconot.")
        parser.add_argument("--kind", required=True, choices=BenchmarkKind.values)
        parser.add_argument("--name", default="", help="Display name (default: the slug).")
        parser.add_argument("--description", default="")
        parser.add_argument(
            "--rubric", type=Path, help="CoCoNot refusal_evaluation_rubric.json-style file."
        )
        parser.add_argument("--config", default=None, help="Hub dataset config (original).")
        parser.add_argument("--split", default="test", help="Hub dataset split (test).")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = benchmark_import(
                source=options["source"],
                slug=options["slug"],
                kind=options["kind"],
                name=options["name"],
                description=options["description"],
                rubric_path=options["rubric"],
                hub_config=options["config"],
                hub_split=options["split"],
            )
        except InputFileError as error:
            raise CommandError(f"{error} Nothing was imported.") from None
        self.print_report(report)

    def print_report(self, report: ImportReport) -> None:
        for line, warning in report.lines():
            self.stdout.write(self.style.WARNING(line) if warning else line)
