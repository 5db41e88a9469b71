from __future__ import annotations

import sys
from collections import Counter
from typing import Any

from django.core.management.base import CommandError, CommandParser

from accounts.validation import StorableArgumentsCommand
from inference.models import GenerationRun
from judging.models import Judge, JudgeRun
from judging.selectors import judge_find
from judging.services import judge_run_cancel, judge_run_create, judge_run_resume
from runs.cli import wait_with_progress
from runs.errors import RunError
from runs.models import RunStatus


class Command(StorableArgumentsCommand):
    help = "Judge a finished run's responses with a named judge (workers do the work)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--run", type=int, help="Generation run id.")
        parser.add_argument(
            "--judge", help="Judge name (its newest version), or NAME@N for version N."
        )
        parser.add_argument("--resume", type=int, metavar="JUDGE_RUN_ID")
        parser.add_argument("--cancel", type=int, metavar="JUDGE_RUN_ID")
        parser.add_argument("--wait", action="store_true", help="Show progress until it ends.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["cancel"]:
            judge_run = self.get_judge_run(options["cancel"])
            done = judge_run_cancel(judge_run=judge_run)
            self.stdout.write(
                f"Judge run {judge_run.pk} {'cancelled' if done else 'was not running'}."
            )
            return
        if options["resume"]:
            judge_run = self.get_judge_run(options["resume"])
            try:
                resumed = judge_run_resume(judge_run=judge_run)
            except RunError as error:
                raise CommandError(str(error)) from None
            if not resumed:
                raise CommandError(f"Judge run {judge_run.pk} is {judge_run.status}; not resumed.")
            self.stdout.write(f"Judge run {judge_run.pk} resumed.")
        else:
            judge_run = self.create(options)
        if options["wait"]:
            self.wait(judge_run)

    def create(self, options: dict[str, Any]) -> JudgeRun:
        if not options["run"] or not options["judge"]:
            raise CommandError("Give --run and --judge (or --resume/--cancel JUDGE_RUN_ID).")
        run = GenerationRun.objects.filter(pk=options["run"]).first()
        if run is None:
            raise CommandError(f"No generation run {options['run']}.")
        judge = judge_find(options["judge"])
        if judge is None:
            names = ", ".join(judge.selector for judge in Judge.objects.order_by("name", "version"))
            raise CommandError(f"No judge '{options['judge']}'; known: {names}.")
        try:
            judge_run = judge_run_create(judge=judge, run=run)
        except RunError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            f"Judge run {judge_run.pk}: {judge.label} on {judge_run.total} responses "
            f"of run {run.pk}."
        )
        return judge_run

    def get_judge_run(self, pk: int) -> JudgeRun:
        judge_run = JudgeRun.objects.filter(pk=pk).first()
        if judge_run is None:
            raise CommandError(f"No judge run {pk}.")
        return judge_run

    def wait(self, judge_run: JudgeRun) -> None:
        status = wait_with_progress(
            judge_run, description=f"judge run {judge_run.pk}", out=sys.stderr
        )
        if status != RunStatus.DONE:
            raise CommandError(f"Judge run {judge_run.pk} ended {status}: {judge_run.error}")
        labels = Counter(judge_run.verdicts.values_list("label", flat=True))
        summary = ", ".join(f"{label} {count}" for label, count in sorted(labels.items()))
        self.stdout.write(f"Judge run {judge_run.pk} done: {summary}.")
