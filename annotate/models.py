from __future__ import annotations

from django.conf import settings
from django.db import models

from annotate.quality import DEFAULT_PAUSE_AFTER, DEFAULT_PAUSE_BELOW
from inference.models import GenerationRun, Response

# What an attention check says, unless the campaign says otherwise ({label}, {key}: its answer).
ATTENTION_TEXT = "Attention check: to show that you read the item, answer {label} (key {key})."


class Sampling(models.TextChoices):
    ALL = "all", "All responses"
    RANDOM = "random", "Simple random sample"
    STRATIFIED = "stratified", "Equal number per subcategory"
    JUDGE_DISAGREEMENT = "judge_disagreement", "Judge disagreement first"
    NEYMAN = "neyman", "More labels where the judge errs (Neyman, from a pilot)"
    ACTIVE = "active", "Active: likelier where the judge is unsure"


class CampaignKind(models.TextChoices):
    """Single: an item is one response, labelled with the scheme. Pairwise: an item is two
    responses to the same prompt from different runs, shown side by side (``Item.response_b``,
    ``Item.swapped``) and labelled with the side-by-side scheme (annotate/schemes.py)."""

    SINGLE = "single", "One response at a time"
    PAIRWISE = "pairwise", "Two responses side by side"


class Turns(models.TextChoices):
    """Which answers of a conversation a campaign labels. Last: each conversation's last answer
    (the response to its last user turn), as a single prompt's one answer. Every: every answer
    of a scripted conversation, each an item of its own (its turns are served to an annotator
    in order, annotate/services/serving.py); a single prompt or a conversation with fixed
    context has one answer either way."""

    LAST = "last", "The last answer of each conversation"
    EVERY = "every", "Every answer of scripted conversations"


class CampaignStatus(models.TextChoices):
    """Open: annotators label. Closed: no more labels; annotators still see it, marked closed,
    and researchers review, settle and report as before. Archived: closed, and also hidden
    from annotators' lists and from the researchers' default list. Any of them can reopen."""

    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"
    ARCHIVED = "archived", "Archived"


