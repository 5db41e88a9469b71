from __future__ import annotations

from django.conf import settings
from django.db import models

from benchmarks.models import Rubric
from inference.models import FINISHED_STATUSES, GenerationRun, ModelSpec, Response, RunStatus


class JudgeKind(models.TextChoices):
    COCONOT_RUBRIC = "coconot_rubric", "CoCoNot rubric (generate and parse <label>)"
    KEYWORD = "keyword", "Keyword baseline"
    LABEL_SCORING = "label_scoring", "Label scoring (log-probabilities of the label words)"
    WILDGUARD = "wildguard", "WildGuard (Response refusal: yes/no)"


class VerdictLabel(models.TextChoices):
    # One canonical value whatever the benchmark kind (DESIGN.md, "Labels"); a failed judgement is
    # `unparseable` or `error`, never silently one of the three classes.
    COMPLIED = "complied", "Complied"
    NOT_COMPLIED = "not_complied", "Did not comply"
    NEITHER = "neither", "Neither"
    UNPARSEABLE = "unparseable", "Unparseable judge output"
    ERROR = "error", "Judge error"


class Judge(models.Model):
    """A named judge, referenced by name (``--judge keyword``).

    ``settings``: keyword lists for ``keyword``; ``threshold`` for ``label_scoring``; anything a
    kind needs beyond its model.
    """

    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=30, choices=JudgeKind.choices)
    model_spec = models.ForeignKey(
        ModelSpec, on_delete=models.PROTECT, null=True, blank=True, related_name="judges"
    )
    settings = models.JSONField(default=dict, blank=True)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class JudgeRun(models.Model):
    judge = models.ForeignKey(Judge, on_delete=models.PROTECT, related_name="runs")
    run = models.ForeignKey(GenerationRun, on_delete=models.CASCADE, related_name="judge_runs")
    judge_snapshot = models.JSONField(default=dict, blank=True)
    total = models.PositiveIntegerField(default=0, help_text="Responses to judge.")
    status = models.CharField(
        max_length=20, choices=RunStatus.choices, default=RunStatus.PENDING, db_index=True
    )
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.judge.name} on run {self.run_id}"

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_STATUSES


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
