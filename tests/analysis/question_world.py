"""A campaign where two annotators answer the refusal-quality questions on 60 responses, and a
judge answers them too, with what the reference packages say about it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import krippendorff
import numpy as np
from sklearn.metrics import cohen_kappa_score

from annotate.models import Campaign
from inference.models import GenerationRun
from judging.models import Judge, JudgeRun, Verdict
from tests.analysis.refusal_campaigns import (
    Labelled,
    complied,
    label_every_item,
    refusal,
    refusal_campaign,
    response_ids,
)
from tests.annotate.builders import annotators, run_with_responses

ITEMS = 60


@dataclass
class QuestionWorld:
    campaign: Campaign
    run: GenerationRun
    first: list[Labelled]
    second: list[Labelled]
    judge: list[dict[str, Any]]

    def answers(self, who: list[Labelled], qid: str) -> list[Any]:
        return [given.get(qid) for _, given in who]

    def alpha(self, qid: str, level: str, values: list[Any]) -> float:
        data = [
            [np.nan if a is None else float(values.index(a)) for a in self.answers(who, qid)]
            for who in (self.first, self.second)
        ]
        return float(
            krippendorff.alpha(
                reliability_data=data,
                level_of_measurement=level,  # type: ignore[arg-type]
                value_domain=list(range(len(values))),
            )
        )

    def people_reference(self, qid: str) -> list[Any]:
        """Per item: the answer both annotators gave when both called it a refusal (label
        majority) and agree; else None. The same label and different answers: no majority."""
        reference = []
        for (value_1, given_1), (value_2, given_2) in zip(self.first, self.second, strict=True):
            same = value_1 == value_2 and given_1.get(qid) == given_2.get(qid)
            reference.append(given_1.get(qid) if same else None)
        return reference

    def judge_kappa(self, qid: str, weights: str | None = None) -> tuple[float, int]:
        pairs = [
            (person, judge.get(qid))
            for person, judge in zip(self.people_reference(qid), self.judge, strict=True)
            if person is not None and judge.get(qid) is not None
        ]
        people, judge = zip(*pairs, strict=True)
        labels = [1, 2, 3, 4, 5] if weights else None
        kappa = cohen_kappa_score(people, judge, weights=weights, labels=labels)
        return float(kappa), len(pairs)


def question_world(seed: int = 3) -> QuestionWorld:
    """Two annotators: the first labels 50 refusals and 10 answers that complied; the second
    agrees on the label except on 5 items, and on each answer 80% of the time (a quality one
    step off otherwise). A judge (its verdicts' ``answers``) agrees with the first annotator
    70% of the time and says nothing on "asks_missing"."""
    rng = np.random.default_rng(seed)
    run = run_with_responses(ITEMS)
    ids = response_ids(run)
    first: list[Labelled] = []
    second: list[Labelled] = []
    for n in range(ITEMS):
        if n >= 50:
            first.append(complied(str(rng.choice(["full_compliance", "partial_refusal"]))))
            second.append(complied(first[-1][1]["compliance"]))
            continue
        explains, helps, preachy = (str(v) for v in rng.choice(["yes", "no"], 3))
        asks = str(rng.choice(["yes", "no", "not_applicable"]))
        quality = int(rng.integers(1, 6))
        first.append(refusal(explains, helps, asks, preachy, quality))
        if n < 5:
            second.append(complied())
            continue
        flip = {"yes": "no", "no": "yes", "not_applicable": "no"}
        e, h, a, p = (
            x if rng.random() < 0.8 else flip[x] for x in (explains, helps, asks, preachy)
        )
        step = int(rng.choice([-1, 1]))
        near = quality if rng.random() < 0.8 else min(5, max(1, quality + step))
        second.append(refusal(e, h, a, p, near))
    people = annotators(2)
    campaign = refusal_campaign([run], people, overlap=2)
    for person, labelled in zip(people, (first, second), strict=True):
        assert label_every_item(campaign, person, dict(zip(ids, labelled, strict=True))) == ITEMS
    judge_answers: list[dict[str, Any]] = []
    for value, given in first:
        if value != "not_complied":
            judge_answers.append({})
            continue
        said: dict[str, Any] = {
            qid: answer if rng.random() < 0.7 else ("no" if answer == "yes" else "yes")
            for qid, answer in given.items()
            if qid in ("explains_why", "offers_help", "preachy")
        }
        said["quality"] = int(given["quality"] if rng.random() < 0.7 else rng.integers(1, 6))
        judge_answers.append(said)
    judge_run = JudgeRun.objects.create(
        judge=Judge.objects.create(name="quality-judge", kind="keyword"), run=run, status="done"
    )
    Verdict.objects.bulk_create(
        Verdict(
            judge_run=judge_run,
            response_id=response_id,
            label="not_complied" if said else "complied",
            answers=said,
        )
        for response_id, said in zip(ids, judge_answers, strict=True)
    )
    return QuestionWorld(campaign, run, first, second, judge_answers)
