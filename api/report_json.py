"""Reports as JSON: the same dataclasses the pages show, turned into plain values."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
from django.db.models import Model

from analysis.reports import AgreementReportPage, PolicyComparison, RunReport


def plain(value: Any) -> Any:
    """Dataclasses become objects, NumPy arrays lists, model rows their id, and a NaN null
    (JSON has no NaN)."""
    if isinstance(value, Model):
        return value.pk
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
    if isinstance(value, dict):
        return {_key(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, np.generic):
        return plain(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _key(key: Any) -> str:
    return " / ".join(str(part) for part in key) if isinstance(key, tuple) else str(key)


def run_report_json(report: RunReport) -> dict[str, Any]:
    return {
        "runs": [run.pk for run in report.runs],
        "contrast": report.contrast,
        "columns": [{"run": c.run.pk, "judge": c.judge} for c in report.columns],
        "overall": plain(report.overall),
        "categories": plain(report.categories),
        # Compliance by turn position (single prompts first, ``turn`` null); [] unless a run
        # answered a conversation.
        "turns": plain(report.turns),
    }


def agreement_report_json(report: AgreementReportPage) -> dict[str, Any]:
    return {
        "campaign": report.data.campaign.pk,
        "items": len(report.data.item_ids),
        "gold_items": report.gold_items,
        "unsettled_items": report.unsettled,
        "weighted": report.weighted,
        "comparable_with_judges": report.data.comparable_with_judges,
        "judges": plain(report.judges),
        "annotators": plain(report.annotators),
        "corrected": plain(report.corrected),
        "comparisons": [
            {"a": a, "b": b, "comparison": plain(result)} for a, b, result in report.comparisons
        ],
        "calibrations": [{"judge": name, **plain(c)} for name, c in report.calibrations],
        # Gold items where a judge differs (the first 100 and the total); null without judges.
        "judge_misses": plain(report.misses),
        # Judges with several versions: each version on the gold items all of them judged.
        "judge_versions": plain(report.versions),
        # Agreement per question after the label: annotators among themselves ("people") and
        # each judge that answers the questions against them ("judges"); null without questions.
        "questions": plain(report.questions),
        # Whose gold labels the figures use (?gold=consensus|dawid_skene|mace), and each judge's
        # overall agreement under every policy.
        "gold_policy": report.gold_policy.policy if report.gold_policy else None,
        "gold_policy_note": report.gold_policy.note if report.gold_policy else "",
        "judges_by_gold_policy": _judges_by_gold_policy(report.policy_comparison),
        # Each pair of annotators on the items both labelled: kappa, AC1, PABAK, PI, BI.
        "annotator_pairs": [
            {"a": first, "b": second, "agreement": plain(pair)}
            for first, second, pair in report.annotator_pairs
        ],
    }


def _judges_by_gold_policy(comparison: PolicyComparison | None) -> list[dict[str, Any]]:
    """Per judge: its agreement report under each gold policy, by the policy's key."""
    if comparison is None:
        return []
    keys = [policy.policy for policy in comparison.policies]
    return [
        {"judge": row.judge, **{key: plain(a) for key, a in zip(keys, row.by_policy, strict=True)}}
        for row in comparison.rows
    ]
