"""Reads of judges and verdicts for pages."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import Count

from inference.models import GenerationRun, Response
from judging.models import JudgeRun, Verdict, VerdictLabel


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
