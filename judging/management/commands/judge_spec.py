from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from accounts.validation import CONFIG_OPTION, StorableArgumentsCommand, settings_from_json
from inference.models import ModelSpec
from judging.models import Judge, JudgeKind
from judging.services import JudgeSaveError, judge_save


class Command(StorableArgumentsCommand):
    help = (
        "Create a judge: judge_spec NAME --kind coconot_rubric --model SPEC [--config JSON]. "
        "A name that exists needs --new-version (its verdicts keep the old version). "
        "With --list, show every version."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", nargs="?")
        parser.add_argument("--kind", choices=JudgeKind.values)
        parser.add_argument("--model", help="Model spec name (model-based kinds).")
        # Not --settings: Django's own --settings (the settings module) takes that name.
        parser.add_argument(
            CONFIG_OPTION, default="{}", help='e.g. {"threshold": 0.4} or {"keywords": [...]}'
        )
        parser.add_argument("--description", default="")
        parser.add_argument(
            "--new-version",
            action="store_true",
            help="NAME exists: make its next version instead of refusing.",
        )
        parser.add_argument("--list", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["list"]:
            for judge in Judge.objects.select_related("model_spec").order_by("name", "version"):
                model = (judge.definition.get("model") or {}).get("name", "-")
                self.stdout.write(f"{judge.selector}\t{judge.label}\t{judge.kind}\t{model}")
            return
        if not options["name"] or not options["kind"]:
            raise CommandError("Give a NAME and --kind (or --list).")
        spec = None
        if options["model"]:
            spec = ModelSpec.objects.filter(name=options["model"]).first()
            if spec is None:
                raise CommandError(f"No model spec '{options['model']}'.")
        settings = settings_from_json(options["config"])
        try:
            judge = judge_save(
                name=options["name"],
                kind=options["kind"],
                model_spec=spec,
                settings=settings,
                description=options["description"],
                new_version=options["new_version"],
                how_to_ask="add --new-version",
            )
        except JudgeSaveError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            f"Judge {judge.label} ({judge.kind}) saved; select it as {judge.selector}."
        )
