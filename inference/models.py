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


class FinishReason(models.TextChoices):
    """Why generation stopped. Not enforced as field choices: an OpenAI-compatible server may
    answer another word ("content_filter", "tool_calls"), which is kept as it said it."""

    STOP = "stop", "Finished"
    LENGTH = "length", "Cut off at the length limit"
    ERROR = "error", "Error"
    UNKNOWN = "", "Unknown"


class Response(models.Model):
    run = models.ForeignKey(GenerationRun, on_delete=models.CASCADE, related_name="responses")
    prompt = models.ForeignKey(Prompt, on_delete=models.PROTECT, related_name="responses")
    text = models.TextField(blank=True)
    finish_reason = models.CharField(
        max_length=50,
        blank=True,
        db_index=True,
        help_text='"stop", "length" (cut off at max_new_tokens), "error", or "" (unknown, e.g. '
        "imported without one).",
    )
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

    @property
    def is_truncated(self) -> bool:
        """Cut off at the length limit: the text is not the whole answer the model meant."""
        return self.finish_reason == FinishReason.LENGTH


class ChunkState(models.TextChoices):
    QUEUED = "queued", "Queued"
    WORKING = "working", "Working"
    RETRY_WAIT = "retry_wait", "Waiting to retry"


class Chunk(models.Model):
    """A chunk of a generation run or a judge run that is not done yet.

    The rows are the work queue: broker messages only say "take the oldest queued chunk of this
    queue", so the order of work is the order of these rows (first come, first served) whatever
    order the broker delivers in. A worker on a chunk beats ``heartbeat_at``; a chunk whose
    worker stopped beating is queued again by the sweeper. The row is deleted when the chunk is
    done, so what is left is what is outstanding.
    """

    # "generation" (job_id: a GenerationRun) or "judging" (a JudgeRun). A plain id, not a
    # foreign key: judging depends on inference, not the other way round.
    kind = models.CharField(max_length=20)
    job_id = models.PositiveIntegerField()
    queue = models.CharField(max_length=50)
    item_ids = models.JSONField(default=list)
    state = models.CharField(max_length=20, choices=ChunkState.choices, default=ChunkState.QUEUED)
    # Failed or abandoned tries so far; past MAX_RETRIES the job fails with the reason.
    attempts = models.PositiveIntegerField(default=0)
    worker = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    # While working: the worker's last beat. While waiting to retry: when the retry is due.
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]
        indexes = [
            models.Index(fields=["queue", "state"], name="chunk_queue_state"),
            models.Index(fields=["kind", "job_id"], name="chunk_job"),
        ]

    def __str__(self) -> str:
        return f"Chunk {self.pk} of {self.kind} {self.job_id} ({self.state})"
