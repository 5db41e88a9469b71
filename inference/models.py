from __future__ import annotations

from collections import Counter

from django.db import models
from django.db.models import QuerySet

from backends.registry import LOCAL_BACKENDS
from benchmarks.models import Benchmark, Prompt
from inference.conversations import answers_expected
from runs.chunks import DEFAULT_QUEUE, GPU_QUEUE
from runs.models import Run


class Backend(models.TextChoices):
    # Values match backends.registry.
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


class GenerationRun(Run):
    """One model answering (part of) one benchmark. Progress is counted from its Response rows."""

    chunk_kind = "generation"
    items_relation = "responses"

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
    # How many answers the run gives (one per prompt, one per user turn of a scripted
    # conversation), fixed when it is created: the job's size, not a counter (progress is
    # counted from Response rows).
    total = models.PositiveIntegerField(default=0)
    imported = models.BooleanField(default=False, help_text="Responses came from a file.")
    judges_after = models.JSONField(
        default=list, blank=True, help_text="Names of judges to run once all responses are in."
    )

    class Meta(Run.Meta):
        pass

    def __str__(self) -> str:
        return f"Run {self.pk}: {self.model_name} on {self.benchmark.slug}"

    def chunk_queue(self) -> str:
        """Local models load on workers of the GPU queue; HTTP backends answer on default."""
        return GPU_QUEUE if self.model_snapshot["backend"] in LOCAL_BACKENDS else DEFAULT_QUEUE

    def prompts(self) -> QuerySet[Prompt]:
        """The prompts the run covers, in a fixed order so that chunks can be recomputed on
        resume."""
        prompts = self.benchmark.prompts.filter(written_for_check=False).order_by("pk")
        if self.categories:
            prompts = prompts.filter(category__in=self.categories)
        return prompts[: self.limit] if self.limit else prompts

    def missing_item_ids(self) -> list[int]:
        """Prompts of the run still lacking an answer: no Response yet, or, for a scripted
        conversation, fewer than one per user turn (its chunk reuses the answers stored)."""
        done = Counter(self.responses.values_list("prompt_id", flat=True))
        return [
            pk
            for pk, user_turns in self.prompts().values_list("pk", "user_turns")
            if done[pk] < answers_expected([user_turns])
        ]


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
    # Which of the user's turns this answers, from 1: 1 for a single prompt, the number of user
    # turns for a conversation with fixed context, 1..n for the answers to a scripted one.
    turn = models.PositiveSmallIntegerField(default=1, db_default=1)
    # The conversation the model was sent for this answer, in the chat format, ending with the
    # user turn it answers; [] for a single prompt (then it was sent the prompt's text alone).
    messages = models.JSONField(default=list, blank=True, db_default=[])
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
        ordering = ["run_id", "prompt_id", "turn"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "prompt", "turn"], name="response_unique_per_run_turn"
            )
        ]

    def __str__(self) -> str:
        turn = f", turn {self.turn}" if self.turn != 1 else ""
        return f"Response {self.pk} (run {self.run_id}, prompt {self.prompt_id}{turn})"

    @property
    def conversation(self) -> list[dict[str, str]]:
        """What the model was sent, in the chat format (a single prompt as one user turn)."""
        return self.messages or [{"role": "user", "content": self.prompt.text}]

    @property
    def context(self) -> list[dict[str, str]]:
        """The turns before the one this answers ([] for a single prompt)."""
        return self.messages[:-1]

    @property
    def is_truncated(self) -> bool:
        """Cut off at the length limit: the text is not the whole answer the model meant."""
        return self.finish_reason == FinishReason.LENGTH
