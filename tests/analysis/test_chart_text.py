"""Names in charts come from data and are text: "$...$" is not matplotlib mathtext, so the run
report neither fails on it nor mangles "price $5 to $10"."""

from __future__ import annotations

import html

import numpy as np
import pytest
from django.test import Client

from analysis import charts
from analysis.charts import confusion_heatmap, rate_bars
from analysis.metrics import Estimate
from benchmarks.models import Prompt
from judging.models import Judge, JudgeRun, Verdict
from tests.annotate.builders import run_with_responses
from tests.factories import UserFactory

PRICE = "price $5 to $10"
BROKEN_MATH = r"$\notacommand{x}$"


def svg_text(svg: str) -> str:
    return html.unescape(svg)


def test_bar_chart_labels_keep_dollar_signs_as_text() -> None:
    estimate = Estimate(value=0.5, low=0.4, high=0.6, n=20)
    series = [("model $x$", [estimate, estimate]), ("other", [estimate, estimate])]
    svg = rate_bars([PRICE, BROKEN_MATH], series)  # two series: a legend with their names
    text = svg_text(svg)
    assert PRICE in text
    assert BROKEN_MATH in text
    assert "model $x$" in text


def test_heat_map_labels_and_title_keep_dollar_signs_as_text() -> None:
    svg = confusion_heatmap([BROKEN_MATH, "b"], np.array([[1, 2], [3, 4]]), title=f"judge {PRICE}")
    text = svg_text(svg)
    assert BROKEN_MATH in text and f"judge {PRICE}" in text


@pytest.mark.django_db
def test_the_run_report_shows_a_category_with_mathtext_as_written() -> None:
    run = run_with_responses(12, model_name=f"model {PRICE}")
    Prompt.objects.filter(responses__run=run).update(category=BROKEN_MATH)
    judge_run = JudgeRun.objects.create(
        judge=Judge.objects.get(name="keyword"), run=run, status="done"
    )
    Verdict.objects.bulk_create(
        Verdict(judge_run=judge_run, response=response, label="complied")
        for response in run.responses.all()
    )
    client = Client()
    client.force_login(UserFactory.create(role="researcher"))
    answer = client.get(f"/analysis/runs/?run={run.pk}")
    assert answer.status_code == 200
    svg = answer.content.decode()
    assert BROKEN_MATH in html.unescape(svg[svg.index("<svg") :])


def test_a_heat_map_of_the_same_numbers_is_drawn_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The agreement page draws a heat map per judge on every view: the same numbers are the
    same SVG, kept; other numbers, labels or title draw afresh."""
    counts = np.array([[7, 1], [2, 9]])
    first = confusion_heatmap(["x", "y"], counts, title="kept judge")
    monkeypatch.setattr(charts, "_confusion_heatmap", lambda *args: pytest.fail("drawn again"))
    assert confusion_heatmap(["x", "y"], counts.copy(), title="kept judge") == first
    monkeypatch.undo()
    other = confusion_heatmap(["x", "y"], np.array([[7, 1], [3, 9]]), title="kept judge")
    assert other != first and ">3<" in other