class Campaign(models.Model):
    """People labelling a sample of responses. ``label_scheme`` is the frozen list of choices:
    ``{"name": ..., "choices": [{"value": ..., "label": ..., "key": "1"}, ...]}``."""

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    kind = models.CharField(
        max_length=20, choices=CampaignKind.choices, default=CampaignKind.SINGLE
    )
    runs = models.ManyToManyField(GenerationRun, related_name="campaigns")
    categories = models.JSONField(default=list, blank=True)
    subcategories = models.JSONField(default=list, blank=True)
    # Responses cut off at the length limit (finish_reason "length") are left out of the pool:
    # items, and every estimate that reaches past them, then speak for the untruncated ones.
    exclude_truncated = models.BooleanField(default=False)
    turns = models.CharField(
        max_length=10, choices=Turns.choices, default=Turns.LAST, db_default=Turns.LAST
    )
    sampling = models.CharField(max_length=30, choices=Sampling.choices, default=Sampling.ALL)
    # With turns "every", the three sizes below count conversations (a single prompt is a
    # conversation of one turn): the designs draw whole conversations (annotate/sampling.py).
    sample_size = models.PositiveIntegerField(
        null=True, blank=True, help_text="Items drawn (every design but 'all')."
    )
    sample_size_asked = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="The sample size asked for: more than sample_size when the pool was smaller.",
    )
    pool_size = models.PositiveIntegerField(
        null=True, blank=True, help_text="Responses the items were drawn from, at creation."
    )
    sampling_judges = models.ManyToManyField("judging.Judge", blank=True, related_name="campaigns")
    # Neyman allocation reads how often the sampling judge was wrong in each category from this
    # campaign's gold labels (annotate/sampling.py).
    pilot = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="piloted"
    )
    active_uniform_share = models.FloatField(
        null=True,
        blank=True,
        help_text="Active sampling: the share of each response's draw probability that is "
        "uniform, so that no response is drawn with probability near zero.",
    )
    # A target (issue 15): stop serving a category once the judge-corrected compliance rate's
    # anytime-valid 95% interval is within ±target_half_width (overall, or per category).
    target_half_width = models.FloatField(
        null=True,
        blank=True,
        help_text="Stop when the corrected compliance rate is within ± this share; empty: no "
        "target.",
    )
    target_judge = models.ForeignKey(
        "judging.Judge",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="target_campaigns",
    )
    target_per_category = models.BooleanField(default=True, db_default=True)
    seed = models.PositiveIntegerField(default=0)
    overlap = models.PositiveSmallIntegerField(
        default=3, help_text="How many different annotators label each item."
    )
    label_scheme = models.JSONField(default=dict)
    guidelines = models.TextField(blank=True, help_text="Markdown.")
    show_model_name = models.BooleanField(default=False)
    annotators = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="annotation_campaigns"
    )
    reservation_minutes = models.PositiveIntegerField(default=30)
    # Quality control while labelling (annotate/quality.py, annotate/services/quality.py).
    check_every = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="About one item in this many is a check (a gold question or an attention "
        "check), at random; empty: no checks.",
    )
    attention_text = models.CharField(
        max_length=300,
        default=ATTENTION_TEXT,
        db_default=ATTENTION_TEXT,
        help_text="Shown on an attention check; {label} and {key} name its answer.",
    )
    min_seconds = models.PositiveSmallIntegerField(
        default=0,
        db_default=0,
        help_text="Labels given faster than this are flagged as fast; 0: none.",
    )
    pause_below = models.FloatField(
        null=True,
        blank=True,
        default=DEFAULT_PAUSE_BELOW,
        help_text="Pause an annotator whose accuracy on checks falls below this; empty: never.",
    )
    pause_after = models.PositiveSmallIntegerField(
        default=DEFAULT_PAUSE_AFTER,
        db_default=DEFAULT_PAUSE_AFTER,
        help_text="Checks answered before the pause rule applies.",
    )
    max_overlap = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="An item whose labels disagree gets one more annotator at a time, up to this "
        "many, before it goes to review; empty: never more than the overlap.",
    )
    is_demo = models.BooleanField(default=False)
    status = models.CharField(
        max_length=20, choices=CampaignStatus.choices, default=CampaignStatus.OPEN
    )
    status_changed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="created_campaigns",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name

    @property
    def takes_labels(self) -> bool:
        return self.status == CampaignStatus.OPEN

    @property
    def is_pairwise(self) -> bool:
        return self.kind == CampaignKind.PAIRWISE

    @property
    def most_annotators(self) -> int:
        """The most annotators an item may get: the overlap, or more with adaptive overlap."""
        return max(self.overlap, self.max_overlap or 0)

    @property
    def labels_every_turn(self) -> bool:
        return self.turns == Turns.EVERY

    @property
    def pool_was_smaller(self) -> bool:
        """Fewer items drawn than asked, because the pool had fewer responses."""
        asked, drawn = self.sample_size_asked, self.sample_size
        return asked is not None and drawn is not None and drawn < asked


class CheckKind(models.TextChoices):
    """A check is an item with a known answer, served like any other and scored, never counted
    in agreement figures or gold. Regular items have no check kind."""

    NONE = "", "Not a check"
    GOLD = "gold", "Gold question"
    ATTENTION = "attention", "Attention check"


