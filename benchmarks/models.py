from __future__ import annotations

from django.db import models


class BenchmarkKind(models.TextChoices):
    # CoCoNot's two sets: prompts a model should not comply with, and look-alike prompts it
    # should answer (the contrast set measures over-refusal).
    NONCOMPLIANCE = "noncompliance", "Noncompliance (the model should not comply)"
    CONTRAST = "contrast", "Contrast (the model should comply)"


class ExpectedBehaviour(models.TextChoices):
    NOT_COMPLY = "not_comply", "should not comply"
    COMPLY = "comply", "should comply"


# What a slug may hold: what Django's <slug:> path converter matches, so every URL of a benchmark
# can be built (benchmarks.services.SLUG is the same rule, with the sentence for the importer).
SLUG_PATTERN = r"\A[-a-zA-Z0-9_]+\Z"


class Benchmark(models.Model):
    # SlugField validates with validate_slug (forms, the admin); the constraint holds for every
    # other way a row is written, so no page can meet a slug its URLs cannot hold.
    slug = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=BenchmarkKind.choices)
    source = models.CharField(
        max_length=500, blank=True, help_text="File path or hub id it was imported from."
    )
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(slug__regex=SLUG_PATTERN),
                name="benchmark_slug_url_safe",
                violation_error_message=(
                    "A slug holds 1 to 100 letters, digits, hyphens or underscores."
                ),
            )
        ]

    def __str__(self) -> str:
        return self.name or self.slug

    @property
    def expected_behaviour(self) -> ExpectedBehaviour:
        if self.kind == BenchmarkKind.CONTRAST:
            return ExpectedBehaviour.COMPLY
        return ExpectedBehaviour.NOT_COMPLY


class Prompt(models.Model):
    benchmark = models.ForeignKey(Benchmark, on_delete=models.CASCADE, related_name="prompts")
    external_id = models.CharField(max_length=200)
    category = models.CharField(max_length=200, db_index=True)
    subcategory = models.CharField(max_length=200, db_index=True)
    # What the model answers: for a single prompt the whole request; for a conversation, the
    # content of its last user turn (so lists, search and the admin read as before).
    text = models.TextField()
    # A conversation with fixed context, in the chat format ([{"role", "content"}, ...], the
    # last turn the user's), or [] for a single prompt. The model answers the last turn only.
    messages = models.JSONField(default=list, blank=True, db_default=[])
    # A scripted conversation: only the user's turns; generation answers them in order, each
    # answer part of the next turn's context. [] unless scripted. ``text`` is the last one.
    user_turns = models.JSONField(default=list, blank=True, db_default=[])
    metadata = models.JSONField(default=dict, blank=True)
    # A prompt a researcher wrote for a campaign's check (annotate/services/checks.py): it sits
    # in the benchmark for its category and rubric, but is not one of the benchmark's prompts:
    # runs never answer it, and counts leave it out.
    written_for_check = models.BooleanField(default=False, db_default=False)

    class Meta:
        ordering = ["benchmark_id", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["benchmark", "external_id"], name="prompt_unique_external_id"
            )
        ]
        indexes = [models.Index(fields=["benchmark", "category", "subcategory"])]

    def __str__(self) -> str:
        return f"{self.external_id}: {self.text[:60]}"

    @property
    def expected_behaviour(self) -> ExpectedBehaviour:
        return self.benchmark.expected_behaviour

    @property
    def shape(self) -> PromptShape:
        if self.user_turns:
            return PromptShape.SCRIPTED
        if self.messages:
            return PromptShape.CONVERSATION
        return PromptShape.SINGLE

    @property
    def answered_turns(self) -> int:
        """How many answers a run gives this prompt: one per scripted user turn, else one."""
        return len(self.user_turns) or 1

    @property
    def last_turn(self) -> int:
        """The 1-based position, among the user's turns, of the last turn a model answers."""
        if self.user_turns:
            return len(self.user_turns)
        return sum(1 for message in self.messages if message.get("role") == "user") or 1


class PromptShape(models.TextChoices):
    SINGLE = "single", "Single prompt"
    CONVERSATION = "conversation", "Conversation"
    SCRIPTED = "scripted", "Scripted conversation"


class Rubric(models.Model):
    """What an acceptable and an unacceptable response look like, for one subcategory.

    ``acceptable`` is always what is acceptable *on this benchmark*: CoCoNot's "refusal" text on a
    noncompliance benchmark, its "compliance" text on a contrast benchmark. Texts are versioned: a
    changed text gets a new row, so verdicts keep pointing at the text the judge really read;
    the latest import of a subcategory is its ``is_current`` row.
    """

    benchmark = models.ForeignKey(Benchmark, on_delete=models.CASCADE, related_name="rubrics")
    subcategory = models.CharField(max_length=200)
    acceptable = models.TextField()
    unacceptable = models.TextField()
    version = models.CharField(max_length=64, help_text="Hash of the two texts.")
    is_current = models.BooleanField(default=True)
    source = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["benchmark_id", "subcategory", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["benchmark", "subcategory", "version"], name="rubric_unique_version"
            ),
            models.UniqueConstraint(
                fields=["benchmark", "subcategory"],
                condition=models.Q(is_current=True),
                name="rubric_one_current_per_subcategory",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.benchmark.slug} / {self.subcategory} ({self.version[:8]})"
