from __future__ import annotations

from typing import Any

from django.db import models

from backends.registry import LOCAL_BACKENDS
from benchmarks.models import Rubric
from inference.models import GenerationRun, ModelSpec, Response
from runs.chunks import DEFAULT_QUEUE, GPU_QUEUE
from runs.models import Run


class JudgeKind(models.TextChoices):
    COCONOT_RUBRIC = "coconot_rubric", "CoCoNot rubric (generate and parse <label>)"
    KEYWORD = "keyword", "Keyword baseline"
    LABEL_SCORING = "label_scoring", "Label scoring (log-probabilities of the label words)"
    REFUSAL_QUALITY = (
        "refusal_quality",
        "Refusal quality (CoCoNot rubric label, then the refusal-quality questions)",
    )
    WILDGUARD = "wildguard", "WildGuard (Response refusal: yes/no)"
    # Verdicts made by another tool, read from a file (judging/verdict_import.py): Demur cannot
    # run such a judge, only import more of its verdicts.
    IMPORTED = "imported", "Imported (verdicts made by another tool; cannot be run here)"


class VerdictLabel(models.TextChoices):
    # One canonical value whatever the benchmark kind (DESIGN.md, "Labels"); a failed judgement is
    # `unparseable` or `error`, never silently one of the three classes.
    COMPLIED = "complied", "Complied"
    NOT_COMPLIED = "not_complied", "Did not comply"
    NEITHER = "neither", "Neither"
    UNPARSEABLE = "unparseable", "Unparseable judge output"
    ERROR = "error", "Judge error"


# The classes a judge (or a person, on a scheme that uses them) gives; the other two values say
# that the judge failed to give one. judging.judges_text holds the same strings for the modules
# that run without Django (a test keeps the two equal).
JUDGE_CLASSES = frozenset(
    {VerdictLabel.COMPLIED.value, VerdictLabel.NOT_COMPLIED.value, VerdictLabel.NEITHER.value}
)
FAILED_VERDICTS = frozenset({VerdictLabel.UNPARSEABLE.value, VerdictLabel.ERROR.value})

# The judge every installation has: named after its kind.
BUILT_IN_JUDGE = JudgeKind.KEYWORD.value


class Judge(models.Model):
    """One version of a named judge. ``--judge NAME`` means the newest version of NAME,
    ``NAME@N`` version N; pages, exports and the API show ``label`` (``gpt4-rubric v2``).

    A version is never changed in place once it exists: its verdicts must keep meaning what they
    meant. ``definition`` holds what defines it (kind, settings, and the model spec's name,
    backend and settings as they were when the version was made), so a later edit elsewhere
    cannot change it. ``settings``: keyword lists for ``keyword``; ``threshold`` for
    ``label_scoring``; anything a kind needs beyond its model.
    """

    name = models.CharField(max_length=200)
    version = models.PositiveIntegerField(default=1)
    kind = models.CharField(max_length=30, choices=JudgeKind.choices)
    model_spec = models.ForeignKey(
        ModelSpec, on_delete=models.PROTECT, null=True, blank=True, related_name="judges"
    )
    settings = models.JSONField(default=dict, blank=True)
    definition = models.JSONField(
        default=dict, blank=True, help_text="Kind, settings and model as this version was made."
    )
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "version"]
        constraints = [
            models.UniqueConstraint(fields=["name", "version"], name="judge_unique_version")
        ]

    def __str__(self) -> str:
        return self.label

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self.definition:
            self.definition = judge_definition(self.kind, self.settings, self.model_spec)
        super().save(*args, **kwargs)

    @property
    def label(self) -> str:
        """What pages, exports and the API call this version: the bare name for version 1,
        ``NAME vN`` after it."""
        return judge_label(self.name, self.version)

    @property
    def selector(self) -> str:
        """How to ask for exactly this version on the command line or in the API."""
        return f"{self.name}@{self.version}"

    @property
    def is_imported(self) -> bool:
        """Its verdicts come from files (``import_verdicts``); Demur cannot run it."""
        return self.kind == JudgeKind.IMPORTED


def judge_label(name: str, version: int) -> str:
    return name if version == 1 else f"{name} v{version}"


def judge_definition(
    kind: str, settings: dict[str, Any], model_spec: ModelSpec | None
) -> dict[str, Any]:
    """What makes two judge versions the same judge. The rubric is not in it: a judge reads the
    judged benchmark's current rubric, and each verdict records the rubric version it read."""
    model = (
        {"name": model_spec.name, "backend": model_spec.backend, "settings": model_spec.settings}
        if model_spec is not None
        else None
    )
    return {"kind": kind, "settings": settings, "model": model}


class JudgeRun(Run):
    """One judge version reading every response of one generation run."""

    chunk_kind = "judging"
    items_relation = "verdicts"
    follows = "run"
    list_related = ("judge",)
    noun = "Judge run"

    judge = models.ForeignKey(Judge, on_delete=models.PROTECT, related_name="runs")
    run = models.ForeignKey(GenerationRun, on_delete=models.CASCADE, related_name="judge_runs")
    judge_snapshot = models.JSONField(default=dict, blank=True)
    total = models.PositiveIntegerField(default=0, help_text="Responses to judge.")

    class Meta(Run.Meta):
        pass

    def __str__(self) -> str:
        return f"{self.judge.label} on run {self.run_id}"

    @property
    def label(self) -> str:
        return self.judge.label

    def chunk_queue(self) -> str:
        """A judge that loads a model judges on the GPU queue; the others on default."""
        model = self.judge_snapshot.get("model")
        return GPU_QUEUE if model and model["backend"] in LOCAL_BACKENDS else DEFAULT_QUEUE

    def missing_item_ids(self) -> list[int]:
        """Responses of the run with no verdict of this judge run yet."""
        judged = set(self.verdicts.values_list("response_id", flat=True))
        responses = self.run.responses.order_by("pk").values_list("pk", flat=True)
        return [pk for pk in responses if pk not in judged]


class JudgePrompt(models.Model):
    """A full judge prompt, stored once and referenced by hash from every verdict that used it."""

    sha256 = models.CharField(max_length=64, unique=True)
    text = models.TextField()

    def __str__(self) -> str:
        return self.sha256[:12]


class Verdict(models.Model):
    judge_run = models.ForeignKey(JudgeRun, on_delete=models.CASCADE, related_name="verdicts")
    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="verdicts")
    label = models.CharField(max_length=20, choices=VerdictLabel.choices, db_index=True)
    score = models.FloatField(
        null=True, blank=True, help_text="Probability of non-compliance, for scoring judges."
    )
    rationale = models.TextField(blank=True)
    raw_output = models.TextField(blank=True)
    judge_prompt = models.ForeignKey(
        JudgePrompt, on_delete=models.PROTECT, null=True, blank=True, related_name="verdicts"
    )
    rubric = models.ForeignKey(
        Rubric, on_delete=models.PROTECT, null=True, blank=True, related_name="verdicts"
    )
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    answers = models.JSONField(
        default=dict,
        blank=True,
        help_text="The judge's answers to the refusal-quality questions (judging/quality.py), "
        "question id -> answer as in Label.answers; no key for a question it did not answer.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["judge_run_id", "response_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["judge_run", "response"], name="verdict_unique_per_judge_run"
            )
        ]

    def __str__(self) -> str:
        return f"{self.label} ({self.judge_run})"
