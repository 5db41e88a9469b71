"""Reports on the questions after the label: the agreement page's section per question, and
"How models refuse", computed from selectors' columns with analysis.question_metrics.

Which answers count for an item, everywhere here: an item's label is its gold label, or else
the label more than half of its annotators gave (an item they split on, with no gold label, is
left out and counted). Its answers are those of the annotators who gave that label: only they
were asked the questions that label leads to.

- Rates (the share of refusals that explain why, the mean quality…) count each item once: an
  item's value is the mean of its annotators' answers (two annotators splitting on "explains
  why" make it half an item that explains), and the figure is the mean over items, weighted by
  inverse inclusion probability where the campaign oversampled, with a bootstrap over items. So
  the interval resamples items with all their annotators (a cluster bootstrap), and no answer is
  dropped for want of a majority.
- A judge against people needs one human answer per item: the answer more than half of the
  item's annotators gave (items they split on are left out), as a gold label is the label they
  agree on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils.safestring import SafeString

from analysis import answers as qa
from analysis import question_metrics as qm
from analysis.metrics import Estimate
from analysis.selectors import CampaignAnswers, CampaignData
from annotate.schemes import LABEL
from judging.models import VerdictLabel

ALL = "All categories"
REFUSED = VerdictLabel.NOT_COMPLIED.value
# Column titles for the built-in refusal-quality questions; other questions show their text.
SHORT_TITLES = {
    "explains_why": "Explains why",
    "offers_help": "Offers help",
    "asks_missing": "Asks for what is missing",
    "preachy": "Preachy",
    "quality": "Mean quality (1-5)",
}


def item_labels(data: CampaignData) -> list[str | None]:
    """Each item's gold label, else its annotators' majority label, else None (split)."""
    return [
        gold if gold is not None else qa.majority(ratings)
        for gold, ratings in zip(data.gold, data.ratings, strict=True)
    ]


def _labelled(data: CampaignData, answers: CampaignAnswers, row: int) -> list[tuple[str, Any]]:
    """(label, answers) of each annotator who labelled item ``row``."""
    return [
        (value, given or {})
        for value, given in zip(data.ratings[row], answers.people[row], strict=True)
        if value is not None
    ]


def _given(
    data: CampaignData,
    answers: CampaignAnswers,
    labels: list[str | None],
    row: int,
    question: Mapping[str, Any],
) -> list[Any]:
    """The answers to ``question`` of item ``row``'s annotators who gave its label."""
    label, qid = labels[row], question["id"]
    return [
        given[qid]
        for value, given in _labelled(data, answers, row)
        if value == label and qa.answer_fits(question, given.get(qid))
    ]


# --- the agreement page's section per question ------------------------------------------------


@dataclass
class JudgeQuestions:
    judge: str
    questions: list[qm.QuestionAgreement]


@dataclass
class QuestionSection:
    """Agreement per question: annotators among themselves (``people``), and each judge whose
    verdicts answer the questions against the people's answer for the same items."""

    people: list[qm.QuestionAgreement]
    judges: list[JudgeQuestions] = field(default_factory=list)


def question_section(*, data: CampaignData, answers: CampaignAnswers) -> QuestionSection | None:
    """None when the campaign's scheme asks no question after the label."""
    if not answers.questions:
        return None
    people = [
        qm.annotator_agreement(question, _grid(answers, question)) for question in answers.questions
    ]
    labels = item_labels(data)
    references = [
        qa.item_answers(answers.questions, labels[row], _labelled(data, answers, row))
        for row in range(len(data.item_ids))
    ]
    judges = []
    for judge, verdicts in answers.judges.items():
        compared = [
            _judge_on(question, references, verdicts)
            for question in answers.questions
            if any(given is not None and question["id"] in given for given in verdicts)
        ]
        judges.append(JudgeQuestions(judge=judge, questions=compared))
    return QuestionSection(people=people, judges=judges)


def _grid(answers: CampaignAnswers, question: Mapping[str, Any]) -> list[list[Any]]:
    """Items x annotators: the answer to ``question``, None where it was not asked or not
    given (or does not fit it)."""
    qid = question["id"]
    return [
        [a[qid] if a is not None and qa.answer_fits(question, a.get(qid)) else None for a in row]
        for row in answers.people
    ]


