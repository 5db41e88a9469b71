from __future__ import annotations

import sys
from typing import Any

from django.apps import apps
from django.core.management.base import CommandError, CommandParser

from accounts.numbers import count_argument
from accounts.validation import StorableArgumentsCommand
from benchmarks.models import Benchmark
from inference.models import GenerationRun, ModelSpec
from inference.services import (
    generation_run_cancel,
    generation_run_create,
    generation_run_resume,
)
from runs.cli import wait_with_progress
from runs.errors import RunError
from runs.models import RunStatus


class Command(StorableArgumentsCommand):
    help = (
        "Start a generation run (workers do the work), or resume or cancel one. With --wait, "
        "show a progress bar until the run ends."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--benchmark", help="Benchmark slug.")
        parser.add_argument("--model", help="Model spec name (see `model_spec --list`).")
        parser.add_argument("--limit", type=count_argument, help="Only the first N prompts.")
        parser.add_argument("--category", action="append", default=[], help="Repeatable.")
        parser.add_argument(
            "--then-judge",
            action="append",
            default=[],
            metavar="JUDGE",
            help="Judge the responses with this judge once the run is done (repeatable).",
        )
        parser.add_argument("--resume", type=int, metavar="RUN_ID")
        parser.add_argument("--cancel", type=int, metavar="RUN_ID")
        parser.add_argument("--wait", action="store_true", help="Show progress until it ends.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["cancel"]:
            run = self.get_run(options["cancel"])
            cancelled = generation_run_cancel(run=run)
            self.stdout.write(f"Run {run.pk} {'cancelled' if cancelled else 'was not running'}.")
            return
        run = self.resume(options["resume"]) if options["resume"] else self.create(options)
        if options["wait"]:
            self.wait(run)

    def create(self, options: dict[str, Any]) -> GenerationRun:
        if not options["benchmark"] or not options["model"]:
            raise CommandError("Give --benchmark and --model (or --resume/--cancel RUN_ID).")
        benchmark = Benchmark.objects.filter(slug=options["benchmark"]).first()
        if benchmark is None:
            raise CommandError(f"No benchmark '{options['benchmark']}'.")
        spec = ModelSpec.objects.filter(name=options["model"]).first()
        if spec is None:
            raise CommandError(f"No model spec '{options['model']}'; create it with model_spec.")
        versions = apps.get_model("judging", "Judge").objects.values_list("name", "version")
        # A name (its newest version when the judge run starts) or NAME@N for one version.
        known_judges = {f"{name}@{version}" for name, version in versions} | {
            n for n, _ in versions
        }
        unknown = sorted(set(options["then_judge"]) - known_judges)
        if unknown:
            raise CommandError(f"No judge {', '.join(unknown)}; see `judge_spec --list`.")
        if options["limit"] is not None and options["limit"] < 1:
            raise CommandError("--limit must be at least 1.")
        try:
            run = generation_run_create(
                benchmark=benchmark,
                model_spec=spec,
                categories=options["category"],
                limit=options["limit"],
                judges_after=options["then_judge"],
            )
        except RunError as error:
            raise CommandError(str(error)) from None
        # Answers, not prompts: a scripted conversation asks for one per user turn.
        count = run.prompts().count()
        answers = f" ({run.total} answers)" if run.total != count else ""
        self.stdout.write(f"Run {run.pk}: {count} prompts{answers} queued for {spec.name}.")
        return run

    def resume(self, run_id: int) -> GenerationRun:
        run = self.get_run(run_id)
        try:
            resumed = generation_run_resume(run=run)
        except RunError as error:
            raise CommandError(str(error)) from None
        if not resumed:
            raise CommandError(f"Run {run.pk} is {run.status}; only unfinished runs resume.")
        self.stdout.write(f"Run {run.pk} resumed.")
        return run

    def get_run(self, run_id: int) -> GenerationRun:
        run = GenerationRun.objects.filter(pk=run_id).first()
        if run is None:
            raise CommandError(f"No generation run {run_id}.")
        return run

    def wait(self, run: GenerationRun) -> None:
        status = wait_with_progress(run, description=f"run {run.pk}", out=sys.stderr)
        if status != RunStatus.DONE:
            raise CommandError(f"Run {run.pk} ended {status}: {run.error or 'no reason given'}")
        self.stdout.write(f"Run {run.pk} done: {run.responses.count()} responses.")
