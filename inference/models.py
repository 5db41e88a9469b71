from __future__ import annotations

from django.conf import settings
from django.db import models

from benchmarks.models import Benchmark, Prompt


class Backend(models.TextChoices):
    # Values match inference.backends.registry.
    TRANSFORMERS = "transformers", "Local transformers model"
    OPENAI = "openai", "OpenAI-compatible chat-completions server"


class ModelSpec(models.Model):
    """A model and how to run it. ``settings`` holds the backend's parameters.

    transformers: ``path`` (local folder or hub id), ``gguf_file``, ``system_prompt``,
    ``max_new_tokens``, ``do_sample``, ``temperature``, ``batch_size``.
    openai: ``base_url``, ``model``, ``api_key_env`` (the *name* of an environment variable; keys
    are never stored), ``max_concurrency``, ``timeout_s``, ``max_new_tokens``, ``temperature``.
    """

    name = models.CharField(max_length=200, unique=True)
    backend = models.CharField(max_length=20, choices=Backend.choices)
    settings = models.JSONField(default=dict, blank=True)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class RunStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


FINISHED_STATUSES = (RunStatus.DONE, RunStatus.FAILED, RunStatus.CANCELLED)


class GenerationRun(models.Model):
    """One model answering (part of) one benchmark. Progress is counted from its Response rows."""

    model_spec = models.ForeignKey(
        ModelSpec, on_delete=models.PROTECT, related_name="runs", null=True, blank=True
    )
    # The model's name and parameters as they were when the run started: later edits to the
    # ModelSpec must not change what an old run says it was.
    model_name = models.CharField(max_length=200)
    model_snapshot = models.JSONField(default=dict, blank=True)
    benchmark = models.ForeignKey(Benchmark, on_delete=models.PROTECT, related_name="runs")
    categories = models.JSONField(
        default=list, blank=True, help_text="Only prompts of these categories (empty: all)."
    )
    limit = models.PositiveIntegerField(null=True, blank=True)
    # How many prompts the run covers, fixed when it is created (the job's size, not a counter:
    # progress is counted from Response rows).
    total = models.PositiveIntegerField(default=0)
    imported = models.BooleanField(default=False, help_text="Responses came from a file.")
    judges_after = models.JSONField(
        default=list, blank=True, help_text="Names of judges to run once all responses are in."
    )
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
        return f"Run {self.pk}: {self.model_name} on {self.benchmark.slug}"

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_STATUSES


class Response(models.Model):
    run = models.ForeignKey(GenerationRun, on_delete=models.CASCADE, related_name="responses")
    prompt = models.ForeignKey(Prompt, on_delete=models.PROTECT, related_name="responses")
    text = models.TextField(blank=True)
    finish_reason = models.CharField(max_length=50, blank=True)
    prompt_tokens = models.PositiveIntegerField(null=True, blank=True)
    completion_tokens = models.PositiveIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["run_id", "prompt_id"]
        constraints = [
            models.UniqueConstraint(fields=["run", "prompt"], name="response_unique_per_run")
        ]

    def __str__(self) -> str:
        return f"Response {self.pk} (run {self.run_id}, prompt {self.prompt_id})"
