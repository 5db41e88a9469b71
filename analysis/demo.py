"""What `make demo` loads: the sample benchmarks and one login per role.

It lives in analysis because analysis is the one app that may depend on all the others, and
later the demo also generates responses, judges them and opens a campaign.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from benchmarks.models import BenchmarkKind
from benchmarks.services import ImportReport, benchmark_import
from config.roles import ANNOTATOR, RESEARCHER, user_ensure

SAMPLES = Path(__file__).resolve().parent.parent / "benchmarks" / "samples"
SAMPLE_RUBRIC = SAMPLES / "demur_rubric.json"


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: str


# Demo logins only: `make demo` serves on 127.0.0.1 and prints these passwords.
DEMO_LOGINS = (
    DemoLogin("admin", "demo-admin", "admin"),
    DemoLogin("researcher", "demo-researcher", RESEARCHER),
    DemoLogin("annotator", "demo-annotator", ANNOTATOR),
)


def demo_seed() -> list[ImportReport]:
    """Idempotent: a second `make demo` finds everything in place and changes nothing."""
    for login in DEMO_LOGINS:
        user_ensure(username=login.username, password=login.password, role=login.role)
    return [
        benchmark_import(
            source=str(SAMPLES / "demur_sample.jsonl"),
            slug="demur-sample",
            kind=BenchmarkKind.NONCOMPLIANCE,
            name="Demur sample (noncompliance)",
            description="Prompts written for the demo, one or more per CoCoNot subcategory.",
            rubric_path=SAMPLE_RUBRIC,
        ),
        benchmark_import(
            source=str(SAMPLES / "demur_sample_contrast.jsonl"),
            slug="demur-sample-contrast",
            kind=BenchmarkKind.CONTRAST,
            name="Demur sample (contrast)",
            description="Look-alike prompts a model should answer: over-refusal.",
            rubric_path=SAMPLE_RUBRIC,
        ),
    ]
