from __future__ import annotations

import json
from typing import Any

from django.core.management.base import CommandError, CommandParser

from accounts.validation import CONFIG_OPTION, StorableArgumentsCommand, settings_from_json
from backends.base import BackendConfigError
from inference.models import Backend, ModelSpec
from inference.services import ModelSpecInUse, model_spec_save


class Command(StorableArgumentsCommand):
    help = (
        "Create a model spec: model_spec NAME --backend transformers "
        '--config \'{"path": "HuggingFaceTB/SmolLM2-135M-Instruct", "max_new_tokens": 512}\'. '
        "A spec that runs or judges use cannot be changed; save it under a new name. "
        "With --list, show them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", nargs="?")
        parser.add_argument("--backend", choices=Backend.values)
        # Not --settings: Django's own --settings (the settings module) takes that name.
        parser.add_argument(CONFIG_OPTION, default="{}", help="The backend's settings as JSON.")
        parser.add_argument("--description", default="")
        parser.add_argument("--list", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["list"]:
            for spec in ModelSpec.objects.all():
                self.stdout.write(f"{spec.name}\t{spec.backend}\t{json.dumps(spec.settings)}")
            return
        if not options["name"] or not options["backend"]:
            raise CommandError("Give a NAME and --backend (or --list).")
        settings = settings_from_json(options["config"])
        try:
            spec = model_spec_save(
                name=options["name"],
                backend=options["backend"],
                settings=settings,
                description=options["description"],
            )
        except (BackendConfigError, ModelSpecInUse) as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"Model spec '{spec.name}' ({spec.backend}) saved.")