def _judge_on(
    question: Mapping[str, Any],
    references: Sequence[Mapping[str, Any]],
    verdicts: Sequence[Mapping[str, Any] | None],
) -> qm.QuestionAgreement:
    qid = question["id"]
    people = [reference.get(qid) for reference in references]
    judge = [
        given[qid] if given is not None and qa.answer_fits(question, given.get(qid)) else None
        for given in verdicts
    ]
    return qm.judge_agreement(question, people, judge)


# --- How models refuse ------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    """A column of the report: the share of refusals answering "yes" to a question, or the
    mean of a rating. ``leaves_out`` names the answer kept out of the denominator."""

    question: str
    title: str
    mean: bool = False
    leaves_out: str = ""


@dataclass
class ModelRow:
    """One model's figures in one category; ``items``: its refusals (the report's table) or
    its items whose annotators were asked the question (a table of every answer)."""

    model: str
    items: int
    rates: list[qm.Rate]


@dataclass
class CategoryBlock:
    category: str
    models: list[ModelRow]


@dataclass
class AnswerTable:
    """Every answer to one question, per category and model: the share of items giving each
    option (or the mean rating), among the items whose annotators were asked it."""

    question: dict[str, Any]
    columns: list[str]
    mean: bool
    blocks: list[CategoryBlock]


@dataclass
class RefusalReport:
    models: list[str]
    figures: list[Figure]
    blocks: list[CategoryBlock]
    tables: list[AnswerTable]
    labelled: int = 0
    refusals: int = 0
    split: int = 0
    weighted: bool = False
    reason: str = ""


def _asked_after_refusal(question: Mapping[str, Any]) -> bool:
    when = question.get("when")
    return when is None or (when.get("question", LABEL) == LABEL and REFUSED in when["in"])


def refusal_figures(questions: Sequence[Mapping[str, Any]]) -> list[Figure]:
    """The report's columns: yes/no questions asked about refusals (their share of "yes",
    "not applicable" out of the denominator) and ratings (their mean)."""
    figures = []
    for question in questions:
        if not _asked_after_refusal(question):
            continue
        title = SHORT_TITLES.get(question["id"], question["text"])
        values = qa.choice_values(question)
        if question["kind"] == qa.SINGLE and qa.YES in values:
            leaves_out = qa.NOT_APPLICABLE if qa.NOT_APPLICABLE in values else ""
            figures.append(Figure(question["id"], title, leaves_out=leaves_out))
        elif question["kind"] == qa.RATING:
            figures.append(Figure(question["id"], title, mean=True))
    return figures


def refusal_report(
    *, data: CampaignData, answers: CampaignAnswers, run_titles: Mapping[int, str]
) -> RefusalReport:
    """Per model (generation run) and category, among refusals (items labelled not complied):
    each figure of :func:`refusal_figures`; and every answer to every question."""
    figures = refusal_figures(answers.questions)
    models = [run_titles[run] for run in sorted(run_titles)]
    labels = item_labels(data)
    labelled_rows = [row for row, label in enumerate(labels) if label is not None]
    report = RefusalReport(
        models=models,
        figures=figures,
        blocks=[],
        tables=[],
        labelled=len(labelled_rows),
        refusals=sum(1 for label in labels if label == REFUSED),
        split=sum(
            1 for row, label in enumerate(labels) if label is None and any(data.ratings[row])
        ),
        weighted=any(data.weights[row] != 1.0 for row in labelled_rows),
    )
    if not figures:
        name = data.campaign.label_scheme.get("name", "custom")
        report.reason = (
            f"This campaign's label scheme ({name}) asks no yes/no or rating question about "
            "refusals, so there is nothing to report on how models refuse. The built-in "
            '"CoCoNot with refusal quality" scheme asks them.'
        )
        return report
    groups = _groups(data, labelled_rows, sorted(run_titles))
    cells = _Cells(data, answers, labels, report.weighted)
    for category, by_model in groups:
        rows = []
        for model, items in zip(models, by_model, strict=True):
            refusals = [row for row in items if labels[row] == REFUSED]
            rates = [cells.figure(figure, refusals) for figure in figures]
            rows.append(ModelRow(model, len(refusals), rates))
        report.blocks.append(CategoryBlock(category, rows))
    report.tables = [
        _answer_table(question, groups, models, cells)
        for question in answers.questions
        if question["kind"] != qa.TEXT
    ]
    return report


def _groups(
    data: CampaignData, rows: Sequence[int], runs: Sequence[int]
) -> list[tuple[str, list[list[int]]]]:
    """(category, item rows per run), all categories first, then each category by name."""
    position = {run: index for index, run in enumerate(runs)}
    categories = sorted({data.categories[row] for row in rows})
    groups: dict[str, list[list[int]]] = {name: [[] for _ in runs] for name in [ALL, *categories]}
    for row in rows:
        column = position.get(data.run_ids[row])
        if column is None:
            continue
        groups[ALL][column].append(row)
        groups[data.categories[row]][column].append(row)
    return list(groups.items())


@dataclass
class _Cells:
    """What every cell of the report reads: the answers of each item's annotators."""

    data: CampaignData
    answers: CampaignAnswers
    labels: list[str | None]
    weighted: bool

    def given(self, rows: Sequence[int], qid: str) -> tuple[list[list[Any]], list[float] | None]:
        """Per item of ``rows``, its annotators' answers to ``qid``; and the items' weights."""
        (question,) = (q for q in self.answers.questions if q["id"] == qid)
        per_item = [_given(self.data, self.answers, self.labels, row, question) for row in rows]
        weights = [self.data.weights[row] for row in rows] if self.weighted else None
        return per_item, weights

    def figure(self, figure: Figure, rows: Sequence[int]) -> qm.Rate:
        given, weights = self.given(rows, figure.question)
        if figure.mean:
            return qm.mean_rating(given, weights=weights)
        leave_out = {figure.leaves_out} if figure.leaves_out else set()
        return qm.option_share(given, qa.YES, leave_out=leave_out, weights=weights)