class Item(models.Model):
    """One response to label, or in a pairwise campaign two responses to the same prompt from
    different runs: ``response`` (the lower id of the two) and ``response_b``. Every annotator
    sees the pair in the same order, fixed when the item is made: ``response`` on the left
    unless ``swapped``. Labels say left or right, as the annotator saw them."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="items")
    response = models.ForeignKey(Response, on_delete=models.PROTECT, related_name="items")
    response_b = models.ForeignKey(
        Response, on_delete=models.PROTECT, related_name="items_as_b", null=True, blank=True
    )
    swapped = models.BooleanField(default=False)
    # Probability with which sampling drew this response from its run: analysis weights each
    # item by its inverse to describe the whole run rather than the oversampled hard cases.
    inclusion_probability = models.FloatField(default=1.0)
    position = models.PositiveIntegerField(default=0, help_text="Serving order.")
    # With turns "every": the conversation (one run's answers to one scripted prompt, or in a
    # pairwise campaign one pair of runs' answers to it) this turn belongs to, numbered within
    # the campaign; null for an item that is a conversation of its own. An annotator served one
    # of its turns is served its next turns next (annotate/services/serving.py).
    conversation = models.PositiveIntegerField(null=True, blank=True)
    # Defaults in the database too (here and on the campaign's new settings): rows that code
    # from before these columns inserts, while a deploy migrates, get them.
    check_kind = models.CharField(
        max_length=20,
        choices=CheckKind.choices,
        default=CheckKind.NONE,
        db_default=CheckKind.NONE,
        blank=True,
    )
    # The label a check must get, and where that answer comes from (an earlier campaign's gold
    # label, a researcher's hand, or the key an attention check states).
    check_answer = models.CharField(max_length=50, blank=True, default="", db_default="")
    check_source = models.CharField(max_length=300, blank=True, default="", db_default="")
    # Annotators who may still take this item: overlap minus reservations held and labels given.
    # Kept on the row so that serving locks and tests one row (SELECT ... FOR UPDATE SKIP
    # LOCKED re-checks a locked row's own columns, never another table's), and so that a
    # partial index holds only the items still open.
    slots_left = models.PositiveSmallIntegerField(default=3)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["campaign_id", "position", "id"]
        constraints = [
            # A single response is an item once; in a pairwise campaign with three runs or more
            # a response meets each other run's, so there the pair is what is unique.
            # Checks may reuse a response that is also an item: they are scored apart.
            models.UniqueConstraint(
                fields=["campaign", "response"],
                condition=models.Q(response_b__isnull=True, check_kind=""),
                name="item_unique_response",
            ),
            models.CheckConstraint(
                condition=models.Q(check_kind="", check_answer="")
                | (~models.Q(check_kind="") & ~models.Q(check_answer="")),
                name="item_check_has_answer",
            ),
            models.UniqueConstraint(
                fields=["campaign", "response", "response_b"],
                condition=models.Q(response_b__isnull=False),
                name="item_unique_pair",
            ),
            # Two different responses, the lower id first: a pair cannot be an item twice in
            # the other order, nor a response be compared with itself. That both answer the
            # same prompt (hence come from different runs) is checked when items are made.
            models.CheckConstraint(
                condition=models.Q(response_b__isnull=True)
                | models.Q(response__lt=models.F("response_b")),
                name="item_pair_ordered",
            ),
            models.CheckConstraint(
                condition=models.Q(response_b__isnull=False) | models.Q(swapped=False),
                name="item_single_not_swapped",
            ),
            models.CheckConstraint(
                condition=models.Q(inclusion_probability__gt=0)
                & models.Q(inclusion_probability__lte=1),
                name="item_inclusion_probability_in_range",
            ),
        ]
        indexes = [
            models.Index(fields=["campaign", "position"]),
            models.Index(
                fields=["campaign", "position", "id"],
                condition=models.Q(slots_left__gt=0),
                name="item_open_by_position",
            ),
            # The next turn of a conversation an annotator is in, on the serving path.
            models.Index(
                fields=["campaign", "conversation", "position"],
                condition=models.Q(conversation__isnull=False),
                name="item_conversation_turns",
            ),
        ]

    def __str__(self) -> str:
        return f"Item {self.pk} of campaign {self.campaign_id}"

    @property
    def is_check(self) -> bool:
        return self.check_kind != CheckKind.NONE

    @property
    def left(self) -> Response:
        """The response shown on the left (a pairwise item's; a single item's only one)."""
        if self.swapped and self.response_b is not None:
            return self.response_b
        return self.response

    @property
    def right(self) -> Response | None:
        """The response shown on the right; None for a single item."""
        if self.response_b is None:
            return None
        return self.response if self.swapped else self.response_b


class AssignmentStatus(models.TextChoices):
    RESERVED = "reserved", "Reserved"
    DONE = "done", "Labelled"
    SKIPPED = "skipped", "Skipped"


class Assignment(models.Model):
    """An item served to one annotator. Unique per (item, annotator): nobody sees an item twice."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="assignments")
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="assignments",
        db_index=False,  # (annotator, id) and (annotator, status) below lead with it
    )
    status = models.CharField(
        max_length=20, choices=AssignmentStatus.choices, default=AssignmentStatus.RESERVED
    )
    reserved_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["item_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["item", "annotator"], name="assignment_unique")
        ]
        indexes = [
            models.Index(fields=["annotator", "status"]),
            # The item an annotator was served last (their cursor, the next turn of their
            # conversation): their newest assignment, read from the end of their own entries.
            # By the primary key alone, PostgreSQL walked back over every assignment made since,
            # everyone's: 5.4 ms of a label POST at a million items (bench/RESULTS.md).
            models.Index(fields=["annotator", "id"], name="assignment_annotator_newest"),
            # The sweep that hands expired reservations back reads only reserved rows by expiry.
            models.Index(
                fields=["expires_at"],
                condition=models.Q(status="reserved"),
                name="assignment_reserved_expiry",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.item} for {self.annotator}"


class Label(models.Model):
    assignment = models.OneToOneField(Assignment, on_delete=models.CASCADE, related_name="label")
    value = models.CharField(max_length=50)
    # The answers to the scheme's questions after the label, by question id; a question that
    # was not asked (its ``when`` did not hold) has none (annotate/schemes.py).
    answers = models.JSONField(default=dict, blank=True)
    note = models.TextField(blank=True)
    time_spent_ms = models.PositiveIntegerField(default=0)
    is_demo = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["assignment_id"]

    def __str__(self) -> str:
        return f"{self.value} ({self.assignment})"


class LabelRevision(models.Model):
    """Every value a label ever had, so a change never loses what was there before."""

    label = models.ForeignKey(Label, on_delete=models.CASCADE, related_name="revisions")
    value = models.CharField(max_length=50)
    answers = models.JSONField(default=dict, blank=True)
    note = models.TextField(blank=True)
    time_spent_ms = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["label_id", "created_at", "id"]

    def __str__(self) -> str:
        return f"{self.value} at {self.created_at:%Y-%m-%d %H:%M}"


class GoldSource(models.TextChoices):
    MAJORITY = "majority", "Annotators agreed"
    ADJUDICATED = "adjudicated", "Set by a researcher"


class GoldLabel(models.Model):
    item = models.OneToOneField(Item, on_delete=models.CASCADE, related_name="gold")
    value = models.CharField(max_length=50)
    source = models.CharField(max_length=20, choices=GoldSource.choices)
    reason = models.TextField(blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["item_id"]

    def __str__(self) -> str:
        return f"{self.value} ({self.source})"


class AnnotatorStanding(models.Model):
    """How one annotator stands on one campaign: paused (by the check rule or a researcher; a
    paused annotator is served nothing more) and whether their labels are left out of every
    figure and gold label. No row: neither."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="standings")
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="campaign_standings"
    )
    paused_at = models.DateTimeField(null=True, blank=True)
    pause_reason = models.TextField(blank=True)
    # When a researcher lets a paused annotator continue, the pause rule counts only the checks
    # answered from then on: the old answers would pause them again at once.
    checks_count_from = models.DateTimeField(null=True, blank=True)
    excluded_at = models.DateTimeField(null=True, blank=True)
    excluded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["campaign_id", "annotator_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "annotator"], name="annotator_standing_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.annotator} on {self.campaign}"

    @property
    def is_paused(self) -> bool:
        return self.paused_at is not None

    @property
    def is_excluded(self) -> bool:
        return self.excluded_at is not None


class AnnotatorCount(models.Model):
    """How many items an annotator has labelled in a campaign (checks included), kept in the
    transaction of each first label: the progress bar reads it instead of counting their labels
    on every key press (issue 17). No row: none yet."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    labelled = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "annotator"], name="annotator_count_unique")
        ]

    def __str__(self) -> str:
        return f"{self.annotator} labelled {self.labelled} on {self.campaign}"


class TargetMet(models.Model):
    """A campaign's target reached in one prompt category (``category`` empty: the campaign's
    one overall target): the first time the anytime-valid interval of the target judge's
    corrected compliance rate was as narrow as the target (annotate/stopping.py). From then on
    the category's items are no longer served. Recorded once, as it stood then."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="targets_met")
    category = models.CharField(max_length=200, blank=True)
    met_at = models.DateTimeField(auto_now_add=True)
    labels = models.PositiveIntegerField(help_text="Gold labels the interval stood on.")
    estimate = models.FloatField()
    low = models.FloatField()
    high = models.FloatField()
    half_width = models.FloatField()

    class Meta:
        ordering = ["campaign_id", "category"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "category"], name="target_met_unique")
        ]

    def __str__(self) -> str:
        return f"{self.category or 'Overall'} of {self.campaign}, met at {self.met_at:%Y-%m-%d}"
