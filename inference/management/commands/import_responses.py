from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from accounts.validation import StorableArgumentsCommand
from benchmarks.files import InputFileError
from benchmarks.models import Benchmark
from inference.models import GenerationRun
from inference.services import responses_import


class Command(StorableArgumentsCommand):
    help = (
        "Create a finished run from a JSON Lines (or CSV) file of {id, response}, or CoCoNot "
        "rows with the response filled in."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--benchmark", required=True, help="Slug of the prompts' benchmark.")
        parser.add_argument("--model", required=True, help='Shown as the model, e.g. "gpt-4".')

    def handle(self, *args: Any, **options: Any) -> None:
        # A NUL or bytes that are not UTF-8 in --model or --benchmark are refused before this
        # runs (StorableArgumentsCommand).
        longest = GenerationRun._meta.get_field("model_name").max_length or 200
        if len(options["model"]) > longest:
            raise CommandError(
                f"--model is longer than {longest} characters. Nothing was imported."
            )
        benchmark = Benchmark.objects.filter(slug=options["benchmark"]).first()
        if benchmark is None:
            raise CommandError(f"No benchmark '{options['benchmark']}'. Nothing was imported.")
        try:
            report = responses_import(
                path=options["file"], benchmark=benchmark, model_name=options["model"]
            )
        except InputFileError as error:
            raise CommandError(f"{error} Nothing was imported.") from None
        self.stdout.write(
            f"Run {report.run.pk}: {report.imported} responses of {options['model']} imported."
        )
        if report.null_responses:
            self.stdout.write(
                self.style.WARNING(
                    f"{report.null_responses} had no response (null); they are kept with an "
                    "error so judges and people see them as missing."
                )
            )
