from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from inference.cli import settings_from_json
from inference.models import ModelSpec
from inference.services import RunError
from judging.models import Judge, JudgeKind
from judging.services import judge_save


class Command(BaseCommand):
    help = (
        "Create or update a judge: judge_spec NAME --kind coconot_rubric --model SPEC "
        "[--settings JSON]. With --list, show them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", nargs="?")
        parser.add_argument("--kind", choices=JudgeKind.values)
        parser.add_argument("--model", help="Model spec name (model-based kinds).")
        parser.add_argument(
            "--settings", default="{}", help='e.g. {"threshold": 0.4} or {"keywords": [...]}'
        )
        parser.add_argument("--description", default="")
        parser.add_argument("--list", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["list"]:
            for judge in Judge.objects.select_related("model_spec"):
                model = judge.model_spec.name if judge.model_spec else "-"
                self.stdout.write(f"{judge.name}\t{judge.kind}\t{model}")
            return
        if not options["name"] or not options["kind"]:
            raise CommandError("Give a NAME and --kind (or --list).")
        spec = None
        if options["model"]:
            spec = ModelSpec.objects.filter(name=options["model"]).first()
            if spec is None:
                raise CommandError(f"No model spec '{options['model']}'.")
        settings = settings_from_json(options["settings"])
        try:
            judge = judge_save(
                name=options["name"],
                kind=options["kind"],
                model_spec=spec,
                settings=settings,
                description=options["description"],
            )
        except (RunError, ValueError) as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"Judge '{judge.name}' ({judge.kind}) saved.")
