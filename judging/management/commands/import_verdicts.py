from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from accounts.validation import StorableArgumentsCommand
from benchmarks.files import InputFileError
from inference.models import GenerationRun
from judging.verdict_import import verdicts_import


class Command(StorableArgumentsCommand):
    help = (
        "Import a judge's verdicts made by another tool into a finished run: JSON Lines of "
        "{id, turn?, label, score?, raw_output?} (turn: which user turn's answer, default the "
        "last), or an inspect_evals CoCoNot log (.eval or .json)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--run", type=int, required=True, help="Generation run id.")
        parser.add_argument(
            "--judge",
            required=True,
            help="Judge name: an existing judge's newest version (NAME@N: version N), or a new "
            "imported judge.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        run = GenerationRun.objects.select_related("benchmark").filter(pk=options["run"]).first()
        if run is None:
            raise CommandError(f"No generation run {options['run']}. Nothing was imported.")
        try:
            report = verdicts_import(run=run, judge_name=options["judge"], path=options["file"])
        except InputFileError as error:
            raise CommandError(f"{error} Nothing was imported.") from None
        judge = report.judge
        made = " (a new imported judge)" if report.new_judge else ""
        counts = ", ".join(f"{label} {n}" for label, n in sorted(report.counts.items()))
        self.stdout.write(
            f"Judge run {report.judge_run.pk}: {report.imported} verdicts of {judge.label}{made} "
            f"on run {run.pk} imported: {counts}."
        )
        unjudged = report.responses - report.imported
        if unjudged:
            self.stdout.write(
                self.style.WARNING(
                    f"{unjudged} of run {run.pk}'s {report.responses} responses have no verdict "
                    f"of {judge.label}; reports count only the judged ones."
                )
            )
