"""Reads of judges and verdicts for pages."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

from django.db.models import Count, Max

from inference.models import GenerationRun, Response
from judging.models import Judge, JudgeRun, Verdict, VerdictLabel
from runs.selectors import Phase, outstanding_chunks, run_phase

# `NAME@N` asks for version N; the label `NAME vN` that pages show is read the same way.
VERSION_SELECTOR = re.compile(r"^(?P<name>.+?)(?:@|\s+v)(?P<version>\d+)$")


def judge_find(selector: str) -> Judge | None:
    """A judge by name (its newest version), by ``NAME@N`` or by its label ``NAME vN``."""
    selector = selector.strip()
    match = VERSION_SELECTOR.match(selector)
    if match is not None:
        exact = Judge.objects.filter(name=match["name"], version=int(match["version"])).first()
        if exact is not None:
            return exact
    return Judge.objects.filter(name=selector).order_by("-version").first()


LABEL_VERSION = re.compile(r"^(?P<name>.+) v(?P<version>\d+)$")


def judge_label_parts(label: str) -> tuple[str, int]:
    """(name, version) of a label as ``Judge.label`` writes it: ``keyword`` is version 1,
    ``gpt4-rubric v2`` version 2 (names cannot end in `` vN``, so this is exact)."""
    match = LABEL_VERSION.match(label)
    if match is None:
        return label, 1
    return match["name"], int(match["version"])


def judge_version_choices() -> list[tuple[str, str]]:
    """Every version as (``NAME@N``, label), each name's newest first."""
    return [(judge.selector, judge.label) for judge in Judge.objects.order_by("name", "-version")]


@dataclass(frozen=True)
class JudgeRunSummary:
    judge_run: JudgeRun
    done: int
    counts: dict[str, int]

    @property
    def failed_share(self) -> float:
        """Share of verdicts that are no verdict at all (unparseable or error)."""
        failed = self.counts.get(VerdictLabel.UNPARSEABLE, 0) + self.counts.get(
            VerdictLabel.ERROR, 0
        )
        return failed / self.done if self.done else 0.0

    @property
    def percent(self) -> int:
        total = self.judge_run.total
        return round(100 * self.done / total) if total else 100

    @cached_property
    def phase(self) -> Phase:
        """Queued, running or stalled (runs/selectors.py), for the progress column."""
        return judge_run_phase(judge_run=self.judge_run, done=self.done)


def judge_run_phase(*, judge_run: JudgeRun, done: int) -> Phase:
    last_item_at = judge_run.verdicts.aggregate(last=Max("created_at"))["last"]
    chunks = outstanding_chunks(kind=judge_run.chunk_kind, job_ids=[judge_run.pk])[judge_run.pk]
    return run_phase(judge_run, done=done, last_item_at=last_item_at, chunks=chunks)


def summary_from_counts(judge_run: JudgeRun, counts: Counter[str]) -> JudgeRunSummary:
    return JudgeRunSummary(
        judge_run=judge_run,
        done=sum(counts.values()),
        counts={label: counts[label] for label in VerdictLabel.values},
    )


def judge_run_summaries(*, run: GenerationRun) -> list[JudgeRunSummary]:
    judge_runs = list(run.judge_runs.select_related("judge").order_by("pk"))
    rows = (
        Verdict.objects.filter(judge_run__run=run)
        .values("judge_run", "label")
        .annotate(n=Count("pk"))
    )
    counts: dict[int, Counter[str]] = defaultdict(Counter)
    for row in rows:
        counts[row["judge_run"]][row["label"]] = row["n"]
    return [summary_from_counts(judge_run, counts[judge_run.pk]) for judge_run in judge_runs]


def judge_run_summary(*, judge_run: JudgeRun) -> JudgeRunSummary:
    counts = Counter(dict(judge_run.verdicts.values_list("label").annotate(n=Count("pk"))))
    return summary_from_counts(judge_run, counts)


def verdicts_by_response(
    *, responses: Sequence[Response], judge_runs: Sequence[JudgeRun]
) -> dict[int, list[Verdict | None]]:
    """For each response, its verdict from each judge run (None where there is none yet)."""
    verdicts = Verdict.objects.filter(
        response__in=[r.pk for r in responses], judge_run__in=[j.pk for j in judge_runs]
    )
    found = {(v.response_id, v.judge_run_id): v for v in verdicts}
    return {r.pk: [found.get((r.pk, j.pk)) for j in judge_runs] for r in responses}