def _answer_table(
    question: dict[str, Any],
    groups: list[tuple[str, list[list[int]]]],
    models: list[str],
    cells: _Cells,
) -> AnswerTable:
    mean = question["kind"] == qa.RATING
    choices = question.get("choices", [])
    columns = ["Mean rating"] if mean else [str(c.get("label") or c["value"]) for c in choices]
    blocks = []
    for category, by_model in groups:
        rows = []
        for model, items in zip(models, by_model, strict=True):
            given, weights = cells.given(items, question["id"])
            asked = sum(1 for answers in given if answers)
            if mean:
                rates = [qm.mean_rating(given, weights=weights)]
            else:
                rates = [
                    qm.option_share(given, str(choice["value"]), weights=weights)
                    for choice in choices
                ]
            rows.append(ModelRow(model, asked, rates))
        blocks.append(CategoryBlock(category, rows))
    return AnswerTable(question=question, columns=columns, mean=mean, blocks=blocks)


# --- Charts ------------------------------------------------------------------------------------


def refusal_charts(report: RefusalReport) -> list[SafeString]:
    """The shares of refusals for all categories, one bar per model; and the mean quality per
    category, one bar per model (each rating question a chart of its own)."""
    from analysis import charts  # matplotlib: loaded by the first chart, not by every process

    if not report.blocks:
        return []
    overall = report.blocks[0]
    drawn = []
    shares = [index for index, figure in enumerate(report.figures) if not figure.mean]
    if shares:
        drawn.append(
            charts.rate_bars(
                [report.figures[index].title for index in shares],
                [(row.model, [row.rates[i].estimate for i in shares]) for row in overall.models],
                observed=[[row.rates[i].observed for i in shares] for row in overall.models],
                axis_label="share of refusals (95% bootstrap CI)",
            )
        )
    for index, figure in enumerate(report.figures):
        if not figure.mean:
            continue
        series: list[tuple[str, list[Estimate | None]]] = [
            (model, [block.models[m].rates[index].estimate for block in report.blocks])
            for m, model in enumerate(report.models)
        ]
        observed = [
            [block.models[m].rates[index].observed for block in report.blocks]
            for m in range(len(report.models))
        ]
        drawn.append(
            charts.rate_bars(
                [block.category for block in report.blocks],
                series,
                observed=observed,
                axis_label=f"{figure.title.lower()} (95% bootstrap CI)",
                limits=(1.0, 5.0),
                too_few_label="too few items for a figure: observed mean",
            )
        )
    return drawn
